"""The submit path's reads and writes of an item's quality rows, in plain SQL.

Why not the ORM here: ``item_quality_refresh`` runs inside every submit, and building
its four statements through the ORM (query compilation, model instances, a save that
tries UPDATE then INSERT) cost more than the statements themselves did in PostgreSQL
(`benchmarks/quality_dashboard.py`). The SQL is portable between PostgreSQL and SQLite
(``INSERT … ON CONFLICT … DO UPDATE`` exists in both); table and column names come
from the models, so a renamed field breaks loudly at the first call, not silently.

JSON columns are read as text (Django leaves jsonb undecoded on PostgreSQL, its
JSONField decodes in Python; SQLite stores text) and written through the backend's
``adapt_json_value``, as JSONField writes them.
"""

import json
from dataclasses import dataclass
from functools import cache

from django.db import connection
from django.utils import timezone

from annotation.models import Annotation, AnnotationStatus, Item
from annotation.quality.models import AnnotatorStats, ItemStats, QualityDelta

# ItemStats columns the refresh writes, in the order of ``stats_save``'s values.
STATS_FIELDS = (
    "project",
    "judgements",
    "pairs_same",
    "pairs_total",
    "agreement",
    "kendall_w",
    "tau_b_mean",
    "consensus",
    "consensus_method",
    "consensus_scores",
    "pair_confidence",
    "basis",
    "updated_at",
)
JSON_FIELDS = {"consensus", "consensus_scores", "pair_confidence", "basis"}
DELTA_FIELDS = ("annotators", "pairs", "pair_coincidences", "project_sums", "project_coincidences")


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


@cache
def _item_sql() -> str:
    i, s = Item, ItemStats
    return (
        f"SELECT i.{_column(i, 'project')}, i.{_column(i, 'is_gold')}, "
        f"i.{_column(i, 'gold_ranking')}, s.{_column(s, 'item')}, s.{_column(s, 'basis')} "
        f"FROM {_table(i)} i LEFT JOIN {_table(s)} s "
        f"ON s.{_column(s, 'item')} = i.{_column(i, 'id')} "
        f"WHERE i.{_column(i, 'id')} = %s"
    )


@cache
def _judged_sql() -> str:
    a, w = Annotation, AnnotatorStats
    return (
        f"SELECT a.{_column(a, 'user')}, a.{_column(a, 'ranking')}, "
        f"a.{_column(a, 'display_order')}, a.{_column(a, 'kind')}, w.{_column(w, 'weight')} "
        f"FROM {_table(a)} a LEFT JOIN {_table(w)} w "
        f"ON w.{_column(w, 'project')} = %s AND w.{_column(w, 'user')} = a.{_column(a, 'user')} "
        f"WHERE a.{_column(a, 'item')} = %s AND a.{_column(a, 'status')} = %s"
    )


@cache
def _stats_upsert_sql() -> str:
    columns = [_column(ItemStats, "item")] + [_column(ItemStats, f) for f in STATS_FIELDS]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
    return (
        f"INSERT INTO {_table(ItemStats)} ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({columns[0]}) DO UPDATE SET {updates}"
    )


@cache
def _delta_insert_sql() -> str:
    columns = [_column(QualityDelta, "project")] + [_column(QualityDelta, f) for f in DELTA_FIELDS]
    return (
        f"INSERT INTO {_table(QualityDelta)} ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )


def _loads(value):
    return json.loads(value) if isinstance(value, str) else value


@dataclass
class ItemRow:
    project_id: int
    is_gold: bool
    gold_ranking: list | None
    has_stats: bool
    basis: dict


def item_row(item_id: int) -> ItemRow:
    with connection.cursor() as cursor:
        cursor.execute(_item_sql(), [item_id])
        row = cursor.fetchone()
    if row is None:
        raise Item.DoesNotExist(f"item {item_id} does not exist")
    project_id, is_gold, gold_ranking, stats_item, basis = row
    return ItemRow(
        project_id=project_id,
        is_gold=bool(is_gold),
        gold_ranking=_loads(gold_ranking),
        has_stats=stats_item is not None,
        basis=_loads(basis) or {},
    )


def judged_rows(project_id: int, item_id: int) -> list[tuple]:
    """(user id, ranking, display order, kind, weight or None) of the item's counted
    judgements."""
    with connection.cursor() as cursor:
        cursor.execute(_judged_sql(), [project_id, item_id, AnnotationStatus.ACTIVE.value])
        rows = cursor.fetchall()
    return [(u, _loads(r), _loads(d), kind, w) for u, r, d, kind, w in rows]


def stats_save(item_id: int, values: dict) -> ItemStats:
    """Insert or update the item's stats row with ``values`` (every STATS_FIELDS name but
    updated_at); returns it as a model instance, as the ORM would have."""
    values = {**values, "updated_at": timezone.now()}
    params = [item_id] + [
        connection.ops.adapt_json_value(values[f], None) if f in JSON_FIELDS else values[f]
        for f in STATS_FIELDS
    ]
    params[-1] = connection.ops.adapt_datetimefield_value(values["updated_at"])
    with connection.cursor() as cursor:
        cursor.execute(_stats_upsert_sql(), params)
    fields = {f"{f}_id" if f == "project" else f: values[f] for f in STATS_FIELDS}
    stats = ItemStats(item_id=item_id, **fields)
    stats._state.adding = False
    return stats


def delta_insert(project_id: int, delta: dict) -> None:
    params = [project_id] + [
        connection.ops.adapt_json_value(delta.get(f, {}), None) for f in DELTA_FIELDS
    ]
    with connection.cursor() as cursor:
        cursor.execute(_delta_insert_sql(), params)
