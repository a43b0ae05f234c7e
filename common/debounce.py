"""Background passes asked for by many writes, run once per interval.

Submits, imports and setting changes each ask for a project's quality refresh, priority
pass or pre-ranking; the first ask after the transaction commits queues the task with a
countdown and takes a cache key for the interval, so later asks in it add nothing.
"""

import logging
import time

from django.core.cache import cache
from django.db import transaction

from common.queueing import task_send

logger = logging.getLogger(__name__)

# Keys this process knows to be taken: key -> when the cache key expires. An ask before
# then would find the key taken, so it is dropped here without a round trip to the cache
# (every submit asks for three passes; nearly all of them are such repeats).
_taken_until: dict[str, float] = {}


def taken_here(cache_key: str) -> bool:
    """Whether this process knows ``cache_key`` to be taken until later than now."""
    return _taken_until.get(cache_key, 0.0) > time.monotonic()


def remember_taken(cache_key: str, seconds: float) -> None:
    _taken_until[cache_key] = time.monotonic() + seconds


def forget_taken() -> None:
    """Forget every key (tests: the shared cache was just cleared)."""
    _taken_until.clear()


def run_soon(key: str, seconds: int, task_name: str, project_id: int) -> None:
    """Queue the task named ``task_name`` (``"annotation.quality_refresh"``) for the project
    after this transaction commits, at most once per ``seconds``. A broker or cache outage
    is logged, never raised: it must not fail the write that asked."""

    cache_key = f"preflab:{key}:{project_id}"

    def enqueue() -> None:
        if taken_here(cache_key):
            return
        try:
            if not cache.add(cache_key, 1, seconds):
                return
            remember_taken(cache_key, seconds)
            task_send(task_name, project_id, countdown=seconds)
        except Exception:
            logger.warning("could not queue %s for project %s", key, project_id, exc_info=True)

    transaction.on_commit(enqueue)
