"""Celery entry points of quality control: thin, they load ids and call services."""

from celery import shared_task

from annotation.quality.services.annotator_quality import REFRESH_SECONDS
from annotation.quality.services.item_quality import items_quality_refresh as refresh_items
from annotation.quality.services.refresh import project_quality_refresh
from annotation.quality.services.stale_items import stale_items_refresh as refresh_stale


@shared_task(acks_late=True, name="annotation.quality_refresh")
def quality_refresh(project_id: int) -> dict:
    outcome = project_quality_refresh(project_id=project_id)
    if outcome.get("skipped"):
        # Another pass is running and may have started before the changes that asked
        # for this one: look again once it has had time to finish.
        quality_refresh.apply_async((project_id,), countdown=REFRESH_SECONDS)
    return outcome


@shared_task(acks_late=True, name="annotation.items_quality_refresh")
def items_quality_refresh(item_ids: list[int]) -> int:
    return refresh_items(item_ids=item_ids)


@shared_task(acks_late=True, name="annotation.stale_items_refresh")
def stale_items_refresh(project_id: int) -> int:
    return refresh_stale(project_id=project_id)
