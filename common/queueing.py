"""Send Celery tasks by name: services never import a ``tasks`` module.

A task name (``"annotation.quality_refresh"``) is the one thing a sender and a worker
share, so a service in a lower layer can ask for work whose entry point lives higher
up, and no import cycle runs through the tasks modules.
"""

from celery import current_app
from celery.result import AsyncResult
from django.db import transaction


def task_send(name: str, *args, **options) -> AsyncResult:
    """Queue the task now; ``options`` are Celery's (``queue``, ``countdown``, ``task_id``)."""
    return current_app.send_task(name, args=args, **options)


def task_send_on_commit(name: str, *args, **options) -> None:
    """Queue the task once the current transaction commits (at once outside one), so the
    worker never looks for rows that are not there yet."""
    transaction.on_commit(lambda: task_send(name, *args, **options))
