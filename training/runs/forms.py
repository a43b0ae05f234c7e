"""The launch forms of runs: what the page sends to ``run_create`` (which validates).
The reward-model form starts from the trainer's defaults; the policy form (SFT, DPO, PPO,
GRPO) leaves numbers empty for each trainer's own; the evaluation form picks a policy, a
judge and a reference."""

from django import forms

from common.jobs import JobState
from common.labels import human
from training.datasets.models import DatasetSnapshot
from training.runs.models import ArtifactKind, ModelArtifact
from training.runs.services.options import CHOICES, run_defaults


def _offer_finished_snapshots(field: forms.ModelChoiceField, project) -> None:
    """The project's finished snapshots, newest first and chosen."""
    field.queryset = DatasetSnapshot.objects.filter(
        project=project, state=JobState.SUCCEEDED
    ).order_by("-number")
    field.label_from_instance = lambda s: f"#{s.number} {s.name}".strip()
    field.initial = field.queryset.first()


TUNED_ON_THE_FORM = (
    "strategy", "pooling", "loss", "epochs", "batch_size", "lr", "max_length", "seed", "gpus",
)  # fmt: skip


class RunForm(forms.Form):
    snapshot = forms.ModelChoiceField(queryset=DatasetSnapshot.objects.none())
    name = forms.CharField(required=False, max_length=200)
    base_model = forms.CharField(
        required=False, max_length=500, help_text="a local path or hub name; empty: MiniLM"
    )
    strategy = forms.ChoiceField(
        choices=[(c, human(c)) for c in CHOICES["strategy"]], label="What is trained"
    )
    pooling = forms.ChoiceField(choices=[(c, human(c)) for c in CHOICES["pooling"]])
    loss = forms.ChoiceField(choices=[(c, human(c)) for c in CHOICES["loss"]], label="Ranking loss")
    epochs = forms.FloatField(min_value=0.01)
    batch_size = forms.IntegerField(min_value=1, help_text="sequences (responses) per batch")
    lr = forms.FloatField(min_value=0, label="Learning rate")
    max_length = forms.IntegerField(min_value=16, max_value=8192)
    seed = forms.IntegerField(min_value=0)
    gpus = forms.IntegerField(
        required=False, min_value=1, max_value=64, label="GPUs",
        help_text="more than one: accelerate launch",
    )  # fmt: skip

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        _offer_finished_snapshots(self.fields["snapshot"], project)
        defaults = run_defaults("reward")
        for name in TUNED_ON_THE_FORM:
            self.fields[name].initial = defaults[name]

    def run_arguments(self) -> dict:
        """What ``run_create`` takes from this form."""
        data = self.cleaned_data
        return {"kind": "reward", "snapshot": data["snapshot"], "base_model": data["base_model"],
                "name": data["name"], "hyperparameters": self.hyperparameters()}  # fmt: skip

    def hyperparameters(self) -> dict:
        values = {name: self.cleaned_data[name] for name in TUNED_ON_THE_FORM}
        values["gpus"] = values["gpus"] or 1
        if float(values["epochs"]).is_integer():
            values["epochs"] = int(values["epochs"])
        return values


class PolicyRunForm(forms.Form):
    """An SFT, DPO, PPO or GRPO run: empty numbers mean the trainer's own default (they
    differ by kind, so the form does not guess)."""

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
    epochs = forms.FloatField(required=False, min_value=0.01, help_text="SFT, DPO, GRPO")
    steps = forms.IntegerField(required=False, min_value=1, help_text="PPO")
    num_generations = forms.IntegerField(
        required=False, min_value=2, label="Responses per prompt", help_text="GRPO"
    )
    batch_size = forms.IntegerField(required=False, min_value=1)
    lr = forms.FloatField(required=False, min_value=0, label="Learning rate")
    kl_coef = forms.FloatField(required=False, min_value=0, label="KL coefficient", help_text="PPO")
    beta = forms.FloatField(required=False, min_value=0, label="β", help_text="DPO")
    max_new_tokens = forms.IntegerField(required=False, min_value=1, help_text="PPO, GRPO")
    seed = forms.IntegerField(required=False, min_value=0)
    gpus = forms.IntegerField(
        required=False, min_value=1, max_value=64, label="GPUs",
        help_text="more than one: accelerate launch",
    )  # fmt: skip
    distributed = forms.ChoiceField(
        required=False,
        choices=[("", "DDP (default)"), ("zero3", "DeepSpeed ZeRO-3"), ("fsdp", "FSDP")],
        help_text="several GPUs: ZeRO-3 / FSDP shard SFT, DPO and GRPO",
    )

    LAUNCH = ("gpus", "distributed")
    KIND_OPTIONS = {
        "sft": ("epochs", "batch_size", "lr", "seed", *LAUNCH),
        "dpo": ("epochs", "batch_size", "lr", "beta", "seed", *LAUNCH),
        "ppo": ("steps", "batch_size", "lr", "kl_coef", "max_new_tokens", "seed", *LAUNCH),
        "grpo": ("epochs", "batch_size", "lr", "beta", "num_generations", "max_new_tokens", "seed",
                 *LAUNCH),
    }  # fmt: skip

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, prefix="policy", **kwargs)
        _offer_finished_snapshots(self.fields["snapshot"], project)
        self.fields["reward_model"].queryset = ModelArtifact.objects.filter(
            project=project, kind=ArtifactKind.REWARD
        ).order_by("-created_at")

    def run_arguments(self) -> dict:
        data = self.cleaned_data
        return {"kind": data["kind"], "snapshot": data["snapshot"], "base_model": data["policy"],
                "reward_model": data["reward_model"], "name": data["name"],
                "hyperparameters": self.hyperparameters()}  # fmt: skip

    def hyperparameters(self) -> dict:
        kind = self.cleaned_data["kind"]
        values = {}
        for name in self.KIND_OPTIONS[kind]:
            value = self.cleaned_data.get(name)
            if value is not None and value != "":
                values[name] = int(value) if name == "epochs" and value.is_integer() else value
        return values


class EvaluationForm(forms.Form):
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
    max_new_tokens = forms.IntegerField(required=False, min_value=1, max_value=4096)
    temperature = forms.FloatField(required=False, min_value=0, help_text="0: greedy")

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, prefix="evaluate", **kwargs)
        models = ModelArtifact.objects.filter(project=project).order_by("-created_at")
        self.fields["policy"].queryset = models.filter(kind=ArtifactKind.POLICY)
        self.fields["reference_policy"].queryset = models.filter(kind=ArtifactKind.POLICY)
        self.fields["reward_model"].queryset = models.filter(kind=ArtifactKind.REWARD)
        _offer_finished_snapshots(self.fields["snapshot"], project)

    def run_arguments(self) -> dict:
        """The reference: the path typed, else the chosen policy's, else the model the
        evaluated policy's training started from."""
        data = self.cleaned_data
        return {"kind": "eval", "snapshot": data["snapshot"], "policy": data["policy"],
                "reward_model": data["reward_model"], "name": data["name"],
                "reference": data["reference"], "reference_policy": data["reference_policy"],
                "hyperparameters": self.hyperparameters()}  # fmt: skip

    def hyperparameters(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in ("max_new_tokens", "temperature")
            if self.cleaned_data.get(name) is not None
        }
