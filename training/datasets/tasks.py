"""Celery entry point of exports (queue ``default``: CPU and database work)."""

from celery import shared_task

from training.datasets.services.snapshots import snapshot_export as run


@shared_task(acks_late=True, reject_on_worker_lost=True, name="training.export_snapshot")
def snapshot_export(snapshot_id: int) -> str:
    return run(snapshot_id=snapshot_id).state
