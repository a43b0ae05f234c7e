"""Whole numbers typed into URLs and forms (ids, ranks, counts)."""

MAX_DIGITS = 18  # every id and count fits a 64-bit integer column with this many


def plain_int(value) -> int | None:
    """The number a string of ASCII digits writes, or None. ``str.isdigit`` alone lets
    "²" through (``int`` then fails), and thousands of digits overflow the database's
    integer columns (a 500 on PostgreSQL) or Python's own conversion limit."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= MAX_DIGITS:
        return int(value)
    return None
