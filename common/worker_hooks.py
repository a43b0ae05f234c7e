"""The worker side of jobs: Celery signal handlers and the beat thread of each worker.

The beat writes the marks ``common.workers`` reads (queues consumed, tasks held, torch
available), and reaps lost jobs when a worker starts and then every ``REAP_EVERY_S``
(``common.jobs.jobs_reap``). The handlers fail a job whose task failed (``task_failure``,
``task_revoked``). Imported by the Celery app (``config.celery``), never by the web.
"""

import logging
import threading
import time

from celery import signals
from celery.worker.state import active_requests
from django.db import close_old_connections

from common.jobs import job_fail, job_kind_for_task, jobs_reap
from common.workers import (
    BEAT_S,
    REAP_EVERY_S,
    TRAINING_STACK_FIX,
    queues_mark,
    task_hold,
    task_release,
    torch_imports,
)

logger = logging.getLogger(__name__)


class WorkerBeat(threading.Thread):
    """Signs of life of one worker, written every ``BEAT_S`` until it stops."""

    def __init__(self, hostname: str, queues: list[str]):
        super().__init__(name="preflab-worker-beat", daemon=True)
        self.hostname, self.queues = hostname, queues
        self.stopped = threading.Event()
        self.torch_ok: bool | None = None

    def run(self) -> None:
        self._safely(self.beat)
        self._safely(lambda: jobs_reap(restarted=self.hostname))
        last_reap = time.monotonic()
        torch_checked = 0.0
        while not self.stopped.is_set():
            # Asked again while missing: a `make ml` while the worker runs counts at once.
            if "gpu" in self.queues and not self.torch_ok and time.monotonic() > torch_checked:
                self.torch_ok = torch_imports()
                torch_checked = time.monotonic() + 60
            self._safely(self.beat)
            if time.monotonic() - last_reap >= REAP_EVERY_S:
                self._safely(jobs_reap)
                last_reap = time.monotonic()
            close_old_connections()
            self.stopped.wait(BEAT_S)

    def beat(self) -> None:

        held = list(active_requests)
        queues_mark(self.queues, self.hostname, idle=not held, torch_ok=self.torch_ok)
        for request in held:
            task_hold(request.id, self.hostname)

    def _safely(self, step) -> None:
        try:
            step()
        except Exception:
            logger.warning("worker beat: %s failed", getattr(step, "__name__", step), exc_info=True)


_beat: WorkerBeat | None = None


# --- signal handlers ------------------------------------------------------------------


@signals.worker_ready.connect
def _worker_ready(sender, **_) -> None:
    global _beat
    queues = sorted(sender.app.amqp.queues.consume_from or sender.app.amqp.queues)
    _beat = WorkerBeat(sender.hostname, queues)
    _beat.start()


@signals.worker_shutting_down.connect
def _worker_stopping(**_) -> None:
    if _beat is not None:
        _beat.stopped.set()


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, **_) -> None:
    try:
        task_hold(task_id, getattr(task.request, "hostname", "") or "")
    except Exception:
        logger.warning("could not mark task %s held", task_id, exc_info=True)


@signals.task_postrun.connect
def _task_ended(task_id=None, **_) -> None:
    try:
        task_release(task_id)
    except Exception:
        logger.warning("could not release task %s", task_id, exc_info=True)


def _job_id(args, kwargs) -> int | None:
    if args:
        return args[0]
    return next(iter((kwargs or {}).values()), None)


def _fail_job_of(task, args, kwargs, reason: str) -> None:
    kind = job_kind_for_task(getattr(task, "name", ""))
    job_id = _job_id(args, kwargs)
    if kind is None or job_id is None:
        return
    try:
        if job_fail(kind, job_id, reason):
            logger.warning("%s %s failed: %s", kind.noun, job_id, reason)
            kind.stopped(job_id)
    except Exception:
        logger.exception("could not mark %s %s failed", kind.noun, job_id)


@signals.task_failure.connect
def _task_failed(sender=None, exception=None, args=None, kwargs=None, **_) -> None:
    """A task that raised fails its job with the exception, unless its service already
    finished the job (an import error, a lost database: anything before it could)."""
    reason = f"the worker could not run it: {type(exception).__name__}: {exception}"
    if isinstance(exception, ModuleNotFoundError) and exception.name == "torch":
        reason += f". Install the training stack: {TRAINING_STACK_FIX}"
    _fail_job_of(sender, args, kwargs, reason)


@signals.task_revoked.connect
def _task_revoked(sender=None, request=None, terminated=False, expired=False, **_) -> None:
    how = "expired" if expired else "terminated" if terminated else "revoked"
    reason = f"its task was {how} before it finished"
    _fail_job_of(sender, getattr(request, "args", None), getattr(request, "kwargs", None), reason)
