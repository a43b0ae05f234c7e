"""Whole numbers typed into URLs and forms (ids, ranks, counts)."""

from common.errors import ApplicationError

MAX_DIGITS = 18  # every id and count fits a 64-bit integer column with this many
DB_INT_MAX = 2**63 - 1  # the largest integer a (64-bit) database column holds


def plain_int(value) -> int | None:
    """The number a string of ASCII digits writes, or None. ``str.isdigit`` alone lets
    "²" through (``int`` then fails), and thousands of digits overflow the database's
    integer columns (a 500 on PostgreSQL) or Python's own conversion limit."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= MAX_DIGITS:
        return int(value)
    return None


# The OpenAPI schema of a query parameter read with query_int.
QUERY_INT_SCHEMA = {"type": "integer", "minimum": 0, "maximum": 10**MAX_DIGITS - 1}


def query_int(request, name: str) -> int | None:
    """The whole number in the API query parameter ``name``; None when it is absent or
    empty. Anything else is refused with a 400 naming the parameter, rather than ignored:
    a client that sends ``offset=ten`` must learn that it paged nowhere."""
    raw = request.query_params.get(name, "")
    if raw == "":
        return None
    number = plain_int(raw)
    if number is None:
        raise ApplicationError(
            f"{name}: expected a whole number (0 or more), got {raw[:20]!r}", extra={"field": name}
        )
    return number


def plain_ids(value: str) -> tuple[int, ...]:
    """A plain decimal id as a one-tuple, else empty: for ``pk__in`` filters and
    ``exclude`` lists read from forms."""
    number = plain_int(value)
    return () if number is None else (number,)
