"""Model instances from rows of hand-written SQL, as the ORM would have made them.

The annotate loop's few statements are written by hand where compiling the ORM's query
cost more CPU than PostgreSQL spends answering it (``benchmarks/request_profile.py``).
Their rows still become ordinary model instances: the columns are listed from the
model's own fields (a field added later is read too), and each value goes through the
field's database converters, as the ORM's compiler does (JSON decoded, and so on).
"""

from django.db import connection
from django.db.models import Model


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
