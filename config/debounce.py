"""Background passes asked for by many writes, run once per interval.

Submits, imports and setting changes each ask for a project's quality refresh, priority
pass or pre-ranking; the first ask after the transaction commits queues the task with a
countdown and takes a cache key for the interval, so later asks in it add nothing.
"""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def run_soon(key: str, seconds: int, task_path: str, project_id: int) -> None:
    """Queue ``task_path`` (``"app.tasks.name"``) for the project after this transaction
    commits, at most once per ``seconds``. A broker or cache outage is logged, never raised:
    it must not fail the write that asked."""

    def enqueue() -> None:
        from django.core.cache import cache
        from django.utils.module_loading import import_string

        try:
            if not cache.add(f"preflab:{key}:{project_id}", 1, seconds):
                return
            import_string(task_path).apply_async((project_id,), countdown=seconds)
        except Exception:
            logger.warning("could not queue %s for project %s", key, project_id, exc_info=True)

    transaction.on_commit(enqueue)
