"""Celery entry points of writing: thin, they load ids and call services."""

from celery import shared_task

from annotation.services.prompt_index import prompt_bands_backfill as backfill


@shared_task(acks_late=True, name="annotation.prompt_bands_backfill")
def prompt_bands_backfill(project_id: int) -> int:
    return backfill(project_id=project_id)
