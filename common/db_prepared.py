"""A cursor whose statements PostgreSQL plans once per connection, then reuses.

The annotate loop's few statements are written by hand (the gate, the claim statement,
the submit's lock and finish), large (data-modifying CTEs) and run with new values for
every annotation. Parsing and planning them anew cost PostgreSQL about 2.4 ms per
annotation, a quarter to a third of its CPU in the loop (benchmarks/request_profile.py).

psycopg prepares a statement on the server when ``execute`` is given ``prepare=True`` and
then sends only its name and values. Django binds values on the client (its cursors never
prepare) and sets the connection's ``prepare_threshold`` to None, which refuses even an
explicit ``prepare=True``, because a pooler in transaction mode (PgBouncer before 1.21,
or without ``max_prepared_statements``) cannot follow prepared statements across
connections. So this cursor binds on the server and prepares what it runs, and gives
the connection a threshold psycopg accepts; Django's own cursors stay as they were.
``PREFLAB_DB_PREPARED=0`` turns it off for such a pooler.

The cursor goes through Django's wrapper, so its statements are counted and logged like
any other (the statement budgets in tests/annotation/test_statement_budget.py see them).
"""

import psycopg
from django.conf import settings
from django.db import connection

# A threshold psycopg accepts, so that ``prepare=True`` is honoured, and that no statement
# reaches by being run often: only what is asked for is prepared.
_NEVER_AUTOMATICALLY = 2**62


class _PreparingCursor(psycopg.Cursor):
    """psycopg's server-binding cursor, preparing every statement it runs."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=prepare is not False, binary=binary)


class _LoggedPreparingCursor(_PreparingCursor):
    """The same, for when Django logs queries (DEBUG, tests): psycopg leaves a prepared
    execution's query unset, where Django reads the SQL it logs, so it is set here."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        result = super().execute(query, params, prepare=prepare, binary=binary)
        if self._query is None:
            self._query = self._convert_query(query, params)
        return result


def prepared_cursor():
    """A Django cursor on the default connection whose statements are prepared on
    PostgreSQL; elsewhere, or with preparing turned off, a plain cursor."""
    if connection.vendor != "postgresql" or not settings.PREFLAB_DB_PREPARED:
        return connection.cursor()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        if connection.connection.prepare_threshold is None:
            # Only cursors binding on the server prepare: this one, never Django's.
            connection.connection.prepare_threshold = _NEVER_AUTOMATICALLY
        cursor_class = _LoggedPreparingCursor if connection.queries_logged else _PreparingCursor
        raw = cursor_class(connection.connection)
    # What connection.cursor() does with the cursor it makes: Django's wrapper, which
    # counts, logs and runs the execute wrappers.
    return connection._prepare_cursor(raw)
