"""Gold items: items with a known ranking, mixed into queues to measure annotators.

A gold item sits outside the overlap pool: every annotator may get it once, served at
the project's gold rate by the claim. Nothing on the page or in the API tells it apart
from any other item; only its annotations' agreement with the known ranking (the gold
score) is different. A score below the project's threshold alerts managers and, if
the project says so, pauses the annotator from claiming until a manager resumes them.
"""

from django.db import transaction
from django.utils import timezone

from annotation.models import (
    Annotation,
    AnnotationStatus,
    Assignment,
    AssignmentState,
    Item,
    ItemResponse,
)
from annotation.quality.models import AlertKind, QualityAlert
from annotation.quality.services.fold import annotator_sums_now
from annotation.quality.services.item_quality import item_quality_refresh
from annotation.services.judgements import tiers_check
from common.errors import NotFoundError
from projects.models import Membership, Project


def _item_in_project(item_id: int, project: Project) -> Item:
    item = Item.objects.select_for_update().filter(pk=item_id, project=project).first()
    if item is None:
        raise NotFoundError(f"no item {item_id} in this project")
    return item


@transaction.atomic
def item_gold_mark(*, project: Project, item_id: int, ranking: list) -> Item:
    """Make the item gold with the given ranking (tiers of its response ids, best first)."""
    item = _item_in_project(item_id, project)
    response_ids = list(
        ItemResponse.objects.filter(item=item).values_list("response_id", flat=True)
    )
    item.gold_ranking = tiers_check(ranking, response_ids, ties_allowed=True)
    item.is_gold = True
    item.save(update_fields=["gold_ranking", "is_gold"])
    item_quality_refresh(item_id=item.pk)
    for user_id in Annotation.objects.filter(item=item).values_list("user_id", flat=True):
        gold_score_check(project=project, user_id=user_id)
    return item


@transaction.atomic
def item_gold_unmark(*, project: Project, item_id: int) -> Item:
    """Return a gold item to the ordinary pool with its overlap slots recounted."""
    item = _item_in_project(item_id, project)
    counted = Annotation.objects.filter(item=item, status=AnnotationStatus.ACTIVE).count()
    leased = Assignment.objects.filter(item=item, state=AssignmentState.ACTIVE).count()
    item.is_gold = False
    item.gold_ranking = None
    item.open_slots = project.overlap - counted - leased
    item.save(update_fields=["is_gold", "gold_ranking", "open_slots"])
    item_quality_refresh(item_id=item.pk)
    return item


def gold_score_check(*, project: Project, user_id: int) -> QualityAlert | None:
    """Alert (and pause, if the project says so) an annotator whose gold score is too low."""
    sums = annotator_sums_now(project_id=project.pk, user_id=user_id)
    if sums["gold_items"] < project.gold_min_answers or not sums["gold_total"]:
        return None
    score = sums["gold_same"] / sums["gold_total"]
    if score >= project.gold_threshold:
        return None
    message = (
        f"gold score {score:.0%} over {sums['gold_items']} gold items, "
        f"below the project's {project.gold_threshold:.0%}"
    )
    alert, _ = QualityAlert.objects.get_or_create(
        project=project,
        user_id=user_id,
        kind=AlertKind.GOLD_LOW,
        resolved_at=None,
        defaults={"message": message},
    )
    if project.gold_pause:
        Membership.objects.filter(project=project, user_id=user_id, paused_at=None).update(
            paused_at=timezone.now(), paused_reason=message
        )
    return alert


@transaction.atomic
def annotator_resume(*, project: Project, user_id: int, by) -> int:
    """Let a paused annotator claim again and close their open alerts; returns alerts closed."""
    Membership.objects.filter(project=project, user_id=user_id).update(
        paused_at=None, paused_reason=""
    )
    return QualityAlert.objects.filter(project=project, user_id=user_id, resolved_at=None).update(
        resolved_at=timezone.now(), resolved_by=by
    )
