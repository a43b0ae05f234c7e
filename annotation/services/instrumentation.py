"""Writing instrumentation: how a prompt or response text came to be, and the paste flag.

Crowd-written RLHF data is most often spoiled by text pasted from another model. The
page measures each text field (typing time, keystrokes, paste events, pasted characters)
and sends the figures with the text; the server keeps them per field, recounts the final
length itself and flags a text as *mostly pasted* when pasted characters make up at least
``PASTE_FLAG_RATIO`` of it. API clients that send no figures store ``{}``: "not measured"
is kept distinct from "typed by hand".
"""

from common.errors import ApplicationError

PASTE_FLAG_RATIO = 0.5
# Short texts ("Thanks!") are pasted for convenience; only flag texts long enough to matter.
PASTE_FLAG_MIN_CHARS = 40
COUNTERS = ("typing_ms", "keystrokes", "paste_events", "pasted_chars")
MAX_COUNTER = 10**9


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(f"{field}: {message}", extra={"field": field})


def _counters(raw, field: str) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise _invalid(field, f"must be an object with {', '.join(COUNTERS)}")
    unknown = sorted(set(raw) - set(COUNTERS))
    if unknown:
        raise _invalid(field, f"unknown keys {unknown}; expected {', '.join(COUNTERS)}")
    counters = {}
    for name in COUNTERS:
        value = raw.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNTER:
            raise _invalid(f"{field}.{name}", "must be a non-negative integer")
        counters[name] = value
    return counters


def is_mostly_pasted(pasted_chars: int, chars: int) -> bool:
    """True when pasted characters make up at least PASTE_FLAG_RATIO of a long enough text."""
    if chars < PASTE_FLAG_MIN_CHARS:
        return False
    return min(pasted_chars, chars) >= PASTE_FLAG_RATIO * chars


def writing_stats_clean(raw, *, texts: dict[str, str], field: str = "writing") -> tuple[dict, bool]:
    """Validate per-field writing figures against the final texts.

    Args:
        raw: ``{"<field name>": {"typing_ms", "keystrokes", "paste_events", "pasted_chars"}}``
            or None when the client measured nothing.
        texts: the final text of every field, by the same names (``turns[0]``, ``text``).
        field: the payload key, for error messages.

    Returns:
        The stats with each field's ``chars`` and ``mostly_pasted`` added, and whether any
        field was mostly pasted.
    """
    if raw is None or raw == {}:
        return {}, False
    if not isinstance(raw, dict):
        raise _invalid(field, "must be an object keyed by field name")
    unknown = sorted(set(raw) - set(texts))
    if unknown:
        raise _invalid(field, f"figures for fields that were not sent: {unknown}")
    stats: dict[str, dict] = {}
    for name, entry in raw.items():
        counters = _counters(entry, f"{field}.{name}")
        chars = len(texts[name])
        flagged = is_mostly_pasted(counters["pasted_chars"], chars)
        stats[name] = {**counters, "chars": chars, "mostly_pasted": flagged}
    return stats, any(entry["mostly_pasted"] for entry in stats.values())
