"""Add an item's contribution delta to the stored sums in as few statements as possible.

Each kind of row (annotator, annotator pair, project shard) is moved with one locking
SELECT of every row the delta touches, in key order (so concurrent submits on different
items take shared rows in the same order and cannot deadlock), and one bulk UPDATE.
Rows seen for the first time are created first (rare: a new annotator or a new pair).
The submit path pays for these statements on every annotation, hence the care.
"""

from functools import reduce
from operator import or_

from django.db.models import Q

from annotation.models import AnnotatorPairStats, AnnotatorStats, ProjectStatsShard

# bulk_update writes one CASE per column over its rows, which costs rows² in the
# database: a large fold goes in slices of this many rows.
UPDATE_BATCH = 100
# Keys per locking SELECT, so a large fold never builds one enormous WHERE clause.
LOCK_CHUNK = 500


def merge_counts(counts: dict, delta: dict) -> dict:
    """Add a {cell: count} delta to a {cell: count} map, dropping cells that reach zero."""
    merged = dict(counts)
    for key, value in delta.items():
        total = merged.get(key, 0) + value
        if abs(total) < 1e-9:
            merged.pop(key, None)
        else:
            merged[key] = total
    return merged


def _add(row, sums: dict, fields: set) -> None:
    for name, value in sums.items():
        setattr(row, name, getattr(row, name) + value)
        fields.add(name)


def _chunks(keys: list) -> list[list]:
    return [keys[i : i + LOCK_CHUNK] for i in range(0, len(keys), LOCK_CHUNK)]


def _locked(queryset, keys: list, key_of, create) -> dict:
    """Rows for ``keys`` (sorted), locked in key order; missing ones are created, then locked."""
    rows = {key_of(row): row for chunk in _chunks(keys) for row in queryset(chunk)}
    missing = [key for key in keys if key not in rows]
    if missing:
        for chunk in _chunks(missing):
            create(chunk)
            rows.update({key_of(row): row for row in queryset(chunk)})
    return rows


def annotators_move(project_id: int, deltas: dict[int, dict]) -> None:
    if not deltas:
        return
    users = sorted(deltas)
    model = AnnotatorStats.objects
    rows = _locked(
        lambda keys: (
            model.select_for_update()
            .filter(project_id=project_id, user_id__in=keys)
            .order_by("user_id")
        ),
        users,
        lambda row: row.user_id,
        lambda keys: model.bulk_create(
            [AnnotatorStats(project_id=project_id, user_id=u) for u in keys], ignore_conflicts=True
        ),
    )
    fields: set[str] = set()
    for user in users:
        _add(rows[user], deltas[user], fields)
    model.bulk_update([rows[user] for user in users], sorted(fields), batch_size=UPDATE_BATCH)


def pairs_move(project_id: int, sums: dict, coincidences: dict) -> None:
    pairs = sorted(set(sums) | set(coincidences))
    if not pairs:
        return
    model = AnnotatorPairStats.objects
    rows = _locked(
        lambda keys: (
            model.select_for_update()
            .filter(
                reduce(or_, (Q(user_a_id=a, user_b_id=b) for a, b in keys)), project_id=project_id
            )
            .order_by("user_a_id", "user_b_id")
        ),
        pairs,
        lambda row: (row.user_a_id, row.user_b_id),
        lambda keys: model.bulk_create(
            [AnnotatorPairStats(project_id=project_id, user_a_id=a, user_b_id=b) for a, b in keys],
            ignore_conflicts=True,
        ),
    )
    fields = {"coincidences"}
    for pair in pairs:
        _add(rows[pair], sums.get(pair, {}), fields)
        rows[pair].coincidences = merge_counts(rows[pair].coincidences, coincidences.get(pair, {}))
    model.bulk_update([rows[pair] for pair in pairs], sorted(fields), batch_size=UPDATE_BATCH)


def project_move(project_id: int, shard: int, sums: dict, coincidences: dict) -> None:
    if not sums and not coincidences:
        return
    model = ProjectStatsShard.objects
    rows = _locked(
        lambda keys: model.select_for_update().filter(project_id=project_id, shard__in=keys),
        [shard],
        lambda row: row.shard,
        lambda keys: model.bulk_create(
            [ProjectStatsShard(project_id=project_id, shard=s) for s in keys],
            ignore_conflicts=True,
        ),
    )
    row = rows[shard]
    fields = {"coincidences"}
    _add(row, sums, fields)
    row.coincidences = merge_counts(row.coincidences, coincidences)
    row.save(update_fields=sorted(fields))
