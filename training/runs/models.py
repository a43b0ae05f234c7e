"""Training runs, their metrics, and the model registry (what runs produce)."""

from django.conf import settings
from django.db import models

from common.job_models import BackgroundJob
from projects.models import Project
from training.datasets.models import DatasetSnapshot


class RunKind(models.TextChoices):
    REWARD = "reward", "Reward model"
    SFT = "sft", "Supervised fine-tuning"
    PPO = "ppo", "PPO"
    DPO = "dpo", "DPO"
    GRPO = "grpo", "GRPO / RLOO"
    EVAL = "eval", "Policy evaluation"


class TrainingRun(BackgroundJob):
    """One training job: what it trains on and with, where it is, and what it made.

    A Celery task on the ``gpu`` queue launches the trainer as a subprocess and copies
    its metrics stream into ``RunMetric`` rows; ``heartbeat_at`` is how a run whose
    worker died is told from one still working: the workers' reaper fails a run silent for
    ``PREFLAB_RUN_HEARTBEAT_TIMEOUT`` (``common.jobs.jobs_reap``).
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="training_runs")
    kind = models.CharField(max_length=16, choices=RunKind.choices)
    name = models.CharField(max_length=200, blank=True)
    base_model = models.CharField(max_length=500, blank=True)  # path or hub name; "" default
    snapshot = models.ForeignKey(
        DatasetSnapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    hyperparameters = models.JSONField(default=dict, blank=True)
    # A policy run's reward model (PPO), or an evaluation's judge; PROTECT: the run's
    # record names what it used.
    reward_model = models.ForeignKey(
        "ModelArtifact", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # An evaluation run's policy, and the policy (path or hub name) it is compared with.
    policy = models.ForeignKey(
        "ModelArtifact",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="evaluations",
    )
    reference = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    client_token = models.CharField(max_length=64, null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)  # the Celery worker's hostname
    pid = models.IntegerField(null=True, blank=True)  # the trainer process (its group)
    attempt = models.PositiveIntegerField(default=0)  # launches so far; >1 means resumed
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    eta_seconds = models.FloatField(null=True, blank=True)
    out_dir = models.CharField(max_length=500, blank=True)
    metrics_offset = models.BigIntegerField(default=0)  # bytes of metrics.jsonl copied
    summary = models.JSONField(default=dict, blank=True)  # the trainer's summary.json
    log_tail = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "created_by", "client_token"], name="run_client_token"
            ),
        ]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="run_state_heartbeat")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} run {self.pk}"


class RunMetric(models.Model):
    """One line of a trainer's metrics stream: ``step`` and named values."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="metrics")
    step = models.PositiveIntegerField()
    values = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["run", "step"], name="run_metric_step")]
        ordering = ["run", "step", "id"]

    def __str__(self) -> str:
        return f"run {self.run_id} step {self.step}"


class ArtifactKind(models.TextChoices):
    REWARD = "reward", "Reward model"
    POLICY = "policy", "Policy"


class ModelArtifact(models.Model):
    """A trained model in the registry: where it is, what it came from, how it scored."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="models")
    kind = models.CharField(max_length=16, choices=ArtifactKind.choices)
    name = models.CharField(max_length=200)
    path = models.CharField(max_length=500)  # a model folder readable by the workers
    base_model = models.CharField(max_length=500, blank=True)
    snapshot = models.ForeignKey(
        DatasetSnapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    run = models.OneToOneField(
        TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="artifact"
    )
    metrics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name
