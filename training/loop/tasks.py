"""Celery entry points of the model in the loop: thin, they load ids and call services.

Scoring, pre-ranking and generation run on ``gpu`` (models); the priority pass on
``default``.
"""

from celery import shared_task

from training.loop.services.acquisition import project_acquisition_refresh
from training.loop.services.generation_run import generation_job_run as run_generation
from training.loop.services.prerank import project_prerank as run_prerank
from training.loop.services.written_prompts import written_prompts_generate as answer_written
from training.runs.services.scoring import score_here


@shared_task(name="training.score_responses")
def score_responses(path: str, prompt, responses: list) -> list[float]:
    """Rewards of responses with the reward model at ``path`` (for a torch-free web)."""
    return score_here(path, prompt, responses)


@shared_task(acks_late=True, name="training.project_prerank")
def project_prerank(project_id: int) -> int:
    """Score the project's unscored item responses with its reward model (pre-ranking)."""
    return run_prerank(project_id=project_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, name="training.generation_job_run")
def generation_job_run(job_id: int) -> str:
    """Answer a generation job's prompts (queued on ``gpu`` for local models)."""
    return run_generation(job_id=job_id).state


@shared_task(acks_late=True, name="training.written_prompts_generate")
def written_prompts_generate(project_id: int, prompt_ids: list[int] | None = None) -> int | None:
    """Queue a generation job for written prompts that wait for a model's responses."""
    job = answer_written(project_id=project_id, prompt_ids=prompt_ids)
    return job.pk if job else None


# The task keeps its first name: queued messages and schedules name it so.
@shared_task(acks_late=True, name="annotation.acquisition_refresh")
def acquisition_refresh(project_id: int) -> dict:
    """Recompute the project's item priorities under its acquisition rule."""
    return project_acquisition_refresh(project_id=project_id)
