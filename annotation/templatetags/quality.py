"""Formatting for quality figures: a missing figure shows as a dash, never as 0."""

from django import template

register = template.Library()
DASH = "—"


@register.filter
def share(value) -> str:
    """0.834 -> "83%"."""
    return DASH if value is None else f"{value:.0%}"


@register.filter
def signed_share(value) -> str:
    """0.12 -> "+12 pts" (a difference of two shares, in percentage points)."""
    return DASH if value is None else f"{100 * value:+.0f} pts"


@register.filter
def number(value, digits: int = 2) -> str:
    return DASH if value is None else f"{value:.{int(digits)}f}"


@register.filter
def seconds(milliseconds) -> str:
    return DASH if milliseconds is None else f"{milliseconds / 1000:.1f} s"


@register.filter
def tiers(ranking) -> str:
    """[["B"], ["A", "C"]] -> "B > A = C"."""
    if not ranking:
        return DASH
    return " > ".join(" = ".join(str(x) for x in tier) for tier in ranking)
