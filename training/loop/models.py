"""The model in the loop: generators, generation jobs, rounds and reward-model scores.

They belong to the ``training`` app (its tables and migrations); ``TrainingConfig``
imports this module when Django registers models.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from annotation.models import Response
from common.job_models import BackgroundJob
from projects.models import Project

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class GeneratorKind(models.TextChoices):
    LOCAL = "local", "Local model (a registered policy or a model path), run by a GPU worker"
    OPENAI = "openai", "OpenAI-compatible HTTP endpoint (vLLM, TGI, a hosted API)"


def env_name_validate(value: str) -> None:
    """A variable the workers may read an API key from: a name, not a key, and one under
    the operator's prefix (``PREFLAB_GENERATOR_KEY_PREFIX``), never any other secret."""
    if not value:
        return
    if not ENV_NAME.match(value):
        raise ValidationError(
            "api_key_env: the NAME of an environment variable (A-Z, 0-9, _), not the key"
        )
    prefix = settings.PREFLAB_GENERATOR_KEY_PREFIX
    if not value.startswith(prefix) or value == prefix:
        raise ValidationError(
            f"api_key_env: must start with {prefix} (keep generator keys in variables such "
            f"as {prefix}OPENAI on the workers; other variables are never read)"
        )


class Generator(models.Model):
    """A model that writes responses for a project's items.

    API keys are never stored: ``api_key_env`` names the environment variable the worker
    reads the key from.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="generators")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=GeneratorKind.choices)
    # local: a registered policy, else model_path (a folder, a .gguf file or a hub name).
    policy = models.ForeignKey(
        "training.ModelArtifact", null=True, blank=True, on_delete=models.PROTECT,
        related_name="generators",
    )  # fmt: skip
    model_path = models.CharField(max_length=500, blank=True)
    # openai: base URL (".../v1"), the served model's name, the key's environment variable.
    base_url = models.URLField(max_length=500, blank=True)
    model_name = models.CharField(max_length=200, blank=True)
    api_key_env = models.CharField(max_length=100, blank=True, validators=[env_name_validate])
    temperature = models.FloatField(default=0.8)
    top_p = models.FloatField(default=0.95)
    max_new_tokens = models.PositiveIntegerField(default=256)
    timeout_s = models.FloatField(default=60)
    max_retries = models.PositiveSmallIntegerField(default=3)
    # Client-side rate limit for hosted APIs; null for none.
    requests_per_minute = models.FloatField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="generator_name_unique"),
            models.CheckConstraint(
                condition=Q(temperature__gte=0, temperature__lte=2), name="generator_temperature"
            ),
            models.CheckConstraint(condition=Q(top_p__gt=0, top_p__lte=1), name="generator_top_p"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def model_label(self) -> str:
        """What the responses' ``model_name`` says wrote them."""
        if self.kind == GeneratorKind.OPENAI:
            return self.model_name
        return self.policy.name if self.policy_id else self.model_path

    @property
    def sampling(self) -> dict:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
        }


class Round(models.Model):
    """One turn of the loop: prompts answered by chosen models, opened as items of round N."""

    class PromptSource(models.TextChoices):
        NEW = "new", "New prompts (never annotated)"
        HELD_OUT = "held_out", "Held-out prompts (outside the training split)"
        UNCERTAIN = "uncertain", "Prompts the reward model is least sure about"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="rounds")
    number = models.PositiveIntegerField()
    prompt_source = models.CharField(max_length=16, choices=PromptSource.choices)
    generators = models.ManyToManyField(Generator, related_name="rounds")
    # The policy under test and the one it is compared with (the arena); null when the
    # round's generators are not registered policies.
    policy = models.ForeignKey(
        "training.ModelArtifact", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    baseline = models.ForeignKey(
        "training.ModelArtifact", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    # The project's reward model when the round started: trained on earlier rounds, so its
    # accuracy on this round's labels is accuracy on fresh data.
    reward_model = models.ForeignKey(
        "training.ModelArtifact", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    client_token = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="round_number_once"),
            models.UniqueConstraint(
                fields=["project", "created_by", "client_token"], name="round_client_token"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project.slug} round {self.number}"


class GenerationJob(BackgroundJob):
    """One batched generation: many prompts, each answered by the job's generators.

    A prompt's item appears only with all of its responses; a prompt that fails keeps its
    reason in ``failures`` and gets no item.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="generation_jobs")
    round = models.ForeignKey(
        Round, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    item_round = models.PositiveIntegerField(default=1)  # the round number items get
    generators = models.ManyToManyField(Generator, related_name="jobs")
    prompt_ids = models.JSONField(default=list)
    prompts_done = models.PositiveIntegerField(default=0)
    # Tokens its local models sampled (an HTTP endpoint counts none here) and the rate of
    # the latest attempt, updated after each batch: how fast a round on a CPU moves.
    tokens_done = models.BigIntegerField(default=0)
    tokens_per_second = models.FloatField(null=True, blank=True)
    # {"<prompt id>": "reason"}; those prompts got no item.
    failures = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Its runner's last sign of life (start, each chunk): a cancel stops a job silent for
    # PREFLAB_GENERATION_STALE_SECONDS at once, its runner being gone.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"generation job {self.pk} ({self.state})"

    @property
    def prompts_total(self) -> int:
        return len(self.prompt_ids)


class ResponseScore(models.Model):
    """A reward model's score for one response (pre-ranking, uncertainty, arena checks)."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="scores")
    artifact = models.ForeignKey(
        "training.ModelArtifact", on_delete=models.CASCADE, related_name="scores"
    )
    score = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "artifact"], name="response_score_once")
        ]

    def __str__(self) -> str:
        return f"{self.response_id}: {self.score:.3f}"
