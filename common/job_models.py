"""The one background-job model: what every kind of job stores about its lifecycle.

Imports, snapshots, training runs and generation jobs inherit it; their lifecycle (enqueue
on commit, cancel, the failure handlers, the reaper, why a job waits) is in
``common.jobs`` and reads only these fields. Abstract: each kind keeps its own table.
"""

from django.db import models

from common.jobs import FINISHED, JobState


class BackgroundJob(models.Model):
    """A job a Celery worker runs: where it is, why it stopped, and its task."""

    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    # Why it failed or was cancelled, or what it did (an import's summary); the page shows
    # it beside the state.
    error = models.TextField(blank=True)
    # Asked to stop; its runner checks this (or the shared cache) at its next safe point.
    cancel_requested = models.BooleanField(default=False)
    # Stored before the task is sent, so the reaper can ask whether a live worker holds it.
    celery_task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED
