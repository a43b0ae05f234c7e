"""Background jobs of every kind: one enqueue, one failure path, one reaper, one word on
why a job waits.

Imports, snapshots, training runs and generation jobs keep their own models and state
fields for now (one job model is issue #20); what must not differ between them lives here:

- ``job_enqueue`` stores a task id on the row, then sends the task by name; a broker that
  refuses it fails the job with the reason and raises a 503 error, so no row waits
  ``queued`` for ever behind a dead broker.
- ``job_fail`` records a failure unless the job already finished. The workers'
  ``task_failure`` handler (``common.workers``) calls it with the exception, so a task that
  dies before its service could say why (an import error, a lost database) still fails
  its job within a second.
- ``jobs_reap`` fails running jobs whose task no live worker holds (the whole worker was
  killed, the machine restarted): a worker marks each task it runs as alive in the shared
  cache and keeps the mark fresh while it runs (``common.workers``).
- ``job_waiting_reason`` says why an unfinished job does not move: no worker consumes its
  queue, or none is running it any more.

An app describes its kinds once, in its ``AppConfig.ready`` (``job_kind_register``).
"""

import logging
import time
import uuid
from dataclasses import dataclass

from celery import current_app
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from common.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)

QUEUED, RUNNING, FAILED, CANCELLED = "queued", "running", "failed", "cancelled"
UNFINISHED = (QUEUED, RUNNING)


@dataclass(frozen=True)
class JobKind:
    """How one kind of job is stored and run."""

    task: str  # the Celery task that runs it; its first argument is the job's id
    model: str  # "app_label.ModelName"
    state_field: str  # "status" or "state": queued / running / succeeded / failed / cancelled
    reason_field: str  # the text the page shows beside the state ("message", "error")
    queue: str  # where its task goes, unless the job chooses at enqueue (generation)
    noun: str  # what the page calls it: "import", "snapshot", "run", "generation job"
    # A function ("module.name") called with the job's id after the reaper, a failed task
    # or a cancel stopped a job no process ran (a snapshot's scratch folder is removed).
    on_stop: str = ""

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
    updated = kind.jobs.filter(pk=job_id, **{f"{kind.state_field}__in": states}).update(
        **{kind.state_field: FAILED, kind.reason_field: reason[:2000]},
        finished_at=timezone.now(),
    )
    return bool(updated)


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


def job_cancel_unattended(job, reason: str = "cancelled; no worker was running it") -> bool:
    """Cancel a running job at once when no live worker holds its task (a cancel request
    would wait for a listener that is gone); True when it did."""
    if not job_unattended(job):
        return False
    kind = job_kind_of(job)
    cancelled = kind.jobs.filter(pk=job.pk, **{kind.state_field: RUNNING}).update(
        **{kind.state_field: CANCELLED, kind.reason_field: reason}, finished_at=timezone.now()
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
    """Fail running jobs whose task no live worker holds; returns how many. ``restarted``
    is the name of a worker that has just started: the tasks it held before are gone at
    once, without waiting out ``lost_after_s``."""
    from common.workers import tasks_held

    reaped = 0
    for kind in list(_KINDS.values()):
        running = list(
            kind.jobs.filter(**{kind.state_field: RUNNING})
            .exclude(celery_task_id="")
            .values_list("pk", "celery_task_id")
        )
        if not running:
            continue
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
            if job_fail(kind, job_id, lost_reason(kind), states=(RUNNING,)):
                logger.warning("%s %s: %s", kind.noun, job_id, lost_reason(kind))
                reaped += 1
                kind.stopped(job_id)
            _missing_clear(kind, job_id)
    return reaped


def job_unattended(job) -> bool:
    """True when this job is running but no live worker holds its task: a cancel stops it
    at once, nobody being there to hear the request."""
    from common.workers import tasks_held

    kind = job_kind_of(job)
    if getattr(job, kind.state_field) != RUNNING or not job.celery_task_id:
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
    state = getattr(job, kind.state_field)
    if state == QUEUED:
        return queue_waiting(queue or kind.queue)
    if state == RUNNING and job_unattended(job):
        return Waiting(
            f"No worker is running this {kind.noun} any more (its worker stopped): it will "
            "be marked failed shortly, or cancel it now."
        )
    return None


def queue_waiting(queue: str) -> Waiting | None:
    """Why work sent to ``queue`` would wait: no worker consumes it, or every one there is
    busy with another job; None otherwise."""
    from common.workers import queue_busy, queue_consumed

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
