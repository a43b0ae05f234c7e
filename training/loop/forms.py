"""Forms of the loop page: pre-ranking and acquisition settings, generators, next round.

Each lists its ``fieldsets`` (``common/web/fieldsets.py``): a generator's local-model and
endpoint fields show only for its kind, the disagreement top-up only for the rules that use it
(``TOP_UP_RULES``); without JS every group stays shown and the server validates as before.
"""

from django import forms

from common.errors import ApplicationError
from common.web.fieldsets import Fieldset, FieldsetsMixin
from projects.models import Project
from training.loop.models import Generator, Round
from training.loop.services.acquisition import TOP_UP_RULES
from training.runs.models import ArtifactKind, ModelArtifact


def add_service_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's refusal at the field it names ("base_url: an http(s) URL…" under
    Base URL, without the API's field-name prefix); above the form if the form lacks it."""
    field = exc.extra.get("field")
    if field not in form.fields:
        form.add_error(None, exc.message)
        return
    message = exc.message.removeprefix(f"{field}: ")
    form.add_error(field, message[:1].upper() + message[1:])


# The rules that top an item up with one more annotator: the only ones the cap applies to.
_TOP_UP_RULES = ",".join(TOP_UP_RULES)


class LoopSettingsForm(FieldsetsMixin, forms.ModelForm):
    fieldsets = (
        Fieldset(
            "Pre-ranking", ("reward_model", "assist_mode"),
            help="A reward model orders each item's responses before annotators see it.",
        ),
        Fieldset("What annotators see next", ("acquisition_rule",)),
        Fieldset(
            "Disagreement top-up", ("disagreement_threshold", "disagreement_cap"),
            show_when=f"acquisition_rule={_TOP_UP_RULES}",
            help="Items whose annotators disagree get one more annotator, up to a cap.",
        ),
    )  # fmt: skip

    class Meta:
        model = Project
        fields = [
            "reward_model", "assist_mode", "acquisition_rule", "disagreement_threshold",
            "disagreement_cap",
        ]  # fmt: skip
        help_texts = {
            "reward_model": "Scores every new item's responses in the background.",
            "assist_mode": "Whether annotators see the reward model's suggested order.",
            "acquisition_rule": "The order in which items are served to annotators.",
            "disagreement_threshold": "0 to 1: how split an item's annotators must be for "
            "one more.",
            "disagreement_cap": "The most annotators an unsure item can reach.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reward_model"].queryset = ModelArtifact.objects.filter(
            project=self.instance, kind=ArtifactKind.REWARD
        )

    def changed_settings(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data}


class GeneratorForm(FieldsetsMixin, forms.ModelForm):
    fieldsets = (
        Fieldset("Generator", ("name", "kind")),
        Fieldset(
            "Local model", ("policy", "model_path"), show_when="kind=local",
            help="Run by a GPU worker: a registered policy, or else a model path.",
        ),
        Fieldset(
            "OpenAI-compatible endpoint", ("base_url", "model_name", "api_key_env"),
            show_when="kind=openai",
        ),
        Fieldset("Sampling", ("temperature", "top_p", "max_new_tokens")),
        Fieldset(
            "Requests", ("timeout_s", "max_retries", "requests_per_minute"),
            show_when="kind=openai", help="How the workers call the endpoint.",
        ),
    )  # fmt: skip

    class Meta:
        model = Generator
        fields = [
            "name", "kind", "policy", "model_path", "base_url", "model_name", "api_key_env",
            "temperature", "top_p", "max_new_tokens", "timeout_s", "max_retries",
            "requests_per_minute",
        ]  # fmt: skip
        labels = {"api_key_env": "API key variable", "top_p": "Top-p", "timeout_s": "Timeout (s)"}
        help_texts = {
            "name": "Shown in the rounds and as the responses' model.",
            "policy": "A policy trained in this project; leave empty to use the model path.",
            "model_path": "Local: a model folder, a .gguf file, or a hub name (when no policy).",
            "base_url": "OpenAI-compatible: e.g. http://vllm:8000/v1",
            "api_key_env": "The NAME of the environment variable with the key on the workers, "
            "starting with PREFLAB_KEY_ (the key itself is never stored).",
            "model_name": "The served model's name, as the endpoint knows it.",
            "temperature": "0 to 2; default 0.8.",
            "top_p": "Above 0, at most 1; default 0.95.",
            "max_new_tokens": "The longest response, in tokens; default 256.",
            "timeout_s": "Per attempt, in seconds; default 60.",
            "max_retries": "Retries after the first attempt; default 3.",
            "requests_per_minute": "A client-side rate limit for hosted APIs; empty for none.",
        }

    # Not a URLField: in-cluster names such as http://vllm:8000/v1 have no domain.
    base_url = forms.CharField(
        max_length=500, required=False, label="Base URL",
        help_text="OpenAI-compatible: e.g. http://vllm:8000/v1",
    )  # fmt: skip

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["policy"].queryset = ModelArtifact.objects.filter(
            project=project, kind=ArtifactKind.POLICY
        )
        for name in ("temperature", "top_p", "max_new_tokens", "timeout_s", "max_retries"):
            self.fields[name].required = False

    def generator_fields(self) -> dict:
        data = self.cleaned_data
        return {
            name: value
            for name, value in data.items()
            if value is not None or name in ("policy", "requests_per_minute")
        }


class RoundStartForm(FieldsetsMixin, forms.Form):
    fieldsets = (
        Fieldset("Prompts", ("prompt_source", "prompts")),
        # The ticks are a group with their own legend ("Generators"): no second one around it.
        Fieldset("", ("generators",)),
    )

    prompt_source = forms.ChoiceField(choices=Round.PromptSource.choices)
    prompts = forms.IntegerField(
        min_value=1,
        max_value=10_000,
        initial=50,
        help_text="1 to 10,000; default 50.",
    )
    generators = forms.ModelMultipleChoiceField(
        queryset=Generator.objects.none(), widget=forms.CheckboxSelectMultiple, required=False,
        help_text="None ticked: every active generator.",
    )  # fmt: skip

    def __init__(self, *args, project: Project, source_counts: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["generators"].queryset = project.generators.filter(active=True)
        if source_counts is not None:
            self._say_what_each_source_holds(source_counts)

    def _say_what_each_source_holds(self, counts: dict) -> None:
        # "New prompts" by default once every prompt was in a round starts a round that
        # cannot start: preselect a source that has prompts and say how many each has.
        field = self.fields["prompt_source"]
        field.choices = [
            (value, f"{label} · {_held(counts.get(value))}") for value, label in field.choices
        ]
        ready = [
            value
            for value, _ in field.choices
            if isinstance(counts.get(value), int) and counts[value]
        ]
        if ready:
            self.initial.setdefault("prompt_source", ready[0])
        # The reasons are written for any reader ("... on the loop page"); this hint sits on
        # that page, above the Pre-ranking card.
        field.help_text = " ".join(
            f"{why.replace(' on the loop page', ' below')}."
            for why in counts.values()
            if isinstance(why, str)
        )


def _held(count) -> str:
    if isinstance(count, int):
        return "none left" if count == 0 else f"{count:,} prompt{'s' if count != 1 else ''}"
    return "unavailable"
