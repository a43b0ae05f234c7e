"""The launch forms of runs: what the page sends to ``run_create`` (which validates).

Every option a run of the form's kind may set is a field generated from the kind's
config (``training.runs.kinds``): its label (``common.labels``), help and unit, bounds as
the input's min/max/step and choices as a select. A field left empty takes the trainer's
default; the reward-model and evaluation forms show it. The values are checked by
``hyperparameters_check`` (the API's and the trainer's rules), each error on its field.
The policy form (SFT, DPO, PPO, GRPO) leaves numbers empty: the defaults differ by kind.
"""

from django import forms

from common.jobs import JobState
from common.labels import human, option_label
from training.datasets.models import DatasetSnapshot
from training.ml.configs import ConfigField
from training.runs.kinds import RUN_KINDS
from training.runs.models import ArtifactKind, ModelArtifact, RunKind
from training.runs.services.options import hyperparameters_check

POLICY_KINDS = (RunKind.SFT, RunKind.DPO, RunKind.PPO, RunKind.GRPO)


def _offer_finished_snapshots(field: forms.ModelChoiceField, project) -> None:
    """The project's finished snapshots, newest first and chosen."""
    field.queryset = DatasetSnapshot.objects.filter(
        project=project, state=JobState.SUCCEEDED
    ).order_by("-number")
    field.label_from_instance = lambda s: f"#{s.number} {s.name}".strip()
    field.initial = field.queryset.first()


def option_help(f: ConfigField) -> str:
    """The help under an option, as sentences a person would write: what it is (its
    reason when the help only repeats the label), its unit where the bounds do not
    name it and the name does not already say it, and its bounds in words."""
    what = f.help
    if what.lower() == option_label(f.name).lower() and f.reason:
        what = f.reason
    count = _count_unit(f)
    if f.unit and not count and f.unit.lower() not in what.lower():
        what = f"{what}, {f.unit}"
    return " ".join(_sentence(part) for part in (what, _bounds_words(f, count)) if part)


def _sentence(text: str) -> str:
    text = text.strip()
    first = text[:1].upper() if text[:1].isascii() else text[:1]  # β stays β
    return first + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")


def _count_unit(f: ConfigField) -> str:
    """The unit when it is a plain plural noun that reads after a number (``sequences``,
    ``GPUs``); else empty."""
    plain = f.unit.isalpha() and f.unit.endswith("s") and f.type in (int, float)
    return f.unit if plain else ""


def _bounds_words(f: ConfigField, unit: str) -> str:
    """``At least 1 sequence``, ``More than 0 epochs``, ``From 0 to 1`` (empty: none)."""

    def amount(value: float) -> str:
        noun = unit[:-1] if unit and value == 1 else unit
        return f"{value:g} {noun}".strip()

    if f.type not in (int, float) or (f.min is None and f.max is None):
        return ""
    if f.max is None:
        return f"{'More than' if f.exclusive_min else 'At least'} {amount(f.min)}"
    if f.min is None:
        return f"At most {amount(f.max)}"
    if f.exclusive_min:
        return f"More than {f.min:g}, at most {amount(f.max)}"
    return f"From {f.min:g} to {amount(f.max)}"


def option_form_field(f: ConfigField, *, initial: bool = True, low=None, high=None):
    """A form field for option ``f``, never required (empty: the trainer's default).
    ``low``/``high`` widen the bounds the input offers (one field for several kinds)."""
    common = {"required": False, "label": option_label(f.name), "help_text": option_help(f)}
    if initial:
        common["initial"] = f.default
    field = _option_input(f, common, initial=initial, low=low, high=high)
    field.config_default = human(f.default)  # shown beside the input ("default: 16")
    return field


def _option_input(f: ConfigField, common: dict, *, initial: bool, low, high):
    if f.choices is not None:
        choices = [("", "default")] if not initial else []
        return forms.ChoiceField(choices=choices + [(c, human(c)) for c in f.choices], **common)
    if f.type is bool:
        return forms.BooleanField(**common)
    if f.type not in (int, float):
        return forms.CharField(max_length=500, **common)
    attrs = {"step": "1" if f.type is int else "any"}
    low = f.min if low is None else low
    high = f.max if high is None else high
    if low is not None:
        attrs["min"] = f"{low + (1 if f.type is int and f.exclusive_min else 0):g}"
    if high is not None:
        attrs["max"] = f"{high:g}"
    field_class = forms.IntegerField if f.type is int else forms.FloatField
    return field_class(widget=forms.NumberInput(attrs=attrs), **common)


# The options a kind's launch page lays out under "Training"; the rest are "Advanced".
PAGE_MAIN = ("strategy", "loss", "estimator", "epochs", "steps", "max_steps", "batch_size",
             "lr", "max_length", "kl_coef", "beta", "num_generations", "max_new_tokens",
             "temperature", "max_prompts", "seed")  # fmt: skip


class OptionsForm(forms.Form):
    """A launch form whose options come from run kinds' configs: ``MAIN`` lists those
    laid out first, the rest go under "more options".

    Given ``kind``, it is that kind's own launch page's form: only the kind's options,
    each starting from the kind's default, no prefix, ``PAGE_MAIN`` laid out first."""

    MAIN: tuple[str, ...] = ()
    KINDS: tuple[str, ...] = ()
    SHOW_DEFAULTS = True
    PREFIX: str | None = None

    def __init__(self, *args, kind: str | None = None, **kwargs):
        self.fixed_kind = kind
        if kind is not None:
            self.KINDS, self.SHOW_DEFAULTS = (kind,), True
            self.MAIN = tuple(n for n in PAGE_MAIN if n in RUN_KINDS[kind].option_names())
        kwargs.setdefault("prefix", None if kind else self.PREFIX)
        kwargs.setdefault("label_suffix", "")  # labels without a colon, as on the settings page
        super().__init__(*args, **kwargs)
        self.options = option_fields(self.KINDS, initial=self.SHOW_DEFAULTS)
        self.fields.update(self.options)
        if kind is not None:
            self.fields.pop("kind", None)

    def chosen_kind(self) -> str:
        """The kind launched: the page's, else the one chosen in the form."""
        return self.fixed_kind or self.cleaned_data.get("kind") or self.KINDS[0]

    def data_fields(self):
        """What the run trains on and from (snapshot, models, name): the first fieldset."""
        return [self[name] for name in self.fields if name not in self.options]

    def main_fields(self):
        return [self[name] for name in self.MAIN]

    def missing_choices(self) -> list[str]:
        """The required choices with nothing to choose from (no finished snapshot, no
        registered policy or reward model): what to make before a launch can succeed."""
        return [
            str(field.label or name.replace("_", " ").capitalize())
            for name, field in self.fields.items()
            if isinstance(field, forms.ModelChoiceField)
            and field.required
            and not field.queryset.exists()
        ]

    def more_fields(self):
        return [self[name] for name in self.options if name not in self.MAIN]

    def option_values(self, kind: str) -> dict:
        """The options of ``kind`` the form was given a value for."""
        values = {}
        for name in RUN_KINDS[kind].option_names():
            value = self.cleaned_data.get(name)
            if value is None or value == "":
                continue
            if isinstance(value, float) and value.is_integer() and name == "epochs":
                value = int(value)
            values[name] = value
        return values

    def options_check(self, kind: str) -> None:
        """The kind's rules on the values, the error on the field it names."""
        try:
            hyperparameters_check(kind, self.hyperparameters())
        except ValueError as exc:
            where, _, message = str(exc).partition(": ")
            name = where.removeprefix("hyperparameters.")
            self.add_error(name if name in self.fields else None, message)


def option_fields(kinds: tuple[str, ...], *, initial: bool) -> dict:
    """A field per option of ``kinds`` by name: one per name, with the widest bounds and,
    when the kinds are several, each kind's help (they differ: a PPO batch counts
    prompts, an SFT batch examples)."""
    seen: dict[str, dict[str, ConfigField]] = {}
    for kind in kinds:
        for f in RUN_KINDS[kind].options():
            seen.setdefault(f.name, {})[kind] = f
    out = {}
    for name, versions in seen.items():
        lows = [v.min for v in versions.values()]
        highs = [v.max for v in versions.values()]
        field = option_form_field(
            next(iter(versions.values())),
            initial=initial,
            low=None if None in lows else min(lows),
            high=None if None in highs else max(highs),
        )
        if len(kinds) > 1:
            by_help: dict[str, list[str]] = {}
            for kind, f in versions.items():
                by_help.setdefault(option_help(f), []).append(kind.upper())
            field.help_text = " · ".join(f"{', '.join(k)}: {h}" for h, k in by_help.items())
        out[name] = field
    return out


class RunForm(OptionsForm):
    """A reward model: every option of the reward config, starting from its defaults."""

    snapshot = forms.ModelChoiceField(queryset=DatasetSnapshot.objects.none())
    name = forms.CharField(required=False, max_length=200)
    base_model = forms.CharField(
        required=False, max_length=500, help_text="a local path or hub name; empty: MiniLM"
    )
    MAIN = ("strategy", "pooling", "loss", "epochs", "batch_size", "lr", "max_length", "seed",
            "gpus")  # fmt: skip
    KINDS = (RunKind.REWARD,)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        _offer_finished_snapshots(self.fields["snapshot"], project)

    def clean(self):
        super().clean()
        if not self.errors:
            self.options_check(RunKind.REWARD)

    def run_arguments(self) -> dict:
        """What ``run_create`` takes from this form."""
        data = self.cleaned_data
        return {"kind": "reward", "snapshot": data["snapshot"], "base_model": data["base_model"],
                "name": data["name"], "hyperparameters": self.hyperparameters()}  # fmt: skip

    def hyperparameters(self) -> dict:
        return self.option_values(RunKind.REWARD)


class PolicyRunForm(OptionsForm):
    """An SFT, DPO, PPO or GRPO run: empty numbers mean the trainer's own default (they
    differ by kind, so the form does not guess); options of other kinds are ignored."""

    kind = forms.ChoiceField(
        choices=[("sft", "SFT on demonstrations"), ("dpo", "DPO on preferences"), ("ppo", "PPO"),
                 ("grpo", "GRPO / RLOO (TRL)")]
    )  # fmt: skip
    snapshot = forms.ModelChoiceField(queryset=DatasetSnapshot.objects.none())
    name = forms.CharField(required=False, max_length=200)
    policy = forms.CharField(
        required=False, max_length=500, help_text="folder, hub name or .gguf; empty: tiny"
    )
    reward_model = forms.ModelChoiceField(
        queryset=ModelArtifact.objects.none(), required=False, help_text="PPO and GRPO"
    )
    MAIN = ("epochs", "steps", "batch_size", "lr", "kl_coef", "beta", "num_generations",
            "max_new_tokens", "seed", "gpus", "distributed")  # fmt: skip
    KINDS, SHOW_DEFAULTS, PREFIX = POLICY_KINDS, False, "policy"

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        _offer_finished_snapshots(self.fields["snapshot"], project)
        self.fields["reward_model"].queryset = ModelArtifact.objects.filter(
            project=project, kind=ArtifactKind.REWARD
        ).order_by("-created_at")
        if self.fixed_kind:  # one kind's page: a reward model only where it scores with one
            self.fields["policy"].label = "Starting policy"
            if RUN_KINDS[self.fixed_kind].needs_reward_model:
                field = self.fields["reward_model"]
                field.required, field.help_text = True, "scores the policy's answers"
                field.initial = field.queryset.first()  # the newest
            else:
                del self.fields["reward_model"]

    def clean(self):
        super().clean()
        if not self.errors:
            self.options_check(self.chosen_kind())

    def run_arguments(self) -> dict:
        data = self.cleaned_data
        return {"kind": self.chosen_kind(), "snapshot": data["snapshot"],
                "base_model": data["policy"], "reward_model": data.get("reward_model"),
                "name": data["name"], "hyperparameters": self.hyperparameters()}  # fmt: skip

    def hyperparameters(self) -> dict:
        return self.option_values(self.chosen_kind())


class EvaluationForm(OptionsForm):
    """Evaluate a registered policy on a snapshot's held-out split, judged by a registered
    reward model, against a reference: another registered policy, a path or hub name, or
    (both empty) the model the policy's training started from."""

    policy = forms.ModelChoiceField(queryset=ModelArtifact.objects.none())
    snapshot = forms.ModelChoiceField(
        queryset=DatasetSnapshot.objects.none(), help_text="its validation (or test) split"
    )
    reward_model = forms.ModelChoiceField(queryset=ModelArtifact.objects.none(), label="Judge")
    reference_policy = forms.ModelChoiceField(
        queryset=ModelArtifact.objects.none(), required=False, label="Compare with",
        empty_label="the policy's starting model",
    )  # fmt: skip
    reference = forms.CharField(
        required=False, max_length=500, label="or a path", help_text="folder or hub name"
    )
    name = forms.CharField(required=False, max_length=200)
    MAIN = ("max_new_tokens", "temperature")
    KINDS, PREFIX = (RunKind.EVAL,), "evaluate"

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        models = ModelArtifact.objects.filter(project=project).order_by("-created_at")
        self.fields["policy"].queryset = models.filter(kind=ArtifactKind.POLICY)
        self.fields["reference_policy"].queryset = models.filter(kind=ArtifactKind.POLICY)
        self.fields["reward_model"].queryset = models.filter(kind=ArtifactKind.REWARD)
        _offer_finished_snapshots(self.fields["snapshot"], project)
        if self.fixed_kind:  # its own page: the newest policy and judge chosen
            for name in ("policy", "reward_model"):
                self.fields[name].initial = self.fields[name].queryset.first()

    def clean(self):
        super().clean()
        if not self.errors:
            self.options_check(RunKind.EVAL)

    def run_arguments(self) -> dict:
        """The reference: the path typed, else the chosen policy's, else the model the
        evaluated policy's training started from."""
        data = self.cleaned_data
        return {"kind": "eval", "snapshot": data["snapshot"], "policy": data["policy"],
                "reward_model": data["reward_model"], "name": data["name"],
                "reference": data["reference"], "reference_policy": data["reference_policy"],
                "hyperparameters": self.hyperparameters()}  # fmt: skip

    def hyperparameters(self) -> dict:
        return self.option_values(RunKind.EVAL)


# The form each kind's launch page shows (given its ``kind``: that kind's fields only).
FORM_OF_KIND = {RunKind.REWARD: RunForm, RunKind.EVAL: EvaluationForm} | dict.fromkeys(
    POLICY_KINDS, PolicyRunForm
)


def launch_form(kind: str, data=None, *, project, initial=None) -> OptionsForm:
    """The launch form of one kind's page, bound to ``data`` when posted, else filled with
    ``initial`` (a preset's values) over the kind's defaults."""
    return FORM_OF_KIND[kind](data, kind=kind, project=project, initial=initial)
