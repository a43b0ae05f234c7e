"""Keep quality aggregates current as an item's judgements change.

A submit marks its item stale and a worker recomputes it (``stale_items_refresh``), so the
submit never waits; a revision or a review recomputes inside its own transaction. The item's
row is recomputed from its counted judgements (a handful: K ≤ 9 responses, a few
annotators), and the difference between the item's new and stored contributions to the
project, annotator and annotator-pair sums is appended to a log that ``quality_fold``
adds to those rows, so nothing rescans the project and submits share no row locks.

The caller holds the item's row lock, which also guards the item's stats row.
"""

from collections import Counter

from django.db import transaction
from django.db.models.functions import Length

from annotation.models import AnnotationKind, Item, ItemResponse
from annotation.quality.metrics.contributions import (
    Contribution,
    Judged,
    counter_delta,
    item_contribution,
    keyed_delta,
)
from annotation.quality.models import ItemStats
from annotation.quality.services.item_stats_sql import (
    delta_insert,
    item_row,
    judged_rows,
    stats_save,
)


def _judged(project_id: int, item_id: int) -> list[Judged]:
    """The item's counted judgements with their annotators' weights (one query)."""
    return [
        Judged(
            user=user,
            ranking=ranking,
            display=list(display),
            weight=1.0 if weight is None else weight,
            shown_shuffled=kind == AnnotationKind.JUDGEMENT,
        )
        for user, ranking, display, kind, weight in judged_rows(project_id, item_id)
        if ranking
    ]


def _lengths(item_id: int, basis: dict) -> dict[int, int]:
    if basis.get("lengths"):
        return {int(rid): n for rid, n in basis["lengths"].items()}
    return dict(
        ItemResponse.objects.filter(item_id=item_id)
        .annotate(length=Length("response__text"))
        .values_list("response_id", "length")
    )


def _pair_key(pair: tuple[int, int]) -> str:
    return f"{pair[0]},{pair[1]}"


def _serialize(contribution: Contribution) -> dict:
    return {
        "project": dict(contribution.project),
        "project_coincidences": dict(contribution.project_coincidences),
        "annotators": {str(u): dict(c) for u, c in contribution.annotators.items()},
        "pairs": {_pair_key(p): dict(c) for p, c in contribution.pairs.items()},
        "pair_coincidences": {
            _pair_key(p): dict(c) for p, c in contribution.pair_coincidences.items()
        },
    }


def _deserialize(data: dict) -> Contribution:
    def pair(key: str) -> tuple[int, int]:
        a, b = key.split(",")
        return int(a), int(b)

    return Contribution(
        project=Counter(data.get("project", {})),
        project_coincidences=Counter(data.get("project_coincidences", {})),
        annotators={int(u): Counter(c) for u, c in data.get("annotators", {}).items()},
        pairs={pair(k): Counter(c) for k, c in data.get("pairs", {}).items()},
        pair_coincidences={
            pair(k): Counter(c) for k, c in data.get("pair_coincidences", {}).items()
        },
    )


def _delta_append(project_id: int, new: Contribution, old: Contribution) -> None:
    """Log what the change adds to the shared sums; ``quality_fold`` applies it later."""
    annotators = keyed_delta(new.annotators, old.annotators)
    pairs = keyed_delta(new.pairs, old.pairs)
    pair_cells = keyed_delta(new.pair_coincidences, old.pair_coincidences)
    project_sums = counter_delta(new.project, old.project)
    project_cells = counter_delta(new.project_coincidences, old.project_coincidences)
    if not (annotators or pairs or pair_cells or project_sums or project_cells):
        return
    delta_insert(
        project_id,
        {
            "annotators": {str(u): sums for u, sums in annotators.items()},
            "pairs": {_pair_key(p): sums for p, sums in pairs.items()},
            "pair_coincidences": {_pair_key(p): cells for p, cells in pair_cells.items()},
            "project_sums": project_sums,
            "project_coincidences": project_cells,
        },
    )


def item_quality_refresh(*, item_id: int) -> ItemStats:
    """Recompute one item's stats and move every aggregate it feeds by the difference.

    Run inside the transaction that changed the item's judgements, with the item row
    already locked by the caller (submit and review lock it), so two changes to one
    item never interleave.
    """
    # The caller's lock on the item row also guards its stats row: every writer of
    # ItemStats comes through here with the item locked.
    item = item_row(item_id)
    lengths = _lengths(item_id, item.basis)
    gold = item.gold_ranking if item.is_gold else None
    figures, new = item_contribution(_judged(item.project_id, item_id), lengths=lengths, gold=gold)
    old = _deserialize(item.basis.get("contribution", {}))
    consensus = figures.consensus
    stats = stats_save(
        item_id,
        {
            "project": item.project_id,
            "judgements": figures.judgements,
            "pairs_same": figures.pairs_same,
            "pairs_total": figures.pairs_total,
            "agreement": (
                figures.pairs_same / figures.pairs_total if figures.pairs_total else None
            ),
            "kendall_w": figures.kendall_w,
            "tau_b_mean": figures.tau_b_mean,
            "consensus": consensus.ranking,
            "consensus_method": consensus.method,
            "consensus_scores": {str(k): v for k, v in consensus.scores.items()},
            "pair_confidence": {
                _pair_key(pair): p for pair, p in consensus.pair_confidence.items()
            },
            "basis": {
                "gold": bool(gold),
                "lengths": {str(k): v for k, v in lengths.items()},
                "contribution": _serialize(new),
            },
        },
    )
    _delta_append(item.project_id, new, old)
    return stats


def items_quality_refresh(*, item_ids: list[int]) -> int:
    """Refresh many items, each in its own short transaction with its row locked."""

    for item_id in item_ids:
        with transaction.atomic():
            Item.objects.select_for_update().filter(pk=item_id).values_list("pk").first()
            item_quality_refresh(item_id=item_id)
    return len(item_ids)
