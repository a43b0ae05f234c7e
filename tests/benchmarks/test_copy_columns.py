"""The benchmarks seed PostgreSQL by COPY with hand-written column lists; a model field
added later without a database default breaks them, and no CI run would notice (the
benchmarks take minutes and run by hand). This checks the lists against the models."""

import pytest
from django.apps import apps
from django.db.models import NOT_PROVIDED

from benchmarks import export, quality_dashboard


def _tables() -> dict[str, type]:
    return {model._meta.db_table: model for model in apps.get_models()}


def _required_columns(model) -> set[str]:
    """Columns a COPY must name: NOT NULL, no database default, not the serial id."""
    return {
        field.column
        for field in model._meta.concrete_fields
        if not field.null and not field.primary_key and field.db_default is NOT_PROVIDED
    }


LISTS = [
    *((f"export.COLUMNS[{t}]", t, cols) for t, cols in export.COLUMNS.items()),
    ("quality_dashboard.ASSIGNMENT_COLUMNS", "annotation_assignment",
     quality_dashboard.ASSIGNMENT_COLUMNS),
    ("quality_dashboard.ANNOTATION_COLUMNS", "annotation_annotation",
     quality_dashboard.ANNOTATION_COLUMNS),
]  # fmt: skip


@pytest.mark.parametrize(("name", "table", "columns"), LISTS, ids=[n for n, _, _ in LISTS])
def test_every_required_column_is_in_the_benchmarks_copy(name, table, columns):
    model = _tables()[table]
    named = {c.strip() for c in columns.split(",")}
    known = {f.column for f in model._meta.concrete_fields}
    assert named <= known, f"{name}: no such columns {sorted(named - known)}"
    missing = _required_columns(model) - named
    assert not missing, f"{name} leaves out {sorted(missing)} (NOT NULL, no database default)"
