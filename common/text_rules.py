"""What text people type may hold before it is stored: no NUL (PostgreSQL text and jsonb
refuse it) and no unpaired UTF-16 surrogate (a JSON escape such as "\\ud800" decodes to
one; it cannot be encoded as UTF-8, so a text column fails on it in any database)."""

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_character(text: str) -> str | None:
    """A description of the first character text cannot be stored with, or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "a NUL character"
    return f"an unpaired UTF-16 surrogate (\\u{ord(found.group()):04x})"
