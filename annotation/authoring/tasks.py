"""Celery entry points of writing: thin, they load ids and call services."""

from celery import shared_task

from annotation.authoring.services.generation_jobs import prompt_responses_generate
from annotation.services.prompt_index import prompt_bands_backfill as backfill


@shared_task(acks_late=True, name="annotation.prompt_generate")
def prompt_generate(prompt_id: int) -> str:
    return prompt_responses_generate(prompt_id=prompt_id).status


@shared_task(acks_late=True, name="annotation.prompt_bands_backfill")
def prompt_bands_backfill(project_id: int) -> int:
    return backfill(project_id=project_id)
