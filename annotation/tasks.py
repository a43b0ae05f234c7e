"""Celery entry points for annotation work: thin, they load ids and call services."""

from celery import shared_task


@shared_task(acks_late=True, name="annotation.import_run")
def import_run(job_id: int) -> str:
    from annotation.services.imports import import_job_run

    return import_job_run(job_id=job_id).status


@shared_task(acks_late=True, name="annotation.prompt_generate")
def prompt_generate(prompt_id: int) -> str:
    from annotation.services.generation_jobs import prompt_responses_generate

    return prompt_responses_generate(prompt_id=prompt_id).status


@shared_task(acks_late=True, name="annotation.prompt_bands_backfill")
def prompt_bands_backfill(project_id: int) -> int:
    from annotation.services.prompt_index import prompt_bands_backfill as backfill

    return backfill(project_id=project_id)


@shared_task(acks_late=True, name="annotation.quality_refresh")
def quality_refresh(project_id: int) -> dict:
    from annotation.services.annotator_quality import REFRESH_SECONDS
    from annotation.services.quality_refresh import project_quality_refresh

    outcome = project_quality_refresh(project_id=project_id)
    if outcome.get("skipped"):
        # Another pass is running and may have started before the changes that asked
        # for this one: look again once it has had time to finish.
        quality_refresh.apply_async((project_id,), countdown=REFRESH_SECONDS)
    return outcome


@shared_task(acks_late=True, name="annotation.items_quality_refresh")
def items_quality_refresh(item_ids: list[int]) -> int:
    from annotation.services.item_quality import items_quality_refresh as refresh

    return refresh(item_ids=item_ids)


@shared_task(acks_late=True, name="annotation.acquisition_refresh")
def acquisition_refresh(project_id: int) -> dict:
    """Recompute the project's item priorities under its acquisition rule."""
    from annotation.services.acquisition import project_acquisition_refresh

    return project_acquisition_refresh(project_id=project_id)
