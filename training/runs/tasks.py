"""Celery entry point of training runs (queue ``gpu``)."""

from celery import shared_task

from training.runs.services.execute import run_execute


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, name="training.run_execute")
def training_run_execute(self, run_id: int) -> str:
    """Launch the run's trainer and watch it to the end (see ``runs.services.execute``)."""
    run = run_execute(run_id, worker=self.request.hostname or "")
    return run.state if run else "skipped"
