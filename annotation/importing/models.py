"""Import jobs: one uploaded file of prompts and responses, validated and imported whole."""

from django.conf import settings
from django.db import models

from common.job_models import BackgroundJob
from common.jobs import JobState
from projects.models import Project


class ImportJob(BackgroundJob):
    """One uploaded file, imported whole or not at all; ``error`` says why it failed or
    was cancelled."""

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
    total_rows = models.PositiveIntegerField(default=0)
    created_items = models.PositiveIntegerField(default=0)
    existing_items = models.PositiveIntegerField(default=0)
    # [{"line": n, "field": "responses[2]", "message": "..."}], capped; error_count counts all.
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.original_name})"

    @property
    def message(self) -> str:
        """The line shown beside the state: what it imported, or why it did not."""
        if self.state == JobState.SUCCEEDED:
            return (
                f"imported {self.created_items:,} new item(s); "
                f"{self.existing_items:,} already present"
            )
        return self.error
