"""Background jobs of every kind: one enqueue, one failure path, one reaper, one word on
why a job waits.

Imports, snapshots, training runs and generation jobs are one kind of row
(``common.job_models.BackgroundJob``: ``state`` in ``JobState``, the reason in ``error``)
and share one lifecycle, kept here:

- ``job_enqueue_on_commit`` (the services' one way in) sends the task once the row is
  committed; ``job_enqueue`` stores a task id on the row, then sends the task by name; a
  broker that refuses it fails the job with the reason and raises a 503 error, so no row
  waits ``queued`` for ever behind a dead broker.
- ``job_cancel`` applies the rules every kind shares: a queued job is cancelled at once, a
  running one is asked to stop (the shared cache and ``cancel_requested``), and one no
  live worker holds any more is cancelled at once, nobody being there to hear. Its
  runner asks ``job_cancel_heard`` at each safe point.
- ``job_fail`` records a failure unless the job already finished. The workers'
  ``task_failure`` handler (``common.workers``) calls it with the exception, so a task that
  dies before its service could say why (an import error, a lost database) still fails
  its job within a second.
- ``jobs_reap`` fails running jobs whose task no live worker holds (the whole worker was
  killed, the machine restarted): a worker marks each task it runs as alive in the shared
  cache and keeps the mark fresh while it runs (``common.workers``). A kind that beats on
  its row (a training run's launcher) is also failed once its beat is older than its
  limit. The workers run it in the background (``common.worker_hooks``); never a page.
- ``job_waiting_reason`` says why an unfinished job does not move: no worker consumes its
  queue, or none is running it any more.

An app describes its kinds once, in its ``AppConfig.ready`` (``job_kind_register``).
"""

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from common.errors import ConflictError, ServiceUnavailableError
from common.progress import cancel_request, cancel_requested
from common.workers import queue_busy, queue_consumed, tasks_held

logger = logging.getLogger(__name__)


class JobState(models.TextChoices):
    """Where a background job of any kind is; the same words on every page."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


UNFINISHED = (JobState.QUEUED, JobState.RUNNING)
FINISHED = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class JobKind:
    """How one kind of job is stored and run."""

    task: str  # the Celery task that runs it; its first argument is the job's id
    model: str  # "app_label.ModelName", a subclass of common.job_models.BackgroundJob
    queue: str  # where its task goes, unless the job chooses at enqueue (generation)
    noun: str  # what the page calls it: "import", "snapshot", "run", "generation job"
    # The job's key in the shared cache (common.progress) where its runner hears a
    # cancel; "" when it reads only ``cancel_requested`` on its row (a run's launcher).
    progress: str = ""
    # A function ("module.name") called with the job's id after the reaper, a failed task
    # or a cancel stopped a job no process ran (a snapshot's scratch folder is removed).
    on_stop: str = ""
    # A kind whose runner beats on its row (``heartbeat_at``): the setting that holds the
    # seconds of silence after which the reaper fails it, and the reason it gives then
    # (``{seconds}`` is filled in).
    heartbeat_setting: str = ""
    heartbeat_reason: str = ""

    @property
    def jobs(self) -> QuerySet:
        return apps.get_model(self.model)._default_manager.all()

    def stopped(self, job_id: int) -> None:
        """Clean up after a job that no process will finish."""
        if self.on_stop:
            import_string(self.on_stop)(job_id)


_KINDS: dict[str, JobKind] = {}


def job_kind_register(kind: JobKind) -> None:
    """Make a kind known to the enqueue, the failure handler and the reaper."""
    _KINDS[kind.task] = kind


def job_kind_for_task(task_name: str) -> JobKind | None:
    return _KINDS.get(task_name)


def job_kind_of(job) -> JobKind:
    label = job._meta.label
    return next(kind for kind in _KINDS.values() if kind.model == label)


def job_fail(kind: JobKind, job_id: int, reason: str, *, states=UNFINISHED) -> bool:
    """Mark the job failed with ``reason`` unless it has finished (or left ``states``);
    True when this call failed it."""
    updated = kind.jobs.filter(pk=job_id, state__in=states).update(
        state=JobState.FAILED, error=reason[:2000], finished_at=timezone.now()
    )
    return bool(updated)


def job_enqueue_on_commit(job, *, queue: str | None = None) -> None:
    """Send the job's task once the current transaction commits (at once outside one), so
    the worker never looks for a row that is not there yet; how every service queues a
    job. ``queue`` overrides the kind's (a generation job of local models goes to gpu)."""
    task, job_id = job_kind_of(job).task, job.pk
    transaction.on_commit(lambda: job_enqueue(task, job_id, queue=queue))


def job_enqueue(task: str, job_id: int, *, queue: str | None = None) -> str:
    """Send the job's task (by name) to its queue; returns the task id. When the broker
    refuses it, fails the job with the reason and raises ServiceUnavailableError (503)."""
    kind = _KINDS[task]
    # The id is on the row before the task exists, so a worker that starts it at once
    # (or the reaper) always finds it.
    task_id = str(uuid.uuid4())
    kind.jobs.filter(pk=job_id).update(celery_task_id=task_id)
    try:
        current_app.send_task(task, args=(job_id,), queue=queue or kind.queue, task_id=task_id)
    except Exception as exc:
        logger.exception("could not queue %s %s", kind.noun, job_id)
        why = f"{type(exc).__name__}: {exc}"
        job_fail(kind, job_id, f"the job queue refused it ({why}); start it again once it is back")
        raise ServiceUnavailableError(
            f"The job queue (the Celery broker) is unreachable, so {kind.noun} {job_id} could "
            f"not start and was marked failed ({why}). Try again once the broker is back.",
            extra={"job": job_id},
        ) from exc
    return task_id


def job_cancel(job, *, unattended_reason: str = "cancelled; its worker had stopped"):
    """Cancel a job of any kind and return it as it now is: a queued job is cancelled at
    once; a running one is asked to stop (through the shared cache, where its runner
    listens, and ``cancel_requested`` on its row) and stops at its next safe point; a
    running one that no live worker holds any more is cancelled at once with
    ``unattended_reason``, nobody being there to hear the request. A finished job is a
    conflict."""
    kind = job_kind_of(job)
    if job.is_finished:
        raise ConflictError(f"the {kind.noun} has already {job.get_state_display().lower()}")
    if kind.progress:
        # First: with the cache down this raises (503) before anything changed.
        cancel_request(kind.progress, job.pk)
    kind.jobs.filter(pk=job.pk).update(cancel_requested=True)
    kind.jobs.filter(pk=job.pk, state=JobState.QUEUED).update(
        state=JobState.CANCELLED, error="cancelled before it started", finished_at=timezone.now()
    )
    job_cancel_unattended(job, unattended_reason)
    job.refresh_from_db()
    return job


def job_cancel_heard(job) -> bool:
    """Whether the job was asked to stop, for its runner at each safe point: the shared
    cache says at once; the row says it too, should the cache have lost the key (evicted,
    or flushed)."""
    kind = job_kind_of(job)
    if kind.progress and cancel_requested(kind.progress, job.pk):
        return True
    return kind.jobs.filter(pk=job.pk, cancel_requested=True).exists()


def job_cancel_unattended(job, reason: str = "cancelled; no worker was running it") -> bool:
    """Cancel a running job at once when no live worker holds its task (a cancel request
    would wait for a listener that is gone); True when it did."""
    if not job_unattended(job):
        return False
    kind = job_kind_of(job)
    cancelled = kind.jobs.filter(pk=job.pk, state=JobState.RUNNING).update(
        state=JobState.CANCELLED, error=reason, finished_at=timezone.now()
    )
    if cancelled:
        kind.stopped(job.pk)
    return bool(cancelled)


# --- lost jobs ------------------------------------------------------------------------


def lost_after_s() -> int:
    """Seconds a running job's task may be missing from every live worker before it
    counts as lost: longer than a redelivery takes (a pool child killed, its task back
    in the queue and started again), so a redelivered job is kept."""
    return int(getattr(settings, "PREFLAB_JOB_LOST_SECONDS", 60))


def _missing_since(kind: JobKind, job_id: int) -> float:
    """When this job's task was first seen held by no worker (now, if this is the first
    look); the mark lives in the cache, where every reaper sees it."""
    key = f"preflab:job-missing:{kind.model}:{job_id}"
    now = time.time()
    cache.add(key, now, 24 * 3600)
    return float(cache.get(key) or now)


def _missing_clear(kind: JobKind, job_id: int) -> None:
    cache.delete(f"preflab:job-missing:{kind.model}:{job_id}")


def lost_reason(kind: JobKind) -> str:
    return (
        f"the worker running this {kind.noun} stopped (killed, or its machine restarted) "
        "and no worker holds its task any more"
    )


def jobs_reap(*, restarted: str = "") -> int:
    """Fail running jobs that nothing runs any more; returns how many. A job is lost when
    no live worker has held its task for ``lost_after_s`` or, for a kind that beats on its
    row, when its beat is older than the kind's limit. ``restarted`` is the name of a
    worker that has just started: the tasks it held before are gone at once, without
    waiting out ``lost_after_s``. Run in the background by every worker's beat thread,
    never by a page."""
    reaped = 0
    for kind in list(_KINDS.values()):
        reaped += _reap_unheld(kind, restarted) + _reap_silent(kind)
    return reaped


def _reap_unheld(kind: JobKind, restarted: str) -> int:
    running = list(
        kind.jobs.filter(state=JobState.RUNNING)
        .exclude(celery_task_id="")
        .values_list("pk", "celery_task_id")
    )
    if not running:
        return 0
    reaped = 0
    holders = tasks_held([task_id for _, task_id in running])
    for job_id, task_id in running:
        holder = holders.get(task_id)
        if holder and holder != restarted:
            _missing_clear(kind, job_id)
            continue
        if holder != restarted:
            since = _missing_since(kind, job_id)
            if time.time() - since < lost_after_s():
                continue
        if job_fail(kind, job_id, lost_reason(kind), states=(JobState.RUNNING,)):
            logger.warning("%s %s: %s", kind.noun, job_id, lost_reason(kind))
            reaped += 1
            kind.stopped(job_id)
        _missing_clear(kind, job_id)
    return reaped


def _reap_silent(kind: JobKind) -> int:
    """Fail the kind's running jobs whose runner stopped beating on the row (a training
    run's launcher beats every second; its worker died, or the command running it)."""
    if not kind.heartbeat_setting:
        return 0
    seconds = int(getattr(settings, kind.heartbeat_setting))
    now = timezone.now()
    silent = kind.jobs.filter(
        state=JobState.RUNNING, heartbeat_at__lt=now - timedelta(seconds=seconds)
    )
    reason = kind.heartbeat_reason.format(seconds=seconds)[:2000]
    reaped = 0
    for job_id in list(silent.values_list("pk", flat=True)):
        # The same conditions again in the UPDATE: a beat that lands meanwhile keeps it.
        if silent.filter(pk=job_id).update(state=JobState.FAILED, error=reason, finished_at=now):
            logger.warning("%s %s: %s", kind.noun, job_id, reason)
            reaped += 1
            kind.stopped(job_id)
    return reaped


def job_unattended(job) -> bool:
    """True when this job is running but no live worker holds its task: a cancel stops it
    at once, nobody being there to hear the request."""
    if job.state != JobState.RUNNING or not job.celery_task_id:
        return False  # queued: cancelled at once anyway; no task: a command runs it
    return not tasks_held([job.celery_task_id])


# --- why a job waits ------------------------------------------------------------------


WAITING_HELP = (
    "Why the unfinished job does not move, when PrefLab can tell: no worker consumes its "
    "queue (with the command that starts one), every worker there is busy with another "
    "job, or no worker runs it any more; null otherwise."
)


@dataclass(frozen=True)
class Waiting:
    """Why an unfinished job does not move, and the command that would move it."""

    text: str
    command: str = ""

    def __str__(self) -> str:
        return f"{self.text} Start one: `{self.command}`" if self.command else self.text


def job_waiting(job, *, queue: str | None = None) -> Waiting | None:
    """Why this unfinished job does not move, for its page and its API answer: no worker
    consumes its queue, or no worker runs it any more; None when PrefLab sees nothing
    wrong. Reads the cache only (what the workers wrote), never asks a worker per job."""
    kind = job_kind_of(job)
    if job.state == JobState.QUEUED:
        return queue_waiting(queue or kind.queue)
    if job.state == JobState.RUNNING and job_unattended(job):
        return Waiting(
            f"No worker is running this {kind.noun} any more (its worker stopped): it will "
            "be marked failed shortly, or cancel it now."
        )
    return None


def queue_waiting(queue: str) -> Waiting | None:
    """Why work sent to ``queue`` would wait: no worker consumes it, or every one there is
    busy with another job; None otherwise."""
    if not queue_consumed(queue):
        return Waiting(
            f"No worker is consuming the {queue} queue.",
            f".venv/bin/celery -A config worker -Q {queue}",
        )
    if queue_busy(queue):
        return Waiting(
            f"Every worker on the {queue} queue is busy with another job; work there "
            "starts when one is free."
        )
    return None
