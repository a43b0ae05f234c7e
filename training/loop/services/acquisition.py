"""Active learning: set item priorities by the project's acquisition rule, in the background.

The claim query already serves the highest ``Item.priority`` first; this pass only
rewrites priorities (and, for the disagreement rule, opens one more slot on items whose
consensus is unsure, up to the project's cap). It never runs inside a claim request:
reward-model passes and new annotations ask for it with ``acquisition_refresh_soon``.
The rules themselves are pure functions in ``training.loop.acquisition_rules``, shared
with ``benchmarks/active_learning.py``.
"""

import logging
from collections import defaultdict

from django.db import transaction
from django.db.models import F

from annotation.models import (
    Annotation,
    AnnotationKind,
    AnnotationStatus,
    Assignment,
    AssignmentState,
    Item,
    ItemResponse,
)
from common.debounce import run_soon
from projects.models import AcquisitionRule, Project
from training.loop import acquisition_rules as rules
from training.loop.models import ResponseScore

logger = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 5
TOP_UP_RULES = (AcquisitionRule.DISAGREEMENT, AcquisitionRule.MIX)


def acquisition_refresh_soon(project_id: int, *, rule: str | None = None) -> None:
    """Ask for a priority pass after this transaction commits (debounced, never inline).

    ``rule``: the project's acquisition rule when the caller holds the project already.
    """
    if rule is None:
        rule = (
            Project.objects.filter(pk=project_id).values_list("acquisition_rule", flat=True).first()
        )
    if rule and rule != AcquisitionRule.MANUAL:
        run_soon("acquisition", DEBOUNCE_SECONDS, "annotation.acquisition_refresh", project_id)


def _rankings(items) -> dict[int, list]:
    """Counted rankings per item of ``items`` (a queryset: no id lists in SQL)."""
    counted = Annotation.objects.filter(
        item__in=items.values("pk"), kind=AnnotationKind.JUDGEMENT, status=AnnotationStatus.ACTIVE
    ).exclude(ranking=[])
    rankings: dict[int, list] = defaultdict(list)
    for item_id, ranking in counted.values_list("item_id", "ranking").iterator(chunk_size=5000):
        rankings[item_id].append(ranking)
    return rankings


def item_scores(project: Project, items) -> dict[int, dict[int, float]]:
    """{item id: {response id: score}} under the project's reward model, for the items of
    ``items`` (a queryset) whose every response is scored."""
    if project.reward_model_id is None:
        return {}

    scored = ResponseScore.objects.filter(
        artifact_id=project.reward_model_id,
        response__in=ItemResponse.objects.filter(item__in=items.values("pk")).values("response_id"),
    ).values_list("response_id", "score")
    by_response = dict(scored.iterator(chunk_size=5000))
    responses: dict[int, list[int]] = defaultdict(list)
    pairs = ItemResponse.objects.filter(item__in=items.values("pk")).values_list(
        "item_id", "response_id"
    )
    for item_id, response_id in pairs.iterator(chunk_size=5000):
        responses[item_id].append(response_id)
    # An item counts as scored only when every one of its responses is.
    return {
        item_id: {rid: by_response[rid] for rid in ids}
        for item_id, ids in responses.items()
        if all(rid in by_response for rid in ids)
    }


def _top_up(project: Project, rankings: dict[int, list]) -> list[int]:
    """One more slot on each full, unsure item still under the cap; returns their ids."""
    full = [item_id for item_id, ranked in rankings.items() if len(ranked) >= 2]
    opened = []
    for start in range(0, len(full), 500):  # short locks, bounded SQL parameters
        opened += _top_up_chunk(project, full[start : start + 500], rankings)
    return opened


def _top_up_chunk(project: Project, full: list[int], rankings: dict[int, list]) -> list[int]:
    opened = []
    with transaction.atomic():
        locked = Item.objects.select_for_update().filter(
            pk__in=full, project=project, is_gold=False, open_slots__lte=0
        )
        candidates = {item.pk: item for item in locked}
        holders = defaultdict(int)
        for item_id in (
            Assignment.objects.filter(
                item_id__in=candidates,
                state__in=(AssignmentState.ACTIVE, AssignmentState.SUBMITTED),
            )
            .values_list("item_id", flat=True)
            .iterator(chunk_size=5000)
        ):
            holders[item_id] += 1
        for item_id, item in candidates.items():
            if rules.needs_another_annotator(
                rankings[item_id],
                annotators=holders[item_id],
                cap=project.disagreement_cap,
                threshold=project.disagreement_threshold,
            ):
                metadata = dict(item.metadata)
                metadata["extra_annotators"] = metadata.get("extra_annotators", 0) + 1
                Item.objects.filter(pk=item_id).update(
                    open_slots=F("open_slots") + 1, metadata=metadata
                )
                opened.append(item_id)
    return opened


def project_acquisition_refresh(*, project_id: int) -> dict:
    """Rewrite the priorities of the project's open items under its rule."""
    project = Project.objects.get(pk=project_id)
    rule = project.acquisition_rule
    if rule == AcquisitionRule.MANUAL:
        return {"rule": rule, "updated": 0, "opened": 0}
    judged = Item.objects.filter(
        project=project, is_gold=False, submitted_count__gte=2, open_slots__lte=0
    )
    opened = _top_up(project, _rankings(judged)) if rule in TOP_UP_RULES else []
    waiting = Item.objects.filter(project=project, is_gold=False, open_slots__gt=0)
    open_items = list(waiting.values_list("pk", "priority"))
    item_ids = [item_id for item_id, _ in open_items]
    rankings = _rankings(waiting)
    scores = item_scores(project, waiting)
    signals = [
        rules.ItemSignals(item_id, scores.get(item_id, {}), rankings.get(item_id, ()))
        for item_id in item_ids
    ]
    acquisition = rules.acquisition_scores(
        rule, signals, seed=project.pk, mix=project.acquisition_mix or None
    )
    wanted = rules.priorities(acquisition)
    changed = [
        Item(pk=item_id, priority=wanted[item_id])
        for item_id, current in open_items
        if wanted[item_id] != current
    ]
    Item.objects.bulk_update(changed, ["priority"], batch_size=2000)
    logger.info(
        "acquisition %s on %s: %d priorities changed, %d items opened to one more annotator",
        rule, project.slug, len(changed), len(opened),
    )  # fmt: skip
    return {"rule": rule, "updated": len(changed), "opened": len(opened)}
