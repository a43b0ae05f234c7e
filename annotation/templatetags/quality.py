"""Formatting for quality figures: a missing figure shows as a dash, never as 0."""

from django import template

register = template.Library()
DASH = "—"


def _missing(value) -> bool:
    # A lookup through an absent object ({{ board.summary.median_time_ms }} before the first
    # refresh stored a summary) reaches a filter as the template engine's "", not None.
    return value is None or value == ""


@register.filter
def share(value) -> str:
    """0.834 -> "83%"."""
    return DASH if _missing(value) else f"{value:.0%}"


@register.filter
def signed_share(value) -> str:
    """0.12 -> "+12 pts" (a difference of two shares, in percentage points)."""
    return DASH if _missing(value) else f"{100 * value:+.0f} pts"


@register.filter
def number(value, digits: int = 2) -> str:
    return DASH if _missing(value) else f"{value:.{int(digits)}f}"


@register.filter
def seconds(milliseconds) -> str:
    return DASH if _missing(milliseconds) else f"{milliseconds / 1000:.1f} s"


@register.filter
def tiers(ranking) -> str:
    """[["B"], ["A", "C"]] -> "B > A = C"."""
    if not ranking:
        return DASH
    return " > ".join(" = ".join(str(x) for x in tier) for tier in ranking)
