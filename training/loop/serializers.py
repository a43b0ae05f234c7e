"""Serializers of the model in the loop: generators, rounds and generation jobs."""

from rest_framework import serializers

from common.jobs import WAITING_HELP
from common.progress import progress_read
from training.loop.models import GenerationJob, Generator, GeneratorKind, Round
from training.loop.services.generation_run import generation_job_waiting


class GeneratorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Generator
        fields = [
            "id", "name", "kind", "policy", "model_path", "base_url", "model_name",
            "api_key_env", "temperature", "top_p", "max_new_tokens", "timeout_s",
            "max_retries", "requests_per_minute", "active", "created_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at"]


class GeneratorInputSerializer(serializers.Serializer):
    """Field checks that need the project (policy, URL, key variable) are the service's."""

    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=GeneratorKind.choices)
    policy = serializers.IntegerField(required=False, allow_null=True)
    model_path = serializers.CharField(max_length=500, required=False, allow_blank=True)
    base_url = serializers.CharField(max_length=500, required=False, allow_blank=True)
    model_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    api_key_env = serializers.CharField(
        max_length=100, required=False, allow_blank=True,
        help_text="the NAME of the environment variable holding the key on the workers; it "
        "must start with PREFLAB_GENERATOR_KEY_PREFIX (PREFLAB_KEY_ by default)",
    )  # fmt: skip
    temperature = serializers.FloatField(required=False)
    top_p = serializers.FloatField(required=False)
    max_new_tokens = serializers.IntegerField(required=False)
    timeout_s = serializers.FloatField(required=False)
    max_retries = serializers.IntegerField(required=False, min_value=0)
    requests_per_minute = serializers.FloatField(required=False, allow_null=True)
    active = serializers.BooleanField(required=False)


class GeneratorUpdateSerializer(GeneratorInputSerializer):
    name = serializers.CharField(max_length=100, required=False)
    kind = serializers.ChoiceField(choices=GeneratorKind.choices, required=False)


class GenerationJobSerializer(serializers.ModelSerializer):
    prompts_total = serializers.IntegerField(read_only=True)
    percent = serializers.SerializerMethodField()
    round = serializers.IntegerField(source="round.number", allow_null=True, read_only=True)
    waiting = serializers.SerializerMethodField(help_text=WAITING_HELP)

    class Meta:
        model = GenerationJob
        fields = [
            "id", "state", "round", "item_round", "prompts_total", "prompts_done", "percent",
            "tokens_done", "tokens_per_second", "failures", "error", "waiting", "created_at",
            "started_at", "finished_at",
        ]  # fmt: skip

    def get_waiting(self, job) -> str | None:

        waiting = None if job.is_finished else generation_job_waiting(job)
        return str(waiting) if waiting else None

    def get_percent(self, job) -> int:

        live = progress_read("generation", job.pk)
        done = live.done if live and not job.is_finished else job.prompts_done
        return int(100 * done / job.prompts_total) if job.prompts_total else 0


class RoundStartSerializer(serializers.Serializer):
    prompt_source = serializers.ChoiceField(choices=Round.PromptSource.choices)
    prompts = serializers.IntegerField(min_value=1, help_text="how many prompts to answer")
    generators = serializers.ListField(
        child=serializers.IntegerField(), required=False,
        help_text="generator ids; empty: every active generator of the project",
    )  # fmt: skip
    client_token = serializers.CharField(max_length=64, required=False)


class RoundSerializer(serializers.Serializer):
    """A round with its figures (``training.loop.selectors.RoundStats``)."""

    number = serializers.IntegerField()
    # None for a round of imported items that no Round row describes.
    prompt_source = serializers.CharField(
        source="round.prompt_source", default=None, allow_null=True
    )
    policy = serializers.IntegerField(source="round.policy_id", default=None, allow_null=True)
    baseline = serializers.IntegerField(source="round.baseline_id", default=None, allow_null=True)
    items = serializers.IntegerField()
    items_complete = serializers.IntegerField()
    annotations = serializers.IntegerField()
    agreement = serializers.FloatField(allow_null=True)
    reward_model_accuracy = serializers.FloatField(source="rm_accuracy", allow_null=True)
    reward_model_pairs = serializers.IntegerField(source="rm_pairs")
    reward_model_name = serializers.CharField(
        source="rm_name", help_text="the round's reward model (attached when it started), "
        "else the project's: its accuracy on the round's labels is on data it had not seen",
    )  # fmt: skip
    arena_win_rate = serializers.FloatField(source="arena.win_rate", allow_null=True)
    arena_wins = serializers.IntegerField(source="arena.wins")
    arena_ties = serializers.IntegerField(source="arena.ties")
    arena_losses = serializers.IntegerField(source="arena.losses")
    job = GenerationJobSerializer(allow_null=True)
