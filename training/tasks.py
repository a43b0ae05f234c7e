"""Celery entry points of the training app: thin, they load ids and call services.

Exports run on the ``default`` queue (CPU and database work); training tasks, when they
arrive, run on ``gpu``.
"""

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, name="training.export_snapshot")
def snapshot_export(snapshot_id: int) -> str:
    from training.services.snapshots import snapshot_export as run

    return run(snapshot_id=snapshot_id).status
