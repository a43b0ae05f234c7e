"""Items whose judgements changed since their figures were made, recomputed by a worker.

A submit only marks its item (``Item.stats_stale``, in the statement that counts the
submit) and asks for this pass after it commits (``stale_items_refresh_soon``), so the
annotator never waits for agreement, consensus or the gold check. The mark lives in the
database, not in the message: a lost or merged message leaves items stale until the
next pass (every project quality refresh runs one too), never wrong.
"""

from django.db import transaction

from annotation.models import Annotation, AnnotationKind, Item
from annotation.quality.models import ItemStats
from annotation.quality.services.gold import gold_score_check
from annotation.quality.services.item_quality import item_quality_refresh
from common.debounce import run_soon
from projects.models import Project

STALE_BATCH = 200
# A submit's figures show this soon after it (and many submits share one pass).
STALE_PASS_SECONDS = 1


def stale_items_refresh_soon(project_id: int) -> None:
    """Ask for a pass once this transaction commits, at most one per interval."""
    run_soon("stale-items", STALE_PASS_SECONDS, "annotation.stale_items_refresh", project_id)


def stale_items_refresh(*, project_id: int) -> int:
    """Recompute every stale item of the project; returns how many.

    Each item is its own short transaction with its row locked: a submit to it waits for
    the pass or is waited for, and one that lands after the pass marks it stale again.
    """
    done = 0
    while True:
        stale = Item.objects.filter(project_id=project_id, stats_stale=True).order_by("id")
        item_ids = list(stale.values_list("id", flat=True)[:STALE_BATCH])
        for item_id in item_ids:
            done += _item_refresh(project_id, item_id)
        if len(item_ids) < STALE_BATCH:
            return done


def stale_item_refresh_now(*, item_id: int) -> None:
    """Bring one item's figures up to date before they are shown (a page or the API reading
    an item a submit changed a moment ago, before the worker's pass)."""
    project_id = (
        Item.objects.filter(pk=item_id, stats_stale=True).values_list("project_id", flat=True)
    ).first()
    if project_id is not None:
        _item_refresh(project_id, item_id)


@transaction.atomic
def _item_refresh(project_id: int, item_id: int) -> int:
    locked = Item.objects.select_for_update().filter(pk=item_id, stats_stale=True)
    if locked.values_list("pk").first() is None:
        return 0  # another pass got here first
    before = ItemStats.objects.filter(item_id=item_id).values_list("updated_at", flat=True).first()
    stats = item_quality_refresh(item_id=item_id)
    Item.objects.filter(pk=item_id).update(stats_stale=False)
    if stats.basis.get("gold"):
        _gold_newcomers_check(project_id, item_id, before)
    return 1


def _gold_newcomers_check(project_id: int, item_id: int, before) -> None:
    """The gold score of each annotator who judged this gold item since its last figures:
    they, not everyone who ever judged it, may now have fallen below the threshold."""
    judged = Annotation.objects.filter(item_id=item_id, kind=AnnotationKind.JUDGEMENT)
    if before is not None:
        judged = judged.filter(created_at__gte=before)
    project = Project.objects.get(pk=project_id)
    for user_id in sorted(set(judged.values_list("user_id", flat=True))):
        gold_score_check(project=project, user_id=user_id)
