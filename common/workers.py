"""What the Celery workers tell the web: which queues they consume, what they hold.

A worker with ``--pool=solo`` (the embedded default, one task at a time) answers no
control command while it runs a task, so asking Celery alone (``inspect()``) would call a
busy worker dead. Each worker therefore writes its own signs of life to the shared cache
from a thread, every ``BEAT_S``: the queues it consumes, whether ``torch`` imports there
(gpu workers), and the tasks it holds. ``inspect().active_queues()`` is asked only when no
worker wrote anything for a queue (a worker outside PrefLab's hooks), at most once per
``INSPECT_CACHE_S`` for all pages, and for at most ``INSPECT_TIMEOUT_S``.

The worker side that writes these marks is ``common.worker_hooks``. Nothing here imports
torch: the check runs in a subprocess.
"""

import logging
import subprocess
import sys
import time

from celery import current_app
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


def queues_mark(queues, hostname: str, *, idle: bool, torch_ok: bool | None) -> None:
    """A worker's beat: it consumes ``queues``, is ``idle`` or not, and on ``gpu`` can (or
    cannot) import torch. Marks live ``MARK_TTL_S``; one idle worker is enough for a
    queue not to be all busy."""
    record = {"hostname": hostname, "at": time.time()}
    for queue in queues:
        cache.set(_queue_key(queue), record, MARK_TTL_S)
        if idle:
            cache.set(_idle_key(queue), hostname, MARK_TTL_S)
        if queue == "gpu" and torch_ok is not None:
            cache.set(_torch_key(queue, torch_ok), hostname, MARK_TTL_S)


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
        replies = current_app.control.inspect(timeout=INSPECT_TIMEOUT_S).active_queues() or {}
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
