"""Import jobs: one uploaded file of prompts and responses, validated and imported whole."""

from django.conf import settings
from django.db import models

from projects.models import Project


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class ImportJob(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imports")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Path in the default storage.
    file_path = models.CharField(max_length=500)
    original_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=8)
    file_size = models.BigIntegerField(default=0)
    batch_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_rows = models.PositiveIntegerField(default=0)
    created_items = models.PositiveIntegerField(default=0)
    existing_items = models.PositiveIntegerField(default=0)
    # [{"line": n, "field": "responses[2]", "message": "..."}], capped; error_count counts all.
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    celery_task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.original_name})"

    @property
    def is_finished(self) -> bool:
        return self.status in {ImportStatus.SUCCEEDED, ImportStatus.FAILED, ImportStatus.CANCELLED}
