"""REST shapes of training runs and registered models. Hyper-parameters are checked by
``training.runs.services.options`` (one place for the rules, naming the field); their
schema is generated from the run kinds' configs (``training.runs.kinds``)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.jobs import WAITING_HELP, job_waiting
from training.ml.configs import ConfigField
from training.runs.kinds import RUN_KINDS
from training.runs.models import ModelArtifact, RunMetric, TrainingRun
from training.runs.services.runs import run_progress

JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean"}


def _option_schema(name: str, versions: dict[str, ConfigField]) -> dict:
    """One option's schema over the kinds that take it: the widest bounds (a value
    outside them is refused by every kind), its help, unit and each kind's default."""
    first = next(iter(versions.values()))
    schema: dict = {"type": JSON_TYPES[first.type]}
    if any(f.nullable for f in versions.values()):
        schema["nullable"] = True
    choices = [c for f in versions.values() for c in (f.choices or ())]
    if choices:
        schema["enum"] = list(dict.fromkeys(choices))
    lows = [(f.min, f.exclusive_min) for f in versions.values()]
    if None not in [low for low, _ in lows]:
        low = min(low for low, _ in lows)
        schema["minimum"] = low
        if all(exclusive for value, exclusive in lows if value == low):
            schema["exclusiveMinimum"] = True
    highs = [f.max for f in versions.values()]
    if None not in highs:
        schema["maximum"] = max(highs)
    schema["description"] = _option_description(versions)
    return schema


def _option_description(versions: dict[str, ConfigField]) -> str:
    """Its help and unit (each kind's, where they differ), and each kind's default."""
    by_help: dict[str, list[str]] = {}
    for kind, f in versions.items():
        said = f"{f.help} ({f.unit})" if f.unit else f"{f.help} ({f.reason})"
        by_help.setdefault(said, []).append(kind)
    if len(by_help) == 1:
        helps = next(iter(by_help))
    else:
        helps = "; ".join(f"{', '.join(kinds)}: {said}" for said, kinds in by_help.items())
    defaults = ", ".join(f"{kind} {f.default!r}" for kind, f in versions.items())
    return f"{helps}. Defaults: {defaults}."


def hyperparameters_schema() -> dict:
    """The OpenAPI schema of ``hyperparameters``: every option of every kind of run."""
    by_name: dict[str, dict[str, ConfigField]] = {}
    for kind, spec in RUN_KINDS.items():
        for f in spec.options():
            by_name.setdefault(f.name, {})[kind] = f
    return {
        "type": "object",
        "description": "overrides of the kind's defaults: the options of its trainer's config "
        "(each documented below with the kinds that take it); others are refused",
        "properties": {name: _option_schema(name, v) for name, v in by_name.items()},
        "additionalProperties": False,
    }


@extend_schema_field(hyperparameters_schema())
class HyperparametersField(serializers.JSONField):
    """A run's options: a JSON object, checked against its kind's config by the service."""


class RunCreateSerializer(serializers.Serializer):
    project = serializers.SlugField(help_text="the project's slug")
    kind = serializers.CharField(help_text="reward, sft, dpo, ppo or eval")
    snapshot = serializers.IntegerField(
        help_text="id of a finished snapshot of the project (rankings, demonstrations, a PPO "
        "run's prompts, an evaluation's held-out split)"
    )
    reward_model = serializers.IntegerField(
        required=False,
        help_text="ppo: id of a registered reward model of the project; eval: the judge",
    )
    policy = serializers.IntegerField(
        required=False, help_text="eval: id of the registered policy to evaluate"
    )
    reference_policy = serializers.IntegerField(
        required=False, help_text="eval: id of a registered policy to compare with"
    )
    reference = serializers.CharField(
        required=False, allow_blank=True, max_length=500,
        help_text="eval: a policy path or hub name to compare with (instead of reference_policy)",
    )  # fmt: skip
    hyperparameters = HyperparametersField(required=False)
    base_model = serializers.CharField(
        required=False, allow_blank=True, max_length=500,
        help_text="reward: the backbone; ppo: the policy (path, hub name, .gguf or 'tiny')",
    )  # fmt: skip
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    client_token = serializers.CharField(required=False, max_length=64)


class ArtifactSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ModelArtifact
        fields = [
            "id", "project", "kind", "name", "path", "base_model", "snapshot", "run",
            "metrics", "created_at",
        ]  # fmt: skip


class RunSummarySerializer(serializers.ModelSerializer):
    """A run in a list: no metrics or log, and the artifact from the same query
    (``select_related("artifact")``)."""

    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    progress = serializers.SerializerMethodField()
    artifact = serializers.SerializerMethodField()
    waiting = serializers.SerializerMethodField(help_text=WAITING_HELP)

    class Meta:
        model = TrainingRun
        fields = [
            "id", "project", "kind", "name", "base_model", "snapshot", "reward_model", "policy",
            "reference", "hyperparameters", "state", "progress", "created_at", "started_at",
            "finished_at", "heartbeat_at", "worker", "attempt", "error", "waiting", "artifact",
        ]  # fmt: skip

    def get_progress(self, obj) -> dict:
        return run_progress(obj)

    def get_waiting(self, obj) -> str | None:
        waiting = None if obj.is_finished else job_waiting(obj)
        return str(waiting) if waiting else None

    def get_artifact(self, obj) -> dict | None:
        try:
            return ArtifactSerializer(obj.artifact).data
        except ModelArtifact.DoesNotExist:
            return None


class RunSerializer(RunSummarySerializer):
    """One run whole: also its log tail, summary and the newest value of each metric."""

    latest_metrics = serializers.SerializerMethodField()

    class Meta(RunSummarySerializer.Meta):
        fields = [*RunSummarySerializer.Meta.fields, "log_tail", "latest_metrics", "summary"]

    def get_latest_metrics(self, obj) -> dict:
        """The newest value of every metric name seen so far."""
        latest: dict = {}
        for values in obj.metrics.order_by("step", "id").values_list("values", flat=True):
            latest.update({k: v for k, v in values.items() if k not in ("time",)})
        return latest


class RunMetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunMetric
        fields = ["id", "step", "values"]


class ScoreSerializer(serializers.Serializer):
    prompt = serializers.JSONField(help_text='text, or [{"role": ..., "content": ...}]')
    responses = serializers.ListField(
        child=serializers.JSONField(), min_length=1, max_length=64, help_text="texts"
    )


class ScoreResultSerializer(serializers.Serializer):
    model = serializers.IntegerField()
    rewards = serializers.ListField(child=serializers.FloatField())
