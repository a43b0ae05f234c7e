"""Model instances from rows of hand-written SQL, as the ORM would have made them, and
rows inserted from instances the same way.

The annotate loop's few statements are written by hand where compiling the ORM's query
cost more CPU than PostgreSQL spends answering it (``benchmarks/request_profile.py``).
Their rows still become ordinary model instances: the columns are listed from the
model's own fields (a field added later is read too), and each value goes through the
field's database converters, as the ORM's compiler does (JSON decoded, and so on).
``model_insert`` is the other direction: the submit's annotation row, inserted with the
values ``save()`` would send, without the quarter of the submit's Python time that
``objects.create`` spent in the save machinery and the insert compiler.
"""

import functools

from django.db import connection
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save

from common.db_prepared import prepared_cursor


def model_columns(model: type[Model], alias: str) -> str:
    """``alias."col", ...`` for every concrete field, in the model's field order."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def model_width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


def model_from_row(model: type[Model], values) -> Model:
    """The instance for ``values`` read by ``model_columns`` (a row or a slice of one)."""
    converted = []
    for field, value in zip(model._meta.concrete_fields, values, strict=True):
        for converter in field.get_db_converters(connection):
            value = converter(value, field, connection)
        converted.append(value)
    return model.from_db(connection.alias, None, converted)


@functools.cache
def _insert_sql(model: type[Model]) -> tuple[str, tuple[Field, ...]]:
    meta = model._meta
    fields = tuple(field for field in meta.concrete_fields if field is not meta.pk)
    if any(field.has_db_default() for field in fields):
        raise TypeError(f"model_insert: {model.__name__} has a db_default; use save()")
    columns = ", ".join(f'"{field.column}"' for field in fields)
    holders = ", ".join("%s" for _ in fields)
    return (
        f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({holders}) '
        f'RETURNING "{meta.pk.column}"',
        fields,
    )


def model_insert(instance: Model) -> None:
    """Insert ``instance`` as ``instance.save(force_insert=True)`` would on PostgreSQL: each
    field's ``pre_save`` value (``auto_now_add``) prepared by the field, in one prepared
    statement, the new primary key set on the instance.

    For the hot path's models only, which no ``pre_save``/``post_save`` receiver watches
    (they would not be called): a model with receivers is refused. Elsewhere than
    PostgreSQL this is ``save(force_insert=True)``.
    """
    model = type(instance)
    if pre_save.has_listeners(model) or post_save.has_listeners(model):
        raise TypeError(f"model_insert: {model.__name__} has save signal receivers; use save()")
    if connection.vendor != "postgresql":
        instance.save(force_insert=True)
        return
    sql, fields = _insert_sql(model)
    params = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = connection.alias
