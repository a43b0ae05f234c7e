"""Dataset snapshots: one export of a project's annotations, its files and manifest."""

from django.conf import settings
from django.db import models

from common.job_models import BackgroundJob
from projects.models import Project


class DatasetSnapshot(BackgroundJob):
    """One export of a project, immutable once finished: its files, manifest and card
    are published together under ``path`` and never rewritten; a new export is a new
    snapshot."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="snapshots")
    number = models.PositiveIntegerField()  # 1, 2, ... within the project
    name = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # ExportOptions.as_dict(): formats, file types, aggregation, splits, seed, filters...
    options = models.JSONField()
    rows_done = models.BigIntegerField(default=0)  # items read, written at start and end
    rows_total = models.BigIntegerField(default=0)  # items to read
    manifest = models.JSONField(default=dict, blank=True)
    path = models.CharField(max_length=500, blank=True)  # folder in the default storage
    client_token = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="snapshot_number"),
            models.UniqueConstraint(
                fields=["project", "created_by", "client_token"], name="snapshot_client_token"
            ),
        ]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.project.slug} snapshot {self.number}"


class SnapshotFile(models.Model):
    """A published file of a snapshot (written only with the snapshot's success)."""

    snapshot = models.ForeignKey(DatasetSnapshot, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=200)  # "pairwise/train.jsonl", "README.md", ...
    format = models.CharField(max_length=16, blank=True)  # pairwise / listwise / ... / ""
    split = models.CharField(max_length=16, blank=True)
    file_type = models.CharField(max_length=16)  # jsonl / parquet / json / md
    rows = models.BigIntegerField(default=0)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "name"], name="snapshot_file_name"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
