"""Celery entry points of the training app: thin, they load ids and call services.

Exports run on the ``default`` queue (CPU and database work); training runs on ``gpu``.
"""

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, name="training.export_snapshot")
def snapshot_export(snapshot_id: int) -> str:
    from training.services.snapshots import snapshot_export as run

    return run(snapshot_id=snapshot_id).status


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, name="training.run_execute")
def training_run_execute(self, run_id: int) -> str:
    """Launch the run's trainer and watch it to the end (see ``run_launcher``)."""
    from training.services.run_launcher import run_execute

    run = run_execute(run_id, worker=self.request.hostname or "")
    return run.state if run else "skipped"


@shared_task(name="training.score_responses")
def score_responses(path: str, prompt, responses: list) -> list[float]:
    """Rewards of responses with the reward model at ``path`` (for a torch-free web)."""
    from training.services.scoring import score_here

    return score_here(path, prompt, responses)


@shared_task(acks_late=True, name="training.project_prerank")
def project_prerank(project_id: int) -> int:
    """Score the project's unscored item responses with its reward model (pre-ranking)."""
    from training.services.prerank import project_prerank as run

    return run(project_id=project_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, name="training.generation_job_run")
def generation_job_run(job_id: int) -> str:
    """Answer a generation job's prompts (queued on ``gpu`` for local models)."""
    from training.services.generation_run import generation_job_run as run

    return run(job_id=job_id).state
