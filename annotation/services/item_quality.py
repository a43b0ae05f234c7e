"""Keep quality aggregates current as an item's judgements change.

Called inside the transaction that changed them (submit, revise, review). The item's
row is recomputed from its counted judgements (a handful: K ≤ 9 responses, a few
annotators), and the project, annotator and annotator-pair sums move by the difference
between the item's new and stored contributions, so nothing rescans the project.

Lock order, to stay free of deadlocks between concurrent submits: the item (taken by
the caller), its stats row, annotator rows by user id, pair rows by user ids, and last
the project shard.
"""

from collections import Counter

from django.db.models import F
from django.db.models.functions import Length

from annotation.metrics.contributions import (
    Contribution,
    Judged,
    counter_delta,
    item_contribution,
    keyed_delta,
)
from annotation.models import (
    Annotation,
    AnnotationKind,
    AnnotationStatus,
    AnnotatorPairStats,
    AnnotatorStats,
    Item,
    ItemResponse,
    ItemStats,
    ProjectStatsShard,
)
from annotation.models_quality import PROJECT_STATS_SHARDS

ANNOTATOR_SUMS = (
    "judgements",
    "loo_same",
    "loo_total",
    "gold_same",
    "gold_total",
    "gold_items",
    "first_top",
    "first_expected",
    "first_variance",
    "length_tau_sum",
    "length_tau_n",
)
PAIR_SUMS = ("items", "pairs_same", "pairs_total", "tau_sum", "tau_n")
PROJECT_SUMS = ("items_multi", "pairs_same", "pairs_total", "w_sum", "w_n", "tau_sum", "tau_n")


def _judged(item: Item) -> list[Judged]:
    rows = list(
        Annotation.objects.filter(item_id=item.pk, status=AnnotationStatus.ACTIVE).values_list(
            "user_id", "ranking", "display_order", "kind"
        )
    )
    weights = dict(
        AnnotatorStats.objects.filter(
            project_id=item.project_id, user_id__in=[row[0] for row in rows]
        ).values_list("user_id", "weight")
    )
    return [
        Judged(
            user=user,
            ranking=ranking,
            display=list(display),
            weight=weights.get(user, 1.0),
            shown_shuffled=kind == AnnotationKind.JUDGEMENT,
        )
        for user, ranking, display, kind in rows
        if ranking
    ]


def _lengths(item: Item, basis: dict) -> dict[int, int]:
    if basis.get("lengths"):
        return {int(rid): n for rid, n in basis["lengths"].items()}
    return dict(
        ItemResponse.objects.filter(item_id=item.pk)
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


def item_quality_refresh(*, item_id: int) -> ItemStats:
    """Recompute one item's stats and move every aggregate it feeds by the difference.

    Run inside the transaction that changed the item's judgements, with the item row
    already locked by the caller (submit and review lock it), so two changes to one
    item never interleave.
    """
    item = Item.objects.only("id", "project_id", "is_gold", "gold_ranking").get(pk=item_id)
    ItemStats.objects.bulk_create(
        [ItemStats(item_id=item.pk, project_id=item.project_id)], ignore_conflicts=True
    )
    stats = ItemStats.objects.select_for_update().get(pk=item.pk)
    basis = stats.basis or {}
    lengths = _lengths(item, basis)
    gold = item.gold_ranking if item.is_gold else None
    figures, new = item_contribution(_judged(item), lengths=lengths, gold=gold)
    old = _deserialize(basis.get("contribution", {}))
    stats.judgements = figures.judgements
    stats.pairs_same, stats.pairs_total = figures.pairs_same, figures.pairs_total
    stats.agreement = figures.pairs_same / figures.pairs_total if figures.pairs_total else None
    stats.kendall_w, stats.tau_b_mean = figures.kendall_w, figures.tau_b_mean
    stats.consensus = figures.consensus.ranking
    stats.consensus_method = figures.consensus.method
    stats.consensus_scores = {str(k): v for k, v in figures.consensus.scores.items()}
    stats.pair_confidence = {
        _pair_key(pair): p for pair, p in figures.consensus.pair_confidence.items()
    }
    stats.basis = {
        "gold": bool(gold),
        "lengths": {str(k): v for k, v in lengths.items()},
        "contribution": _serialize(new),
    }
    stats.save()
    _annotators_move(item.project_id, keyed_delta(new.annotators, old.annotators))
    _pairs_move(
        item.project_id,
        keyed_delta(new.pairs, old.pairs),
        keyed_delta(new.pair_coincidences, old.pair_coincidences),
    )
    _project_move(
        item.project_id,
        item.pk % PROJECT_STATS_SHARDS,
        counter_delta(new.project, old.project),
        counter_delta(new.project_coincidences, old.project_coincidences),
    )
    return stats


def _annotators_move(project_id: int, deltas: dict[int, dict]) -> None:
    if not deltas:
        return
    AnnotatorStats.objects.bulk_create(
        [AnnotatorStats(project_id=project_id, user_id=user) for user in sorted(deltas)],
        ignore_conflicts=True,
    )
    for user in sorted(deltas):
        moves = {name: F(name) + value for name, value in deltas[user].items()}
        AnnotatorStats.objects.filter(project_id=project_id, user_id=user).update(**moves)


def _merge(counts: dict, delta: dict) -> dict:
    merged = dict(counts)
    for key, value in delta.items():
        total = merged.get(key, 0) + value
        if abs(total) < 1e-9:
            merged.pop(key, None)
        else:
            merged[key] = total
    return merged


def _pairs_move(project_id: int, sums: dict, coincidences: dict) -> None:
    pairs = sorted(set(sums) | set(coincidences))
    if not pairs:
        return
    AnnotatorPairStats.objects.bulk_create(
        [AnnotatorPairStats(project_id=project_id, user_a_id=a, user_b_id=b) for a, b in pairs],
        ignore_conflicts=True,
    )
    for a, b in pairs:
        row = AnnotatorPairStats.objects.select_for_update().get(
            project_id=project_id, user_a_id=a, user_b_id=b
        )
        for name, value in sums.get((a, b), {}).items():
            setattr(row, name, getattr(row, name) + value)
        row.coincidences = _merge(row.coincidences, coincidences.get((a, b), {}))
        row.save()


def _project_move(project_id: int, shard: int, sums: dict, coincidences: dict) -> None:
    if not sums and not coincidences:
        return
    ProjectStatsShard.objects.bulk_create(
        [ProjectStatsShard(project_id=project_id, shard=shard)], ignore_conflicts=True
    )
    row = ProjectStatsShard.objects.select_for_update().get(project_id=project_id, shard=shard)
    for name, value in sums.items():
        setattr(row, name, getattr(row, name) + value)
    row.coincidences = _merge(row.coincidences, coincidences)
    row.save()


def items_quality_refresh(*, item_ids: list[int]) -> int:
    """Refresh many items, each in its own short transaction with its row locked."""
    from django.db import transaction

    for item_id in item_ids:
        with transaction.atomic():
            Item.objects.select_for_update().filter(pk=item_id).values_list("pk").first()
            item_quality_refresh(item_id=item_id)
    return len(item_ids)
