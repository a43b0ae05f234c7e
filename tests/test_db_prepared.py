"""The annotate loop's hand-written statements are prepared on PostgreSQL, once per
connection, and still counted like every other statement."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.services.claim_flow import claim_next
from common.db_prepared import prepared_cursor
from tests.conftest import is_postgres
from tests.factories import make_items

postgres_only = pytest.mark.skipif(
    not is_postgres(), reason="prepared statements are PostgreSQL's; SQLite runs plain SQL"
)


@pytest.mark.django_db
def test_the_cursor_runs_parameters_on_any_backend():
    with prepared_cursor() as cursor:
        cursor.execute("SELECT %s + 1, %s", [41, "é"])
        assert tuple(cursor.fetchone()) == (42, "é")


def _prepared_claims() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%held AS (%"],
        )
        return cursor.fetchone()[0]


@postgres_only
def test_the_claim_statement_is_prepared_once_and_still_counted(project, annotator):
    make_items(project, 3)
    assert _prepared_claims() == 0
    with CaptureQueriesContext(connection) as first:
        view = claim_next(user=annotator, project=project).view
    assert view is not None
    assert any("held AS (" in query["sql"] for query in first.captured_queries)
    assert _prepared_claims() == 1
    # The same statement again, renewing the lease: no second preparation.
    with CaptureQueriesContext(connection) as again:
        renewed = claim_next(user=annotator, project=project).view
    assert renewed.assignment.pk == view.assignment.pk
    assert any("held AS (" in query["sql"] for query in again.captured_queries)
    assert _prepared_claims() == 1


@postgres_only
def test_turned_off_nothing_is_prepared(project, annotator, settings):
    settings.PREFLAB_DB_PREPARED = False
    make_items(project, 2)
    assert claim_next(user=annotator, project=project).view is not None
    assert _prepared_claims() == 0
