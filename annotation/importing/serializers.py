"""REST shapes of imports: the upload in, the job (progress, errors) out."""

from rest_framework import serializers

from annotation.importing.models import ImportJob
from common.jobs import WAITING_HELP, JobState, job_waiting
from common.progress import progress_read


class ImportInputSerializer(serializers.Serializer):
    file = serializers.FileField()
    batch = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ImportJobSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.slug")
    # The API kept its names for the job's ``state``, and for the line beside it.
    status = serializers.ChoiceField(source="state", choices=JobState.choices, required=False)
    message = serializers.CharField(required=False, allow_blank=True)
    status_url = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    waiting = serializers.SerializerMethodField(help_text=WAITING_HELP)

    class Meta:
        model = ImportJob
        fields = [
            "id", "project", "original_name", "file_format", "file_size", "batch_name",
            "status", "total_rows", "created_items", "existing_items", "error_count",
            "errors", "message", "progress", "waiting", "created_at", "started_at",
            "finished_at", "status_url",
        ]  # fmt: skip

    def get_waiting(self, job) -> str | None:
        waiting = None if job.is_finished else job_waiting(job)
        return str(waiting) if waiting else None

    def get_status_url(self, job) -> str:
        return f"/api/v1/imports/{job.pk}/"

    def get_progress(self, job) -> dict | None:
        progress = progress_read("import", job.pk)
        if progress is None:
            return None
        return {"phase": progress.phase, "done": progress.done, "total": progress.total}
