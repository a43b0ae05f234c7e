"""Add folded contribution deltas to the stored sums in as few statements as possible.

Each kind of row (annotator, annotator pair, project shard) is moved with locking
SELECTs of every row the deltas touch, in key order (so concurrent folds take shared
rows in the same order and cannot deadlock), then one UPDATE per row sent as a single
``executemany`` (pipelined by psycopg). Rows seen for the first time are created first
(a new annotator or a new pair).

Why not ``bulk_update``: it builds one CASE expression per column over the batch, and
building those expressions in Python took most of a fold (about 3 ms per delta,
`benchmarks/quality_dashboard.py`); plain per-row UPDATEs cost the database less too.
"""

from django.db import connection

from annotation.quality.models import AnnotatorPairStats, AnnotatorStats, ProjectStatsShard

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


def _rows_write(model, rows: list, fields: list[str]) -> None:
    """UPDATE ``fields`` of each (locked) row by primary key, in one executemany."""
    if not rows or not fields:
        return
    meta, quote = model._meta, connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    sql = (
        f"UPDATE {quote(meta.db_table)} SET "
        + ", ".join(f"{quote(c.column)} = %s" for c in columns)
        + f" WHERE {quote(meta.pk.column)} = %s"
    )
    params = [
        [c.get_db_prep_save(getattr(row, c.attname), connection) for c in columns] + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _pairs_locked(project_id: int, keys: list[tuple[int, int]]) -> list:
    """The project's pair rows for ``keys``, locked in key order. Raw SQL because the
    ORM can only say "(a, b) in keys" as an OR of ANDs, slow to build for many keys."""
    meta, quote = AnnotatorPairStats._meta, connection.ops.quote_name
    a, b = (quote(meta.get_field(n).column) for n in ("user_a", "user_b"))
    project = quote(meta.get_field("project").column)
    values = ", ".join(["(%s, %s)"] * len(keys))
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = (
        f"SELECT * FROM {quote(meta.db_table)} WHERE {project} = %s "
        f"AND ({a}, {b}) IN (VALUES {values}) ORDER BY {a}, {b}{lock}"
    )
    return list(AnnotatorPairStats.objects.raw(sql, [project_id, *(x for k in keys for x in k)]))


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
    _rows_write(AnnotatorStats, [rows[user] for user in users], sorted(fields))


def pairs_move(project_id: int, sums: dict, coincidences: dict) -> None:
    pairs = sorted(set(sums) | set(coincidences))
    if not pairs:
        return
    model = AnnotatorPairStats.objects
    rows = _locked(
        lambda keys: _pairs_locked(project_id, keys),
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
    _rows_write(AnnotatorPairStats, [rows[pair] for pair in pairs], sorted(fields))


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
