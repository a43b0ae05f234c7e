"""REST shapes of snapshots. Options are validated by ``training.datasets.export.options`` (one
place for the rules, with the field named in the error)."""

from django.urls import reverse
from rest_framework import serializers

from common.jobs import WAITING_HELP, JobState, job_waiting
from training.datasets.models import DatasetSnapshot, SnapshotFile
from training.datasets.services.snapshots import snapshot_progress


class SnapshotCreateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    client_token = serializers.CharField(required=False, max_length=64)
    formats = serializers.JSONField(required=False, help_text='["pairwise", "listwise", ...]')
    file_types = serializers.JSONField(required=False, help_text='["jsonl", "parquet"]')
    aggregation = serializers.CharField(required=False, help_text="consensus | per_annotator")
    splits = serializers.JSONField(required=False, help_text='{"train": 0.9, "test": 0.1}')
    seed = serializers.IntegerField(required=False)
    binarization = serializers.CharField(required=False)
    min_margin = serializers.FloatField(required=False)
    none_acceptable = serializers.CharField(required=False, help_text="exclude | flag")
    soft_labels = serializers.BooleanField(required=False)
    style = serializers.CharField(required=False, help_text="conversational | text")
    filters = serializers.JSONField(required=False)


class SnapshotFileSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = SnapshotFile
        fields = ["name", "format", "split", "file_type", "rows", "size", "sha256", "url"]

    def get_url(self, obj) -> str:
        path = reverse("api-snapshot-file", args=[obj.snapshot_id, obj.name])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class SnapshotSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    # None once the user is deleted, and for snapshots no user asked for (commands, demo).
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    # The API kept its name for the job's ``state``.
    status = serializers.ChoiceField(source="state", choices=JobState.choices, required=False)
    progress = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    waiting = serializers.SerializerMethodField(help_text=WAITING_HELP)

    class Meta:
        model = DatasetSnapshot
        fields = [
            "id",
            "project",
            "number",
            "name",
            "created_by",
            "status",
            "progress",
            "waiting",
            "options",
            "manifest",
            "files",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_progress(self, obj) -> dict:
        progress = snapshot_progress(obj)
        fraction = progress.done / progress.total if progress.total else 0.0
        return {"items_done": progress.done, "items_total": progress.total, "fraction": fraction}

    def get_waiting(self, obj) -> str | None:
        waiting = None if obj.is_finished else job_waiting(obj)
        return str(waiting) if waiting else None

    def get_files(self, obj) -> list[dict]:
        if obj.state != JobState.SUCCEEDED:
            return []
        return SnapshotFileSerializer(obj.files.all(), many=True, context=self.context).data
