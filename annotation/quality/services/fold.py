"""Fold appended quality deltas into the annotator, pair and project rows.

Why a log rather than updating the shared rows in the submit: every annotator's row is
touched by every later judgement on an item they judged (their leave-one-out agreement
moves), so with many concurrent annotators those rows become hot and submits queue on
their locks. Appending keeps the submit free of shared locks and to one INSERT; folding
applies many deltas with one locking read and one bulk update per kind of row.

Folds are safe to run concurrently (each takes its batch with SKIP LOCKED) and run in
the background refresh and before any read of the sums.
"""

from collections import Counter, defaultdict

from django.db import transaction

from annotation.quality.models import AnnotatorStats, QualityDelta
from annotation.quality.services.aggregate_moves import annotators_move, pairs_move, project_move

BATCH = 5000
# The fold is the only writer of project sums, so one shard row is enough.
FOLD_SHARD = 0


def _pair(key: str) -> tuple[int, int]:
    a, b = key.split(",")
    return int(a), int(b)


def _sum_into(target: dict, source: dict, key_of) -> None:
    for key, sums in source.items():
        target[key_of(key)].update(sums)


def _fold_batch(project_id: int) -> int:
    with transaction.atomic():
        deltas = list(
            QualityDelta.objects.select_for_update(skip_locked=True)
            .filter(project_id=project_id)
            .order_by("id")[:BATCH]
        )
        if not deltas:
            return 0
        annotators: dict = defaultdict(Counter)
        pairs: dict = defaultdict(Counter)
        pair_cells: dict = defaultdict(Counter)
        project_sums: Counter = Counter()
        project_cells: Counter = Counter()
        for delta in deltas:
            _sum_into(annotators, delta.annotators, int)
            _sum_into(pairs, delta.pairs, _pair)
            _sum_into(pair_cells, delta.pair_coincidences, _pair)
            project_sums.update(delta.project_sums)
            project_cells.update(delta.project_coincidences)
        annotators_move(project_id, {u: dict(c) for u, c in annotators.items()})
        pairs_move(
            project_id,
            {p: dict(c) for p, c in pairs.items()},
            {p: dict(c) for p, c in pair_cells.items()},
        )
        project_move(project_id, FOLD_SHARD, dict(project_sums), dict(project_cells))
        QualityDelta.objects.filter(pk__in=[d.pk for d in deltas]).delete()
        return len(deltas)


def quality_deltas_fold(*, project_id: int) -> int:
    """Fold every waiting delta of the project; returns how many were folded."""
    folded = 0
    while done := _fold_batch(project_id):
        folded += done
    return folded


def annotator_sums_now(*, project_id: int, user_id: int) -> Counter:
    """The user's sums including deltas not folded yet, without writing anything.

    For checks inside a submit (the gold score), where folding would take the shared
    locks the log exists to avoid.
    """
    row = (
        AnnotatorStats.objects.filter(project_id=project_id, user_id=user_id)
        .values("gold_same", "gold_total", "gold_items")
        .first()
    )
    sums = Counter(row or {})
    key = str(user_id)
    pending = QualityDelta.objects.filter(project_id=project_id, annotators__has_key=key)
    for delta in pending.values_list("annotators", flat=True):
        sums.update(delta[key])
    return sums
