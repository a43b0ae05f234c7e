"""A tiny inline SVG trend line for a table cell (one per annotator row).

Not a chart: no axes, no hover, a glyph beside a number, so it is drawn on the server and
costs the table no script. Every string from the data is escaped."""

import html
import math
from collections.abc import Sequence
from itertools import groupby

from django.utils.safestring import SafeString, mark_safe

COLOUR = "#0072B2"


def sparkline(
    values: Sequence[float | None],
    *,
    width: int = 90,
    height: int = 20,
    y_min: float | None = None,
    y_max: float | None = None,
    title: str = "",
) -> SafeString:
    """A trend line with its last point marked; a None value leaves a gap."""
    ys = [_num(v) for v in values]
    numbers = [y for y in ys if y is not None]
    name = title or "trend"
    if len(numbers) < 2:
        return _svg(title or "no trend yet", "no trend yet", width, height, "")
    lo = min(numbers) if _num(y_min) is None else float(y_min)
    hi = max(numbers) if _num(y_max) is None else float(y_max)
    if hi - lo <= 1e-12 * max(1.0, abs(lo), abs(hi)):
        lo, hi = lo - (abs(lo) * 0.1 or 1.0), hi + (abs(hi) * 0.1 or 1.0)
    pad = 2.5  # keeps the end dot inside the viewBox

    def x_of(i: int) -> float:
        return pad + i * (width - 2 * pad) / (len(ys) - 1)

    def y_of(y: float) -> float:
        return height - pad - (min(max(y, lo), hi) - lo) * (height - 2 * pad) / (hi - lo)

    runs = (list(run) for gap, run in groupby(enumerate(ys), key=lambda p: p[1] is None) if not gap)
    d = " ".join("M" + " L".join(f"{_f(x_of(i))},{_f(y_of(y))}" for i, y in run) for run in runs)
    last_i = max(i for i, y in enumerate(ys) if y is not None)
    last = _plain(numbers[-1])
    summary = f"{name}: min {_plain(min(numbers))}, max {_plain(max(numbers))}, last {last}"
    body = (
        f'<path d="{d}" fill="none" stroke="{COLOUR}" stroke-width="1.25">{_tip(summary)}</path>'
        f'<circle cx="{_f(x_of(last_i))}" cy="{_f(y_of(numbers[-1]))}" r="2" fill="{COLOUR}">'
        f"{_tip(f'last: {last}')}</circle>"
    )
    return _svg(name, f"{name}, last {last}", width, height, body)


def _svg(title: str, label: str, width: int, height: int, body: str) -> SafeString:
    return mark_safe(  # safe: every string from the data went through _esc
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-sparkline" role="img"'
        f' aria-label="{_esc(label)}" viewBox="0 0 {width} {height}" width="{width}"'
        f' height="{height}">{_tip(title)}{body}</svg>'
    )


def _tip(text: str) -> str:
    return f"<title>{_esc(text)}</title>"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _f(value: float) -> str:
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def _num(value: float | None) -> float | None:
    number = None if value is None else float(value)
    return number if number is not None and math.isfinite(number) else None
