"""Insert many rows fast: COPY on PostgreSQL, one ``executemany`` elsewhere.

Written by hand because Django's ``bulk_create`` builds model instances and one
parameter per value; a 100k-item import writes about a million rows (prompts,
responses, items, links) and that Python work dominated its time. PostgreSQL's
COPY streams plain tuples instead. Ids are reserved up front (from the table's
sequence on PostgreSQL, from the current maximum under SQLite's write lock), so
related rows can point at rows that do not exist yet. Call these inside a
transaction.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` fresh primary keys for ``model``'s table."""
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the import holds the write lock (BEGIN IMMEDIATE), so nobody else can
        # take these ids between this read and the insert. sqlite_sequence remembers ids
        # of deleted rows too, which must never come back (rankings store response ids).
        cursor.execute(
            f'SELECT MAX(COALESCE((SELECT MAX("id") FROM "{table}"), 0), '  # noqa: S608
            "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))",
            [table],
        )
        start = cursor.fetchone()[0] + 1
        return list(range(start, start + count))


def _preparers(model: type[models.Model], columns: Sequence[str]) -> list:
    preparers = []
    for name in columns:
        field = model._meta.get_field(name)
        if isinstance(field, models.JSONField | models.DateTimeField):
            preparers.append(lambda value, f=field: f.get_db_prep_value(value, connection))
        else:
            preparers.append(None)
    return preparers


def insert_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert tuples of values for ``columns`` (field names, ``id`` included) into the table."""
    meta = model._meta
    names = [meta.get_field(name).column for name in columns]
    preparers = _preparers(model, columns)

    def prepared(row):
        return [v if p is None else p(v) for v, p in zip(row, preparers, strict=True)]

    quoted = ", ".join(connection.ops.quote_name(name) for name in names)
    table = connection.ops.quote_name(meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(prepared(row))
        else:
            marks = ", ".join(["%s"] * len(names))
            cursor.executemany(
                f"INSERT INTO {table} ({quoted}) VALUES ({marks})",  # noqa: S608
                [prepared(row) for row in rows],
            )
