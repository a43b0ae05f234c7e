"""What the Celery workers tell the web, and the worker-side signal handlers of jobs.

A worker with ``--pool=solo`` (the embedded default, one task at a time) answers no
control command while it runs a task, so asking Celery alone (``inspect()``) would call a
busy worker dead. Each worker therefore writes its own signs of life to the shared cache
from a thread, every ``BEAT_S``: the queues it consumes, whether ``torch`` imports there
(gpu workers), and the tasks it holds. ``inspect().active_queues()`` is asked only when no
worker wrote anything for a queue (a worker outside PrefLab's hooks), at most once per
``INSPECT_CACHE_S`` for all pages, and for at most ``INSPECT_TIMEOUT_S``.

The handlers connected here fail a job whose task failed (``task_failure``, ``task_revoked``)
and reap lost jobs when a worker starts and then every ``REAP_EVERY_S``
(``config.jobs.jobs_reap``). Nothing here imports torch: the check runs in a subprocess.
"""

import logging
import subprocess
import sys
import threading
import time

from celery import signals
from django.core.cache import cache

logger = logging.getLogger(__name__)

BEAT_S = 5.0
MARK_TTL_S = 15  # three beats: a mark outlives a late beat, not a dead worker
REAP_EVERY_S = 30.0
INSPECT_TIMEOUT_S = 1.0
INSPECT_CACHE_S = 10
TORCH_CHECK = "import torch, transformers"
TRAINING_STACK_FIX = (
    'make ml (or .venv/bin/pip install torch==2.13.0 && .venv/bin/pip install -e ".[ml]") '
    "on the gpu worker's machine, then restart the worker"
)


def _queue_key(queue: str) -> str:
    return f"preflab:queue:{queue}:worker"


def _torch_key(queue: str, ok: bool) -> str:
    return f"preflab:queue:{queue}:torch:{'yes' if ok else 'no'}"


def _idle_key(queue: str) -> str:
    return f"preflab:queue:{queue}:idle"


def _task_key(task_id: str) -> str:
    return f"preflab:task:{task_id}:held"


# --- reads (web and workers) ---------------------------------------------------------


def queue_consumed(queue: str) -> bool:
    """Whether a live worker consumes ``queue``; True when the cache cannot say (it is
    down), so an outage never invents a missing worker."""
    try:
        if cache.get(_queue_key(queue)):
            return True
    except Exception:
        logger.warning("cache unreachable; cannot tell who consumes %s", queue)
        return True
    return queue in _inspected_queues()


def queue_busy(queue: str) -> bool:
    """Whether every live worker on ``queue`` is running a task (none said it was idle in
    the last ``MARK_TTL_S``): queued work there waits its turn."""
    try:
        return bool(cache.get(_queue_key(queue))) and not cache.get(_idle_key(queue))
    except Exception:
        return False


def _inspected_queues() -> set[str]:
    """The queues Celery's control answers name, remembered for every page a while."""
    try:
        known = cache.get("preflab:inspect:queues")
        if known is not None:
            return set(known)
        if not cache.add("preflab:inspect:asking", 1, INSPECT_CACHE_S):
            return set()  # another request is asking right now: no second wait
    except Exception:
        return set()
    try:
        from config.celery import app

        replies = app.control.inspect(timeout=INSPECT_TIMEOUT_S).active_queues() or {}
        found = sorted({q["name"] for queues in replies.values() for q in queues or []})
    except Exception:
        logger.warning("could not ask the workers for their queues", exc_info=True)
        found = []
    cache.set("preflab:inspect:queues", found, INSPECT_CACHE_S)
    return set(found)


def training_unavailable_reason() -> str:
    """Why no run can train, when the gpu workers said so (torch does not import there);
    "" when one can, or when no gpu worker has said anything yet."""
    try:
        if cache.get(_torch_key("gpu", True)) or not cache.get(_torch_key("gpu", False)):
            return ""
    except Exception:
        return ""
    return (
        "The workers on the gpu queue have no training stack (torch does not import "
        f"there), so no run can train. Install it: {TRAINING_STACK_FIX}."
    )


def tasks_held(task_ids: list[str]) -> dict[str, str]:
    """Task id → the worker holding it, for those of ``task_ids`` a live worker runs.
    When the cache is down every task counts as held: nothing is reaped blind."""
    if not task_ids:
        return {}
    try:
        found = cache.get_many([_task_key(t) for t in task_ids])
    except Exception:
        logger.warning("cache unreachable; tasks count as held")
        return dict.fromkeys(task_ids, "?")
    by_key = {_task_key(t): t for t in task_ids}
    return {by_key[key]: holder for key, holder in found.items()}


# --- writes (workers) -----------------------------------------------------------------


def task_hold(task_id: str, hostname: str) -> None:
    cache.set(_task_key(task_id), hostname or "?", MARK_TTL_S)


def task_release(task_id: str) -> None:
    cache.delete(_task_key(task_id))


def torch_imports() -> bool:
    """Whether ``torch`` (and transformers) import in this worker's environment, asked of
    a child interpreter so the worker itself loads nothing."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", TORCH_CHECK], capture_output=True, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


class WorkerBeat(threading.Thread):
    """Signs of life of one worker, written every ``BEAT_S`` until it stops."""

    def __init__(self, hostname: str, queues: list[str]):
        super().__init__(name="preflab-worker-beat", daemon=True)
        self.hostname, self.queues = hostname, queues
        self.stopped = threading.Event()
        self.torch_ok: bool | None = None

    def run(self) -> None:
        from django.db import close_old_connections

        from config.jobs import jobs_reap

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
        from celery.worker.state import active_requests

        record = {"hostname": self.hostname, "at": time.time()}
        held = list(active_requests)
        for queue in self.queues:
            cache.set(_queue_key(queue), record, MARK_TTL_S)
            if not held:  # one idle worker is enough for the queue not to be all busy
                cache.set(_idle_key(queue), self.hostname, MARK_TTL_S)
            if queue == "gpu" and self.torch_ok is not None:
                cache.set(_torch_key(queue, self.torch_ok), self.hostname, MARK_TTL_S)
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
    from config.jobs import job_fail, job_kind_for_task

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
