"""Inline SVG charts for the manager's quality dashboard.

Hand-written rather than taken from a chart library: the dashboard needs a handful of simple
shapes (lines, histograms, sparklines, interval bars, stacked bars). Drawn on the server, they
need no JavaScript, so pages load fast, and a vendored chart library would be a larger
dependency than this module.

Each function takes plain data and returns a ``SafeString`` of ``<svg>`` markup for a
template's ``{{ chart }}``. Titles, names and labels can be typed by users (annotator and model
names), so markup is built only through ``_el``, ``_text`` and ``_tip``, which escape every
string they are given. Charts scale with their container (``viewBox`` plus ``width="100%"``),
carry ``role="img"``, an ``aria-label`` and a ``<title>``, and every data mark has a
``<title>`` tooltip with its value.
"""

import html
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby

from django.utils.safestring import SafeString, mark_safe

# Okabe & Ito's colour-blind-safe palette; yellow goes last because it is faint on white.
PALETTE: tuple[str, ...] = tuple(
    "#0072B2 #E69F00 #009E73 #D55E00 #CC79A7 #56B4E9 #000000 #F0E442".split()
)
_TEXT = "#4b5563"  # axis labels, notes, "No data yet"
_GRID = "#e5e7eb"
_AXIS = "#9ca3af"
_INK = "#1f2937"  # whiskers and reference lines
_CHAR_W = 6.2  # rough width in px of one 11px sans-serif character; for layout only
_SIDE_W = 96.0  # px for the value column right of interval and stacked bars
_FONT = {"font_family": "system-ui, sans-serif", "font_size": "11"}
_SVG_NS = "http://www.w3.org/2000/svg"

Scale = Callable[[float], float]


@dataclass(frozen=True)
class Series:
    """One line of a line chart."""

    name: str  # legend and tooltip text
    points: Sequence[tuple[float, float | None]]  # (x, y); a None y leaves a gap
    colour: str | None = None  # any CSS colour; None takes the series' PALETTE colour


@dataclass(frozen=True)
class IntervalRow:
    """One row of an interval chart, e.g. a win rate and its 95% confidence interval."""

    label: str  # shown left of the bar
    value: float  # the bar runs from x_min to here
    low: float  # whisker start
    high: float  # whisker end
    note: str = ""  # shown after the value and in the tooltip, e.g. "n=42"


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    width: int = 560,
    height: int = 200,
    y_min: float | None = None,
    y_max: float | None = None,
    y_format: str = "{:.2f}",
    x_labels: Sequence[str] | None = None,
    x_format: str | None = None,
    x_title: str = "",
    y_title: str = "",
) -> SafeString:
    """Lines over numeric x values with y gridlines, and a legend when there are several.

    ``x_labels`` are spread evenly from the smallest to the largest x (label i names x == i
    when x is an index) and thinned to at most 8; without them, ``x_format`` labels round x
    values (training steps). ``x_title`` and ``y_title`` name the axes with their units.
    A None, NaN or infinite y breaks its line.
    """
    lines = [(s, _clean_points(s.points)) for s in series]
    xs = [x for _, points in lines for x, _ in points]
    ys = [y for _, points in lines for _, y in points if y is not None]
    if not ys:
        return _empty("line", title, width, height)
    lo, hi = _span(_or(y_min, min(ys)), _or(y_max, max(ys)))
    ticks = _ticks(lo, hi)
    tick_text = [y_format.format(t) for t in ticks]
    colours = [s.colour or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]
    legend, legend_h = "", 0.0
    if len(series) > 1:
        items = [(s.name, c) for s, c in zip(series, colours, strict=True)]
        legend, legend_h = _legend(items, x=8, y=4, width=width - 16)
    named = _x_names(x_labels or (), min(xs), max(xs))
    if not named and x_format:
        # Only ticks the format writes exactly: steps 1, 2, 3 and never 1.5 shown as "2".
        texts = {t: x_format.format(t) for t in _ticks(*_span(min(xs), max(xs)))}
        named = {t: text for t, text in texts.items() if _writes_exactly(text, t)}
    left = 10 + max(len(t) for t in tick_text) * _CHAR_W + (14 if y_title else 0)
    top, right = 8 + legend_h, width - 10
    bottom = height - (20 if named else 8) - (14 if x_title else 0)
    x_of, y_of = _scale(min(xs), max(xs), left, right), _scale(lo, hi, bottom, top)
    body = [_grid(ticks, tick_text, y_of, (left, top, right, bottom))]
    body.append(_x_ticks(named, x_of, bottom))
    body.append(_axis_titles(x_title, y_title, (left, top, right, bottom), height))
    for (s, points), colour in zip(lines, colours, strict=True):
        # One path per series, each gap starting a subpath, and a dot per point for its tooltip.
        marks = []
        if d := _path_d(points, x_of, y_of):
            marks.append(_el("path", _tip(s.name), d=d, fill="none", stroke_width=1.5))
        for x, y in points:
            if y is not None:
                tip = _tip(f"{s.name} · {named.get(round(x, 9), _plain(x))}: {y_format.format(y)}")
                marks.append(_el("circle", tip, cx=x_of(x), cy=y_of(y), r=2.5))
        body.append(_el("g", "".join(marks), class_="series", stroke=colour, fill=colour))
    body.append(legend)
    return _svg("line", title, width, height, "".join(body))


def histogram(
    bins: Sequence[tuple[str, int]],
    *,
    title: str,
    width: int = 560,
    height: int = 180,
    colour: str | None = None,
    x_title: str = "",
    y_title: str = "",
) -> SafeString:
    """Vertical bars, one per (label, count) bin; hovering a bar shows its exact count.

    ``x_title`` and ``y_title`` name the axes with their units."""
    counts = [_count(count) for _, count in bins]
    if not counts:
        return _empty("histogram", title, width, height)
    top_count = max(max(counts), 1.0)
    ticks = _ticks(0.0, top_count, min_step=1.0)
    tick_text = [_plain(t) for t in ticks]
    left = 10 + max(len(t) for t in tick_text) * _CHAR_W + (14 if y_title else 0)
    top, right, bottom = 8.0, width - 8.0, height - 20.0 - (14 if x_title else 0)
    y_of = _scale(0.0, top_count, bottom, top)
    slot = (right - left) / len(counts)
    bars = []
    for i, ((label, _), count) in enumerate(zip(bins, counts, strict=True)):
        x, y = left + (i + 0.1) * slot, y_of(count)
        bars.append(_rect(_tip(f"{label}: {_plain(count)}"), x, y, slot * 0.8, bottom - y))
    label_w = max(len(str(label)) for label, _ in bins) * _CHAR_W + 8
    labels = "".join(
        _text(bins[i][0], left + (i + 0.5) * slot, bottom + 11, "middle", max_w=label_w)
        for i in _thin(len(bins), max(1, int((right - left) // label_w)))
    )
    body = _grid(ticks, tick_text, y_of, (left, top, right, bottom))
    body += _el("g", "".join(bars), class_="bars", fill=colour or PALETTE[0])
    body += _el("g", labels, class_="x-labels", fill=_TEXT)
    body += _axis_titles(x_title, y_title, (left, top, right, bottom), height)
    return _svg("histogram", title, width, height, body)


def sparkline(
    values: Sequence[float | None],
    *,
    width: int = 90,
    height: int = 20,
    y_min: float | None = None,
    y_max: float | None = None,
    title: str = "",
) -> SafeString:
    """A tiny trend line with its last point marked and no axes; a None value leaves a gap."""
    ys = [_num(v) for v in values]
    numbers = [y for y in ys if y is not None]
    if len(numbers) < 2:
        return _svg("sparkline", title or "no trend yet", width, height, "", label="no trend yet")
    lo, hi = _span(_or(y_min, min(numbers)), _or(y_max, max(numbers)))
    pad = 2.5  # keeps the end dot inside the viewBox
    x_of = _scale(0, len(ys) - 1, pad, width - pad)
    y_of = _scale(lo, hi, height - pad, pad)
    last_i, last = max(i for i, y in enumerate(ys) if y is not None), _plain(numbers[-1])
    name = title or "trend"
    summary = f"{name}: min {_plain(min(numbers))}, max {_plain(max(numbers))}, last {last}"
    d = _path_d(enumerate(ys), x_of, y_of)
    body = _el("path", _tip(summary), d=d, fill="none", stroke=PALETTE[0], stroke_width="1.25")
    dot = _el(
        "circle", _tip(f"last: {last}"), cx=x_of(last_i), cy=y_of(numbers[-1]), r=2, fill=PALETTE[0]
    )
    return _svg("sparkline", name, width, height, body + dot, label=f"{name}, last {last}")


def interval_bars(
    rows: Sequence[IntervalRow],
    *,
    title: str,
    width: int = 560,
    row_height: int = 22,
    x_min: float = 0.0,
    x_max: float = 1.0,
    reference: float | None = 0.5,
    value_format: str = "{:.0%}",
) -> SafeString:
    """Horizontal bars with low-high whiskers, e.g. win rates and their 95% intervals.

    An optional dashed line marks ``reference`` (e.g. 50%, a coin flip). The chart's height
    grows with the number of rows.
    """
    if not rows:
        return _empty("interval", title, width, row_height * 3)
    lo, hi = _span(_or(x_min, 0.0), _or(x_max, 1.0))
    top, plot_h = 6.0, len(rows) * row_height
    x_of = _scale(lo, hi, *_columns(width))
    body = [
        _interval_row(
            row, y=top + i * row_height, h=row_height, x_of=x_of, width=width, fmt=value_format
        )
        for i, row in enumerate(rows)
    ]
    ticks = [(lo, "start"), (hi, "end")]
    ref = _num(reference)
    if ref is not None and lo <= ref <= hi:
        x, tip = x_of(ref), _tip(f"reference: {value_format.format(ref)}")
        dashed = {"class_": "reference", "stroke": _INK, "stroke_dasharray": "4 3"}
        body.append(_el("line", tip, x1=x, x2=x, y1=top, y2=top + plot_h, **dashed))
        if lo < ref < hi:
            ticks.append((ref, "middle"))
    axis = "".join(_text(value_format.format(v), x_of(v), top + plot_h + 10, a) for v, a in ticks)
    body.append(_el("g", axis, class_="x-labels", fill=_TEXT))
    return _svg("interval", title, width, top + plot_h + 18, "".join(body))


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[tuple[str, int]]]],
    *,
    title: str,
    width: int = 560,
    row_height: int = 22,
    colours: Mapping[str, str] | None = None,
) -> SafeString:
    """One horizontal bar per row (e.g. per round), split into its segments' shares.

    Every bar spans the plot, so rows compare by mix, not size; the row total is written at
    the right. A segment name takes its colour from ``colours``, else from PALETTE in the order
    names first appear, so it keeps one colour across rows.
    """
    data = [(label, [(name, _count(c)) for name, c in segments]) for label, segments in rows]
    if not data:
        return _empty("stacked", title, width, row_height * 3)
    names = list(dict.fromkeys(name for _, segments in data for name, _ in segments))
    given = colours or {}
    fills = {name: given.get(name) or PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    left, right = _columns(width)
    legend, legend_h = _legend(list(fills.items()), x=left, y=4, width=width - left - 8)
    top, h = 8 + legend_h, row_height
    body = [legend]
    for i, (label, segments) in enumerate(data):
        y, total, done = top + i * h, sum(count for _, count in segments), 0.0
        parts = [_text(label, left - 6, y + h / 2, "end", max_w=left - 10)]
        for name, count in segments:
            if count == 0:
                continue
            # Edges from the running total, so rounding never opens a seam between segments.
            x0 = round(left + (right - left) * done / total, 1)
            done += count
            x1 = round(left + (right - left) * done / total, 1)
            tip = _tip(f"{name}: {_plain(count)} ({count / total:.0%})")
            parts.append(_rect(tip, x0, y + h * 0.2, x1 - x0, h * 0.6, fill=fills[name]))
        parts.append(_text(_plain(total), right + 6, y + h / 2, fill=_TEXT))
        body.append(_el("g", "".join(parts), class_="row"))
    return _svg("stacked", title, width, top + len(data) * h + 4, "".join(body))


# Rows, frame, legend and text.


def _interval_row(
    row: IntervalRow, *, y: float, h: float, x_of: Scale, width: float, fmt: str
) -> str:
    left, right = _columns(width)
    mid = y + h / 2
    value, low, high = _num(row.value), _num(row.low), _num(row.high)
    shown = "–" if value is None else fmt.format(value)
    tip = f"{row.label}: {shown}"
    if low is not None and high is not None:
        low, high = min(low, high), max(low, high)
        tip += f" ({fmt.format(low)} to {fmt.format(high)})"
    tip = _tip(tip + (f" · {row.note}" if row.note else ""))
    parts = [_text(row.label, left - 6, mid, "end", max_w=left - 10)]
    if value is not None:
        x0, x1 = left, x_of(value)  # x_of clamps, so x1 >= left
        bar = {"class_": "bar", "fill": PALETTE[0], "fill_opacity": "0.55"}
        parts.append(_rect(tip, x0, y + h * 0.2, x1 - x0, h * 0.6, **bar))
    if low is not None and high is not None:
        a, b, m, c0, c1 = (_f(v) for v in (x_of(low), x_of(high), mid, y + h * 0.3, y + h * 0.7))
        d = f"M{a},{m} L{b},{m} M{a},{c0} L{a},{c1} M{b},{c0} L{b},{c1}"
        parts.append(_el("path", tip, class_="whisker", d=d, stroke=_INK, fill="none"))
    room = int((_SIDE_W - 8) / _CHAR_W) - len(shown) - 1
    note = _clip(row.note, room)[0] if row.note and room > 1 else ""
    note = _el("tspan", _esc(f" {note}"), fill=_TEXT) if note else ""
    parts.append(_el("text", _esc(shown) + note, x=right + 6, y=mid, dy="0.35em"))
    return _el("g", "".join(parts), class_="row")


def _svg(
    kind: str, title: str, width: float, height: float, body: str, *, label: str | None = None
) -> SafeString:
    w, h = _f(width), _f(height)
    # viewBox plus width 100% scales the chart down with its container; max-width stops it
    # growing past its drawn size, which would blow the 11px text up.
    frame = {"viewBox": f"0 0 {w} {h}", "width": "100%", "style": f"max-width:{w}px;height:auto"}
    names = {"class_": f"chart chart-{kind}", "role": "img", "aria_label": label or title}
    svg = _el("svg", _tip(title) + body, xmlns=_SVG_NS, **names, **frame, **_FONT)
    return mark_safe(svg)  # safe: _el, _text and _tip escaped every string from the data


def _empty(kind: str, title: str, width: float, height: float) -> SafeString:
    text = _text("No data yet", width / 2, height / 2, "middle", fill=_TEXT)
    return _svg(kind, title, width, height, text, label=f"{title}: no data yet")


def _grid(ticks: list[float], texts: list[str], y_of: Scale, box: tuple[float, ...]) -> str:
    """Labelled horizontal gridlines, then the y and x axes around the plot's box."""
    left, top, right, bottom = box
    lines = "".join(
        _el("line", x1=left, x2=right, y1=y_of(t), y2=y_of(t), stroke=_GRID)
        + _text(text, left - 4, y_of(t), "end")
        for t, text in zip(ticks, texts, strict=True)
    )
    y_axis = _el("line", x1=left, x2=left, y1=top, y2=bottom)
    x_axis = _el("line", x1=left, x2=right, y1=bottom, y2=bottom)
    grid = _el("g", lines, class_="grid", fill=_TEXT)
    return grid + _el("g", y_axis + x_axis, class_="axes", stroke=_AXIS)


def _x_names(labels: Sequence[str], x0: float, x1: float) -> dict[float, str]:
    """Where each x label sits: evenly from the smallest x to the largest."""
    if len(labels) <= 1 or x1 == x0:
        return {round(x0, 9): labels[0]} if labels else {}
    step = (x1 - x0) / (len(labels) - 1)
    return {round(x0 + i * step, 9): label for i, label in enumerate(labels)}


def _axis_titles(x_title: str, y_title: str, box: tuple[float, ...], height: float) -> str:
    """The axes' names: x centred under its tick labels, y turned along the left edge."""
    left, top, right, bottom = box
    texts = ""
    if x_title:
        texts += _text(x_title, (left + right) / 2, height - 6, "middle", max_w=right - left)
    if y_title:
        mid = (top + bottom) / 2
        texts += _text(y_title, 7, mid, "middle", max_w=bottom - top,
                       transform=f"rotate(-90 7 {_f(mid)})")  # fmt: skip
    return _el("g", texts, class_="axis-titles", fill=_TEXT) if texts else ""


def _writes_exactly(text: str, value: float) -> bool:
    try:
        return math.isclose(float(text), value, rel_tol=1e-9, abs_tol=1e-12)
    except ValueError:
        return False


def _x_ticks(named: dict[float, str], x_of: Scale, bottom: float) -> str:
    items = list(named.items())
    # The end labels hang inward so the viewBox edge does not cut them off.
    anchors = {0: "start", len(items) - 1: "end"} if len(items) > 1 else {}
    texts = "".join(
        _text(items[i][1], x_of(items[i][0]), bottom + 11, anchors.get(i, "middle"))
        for i in _thin(len(items), 8)
    )
    return _el("g", texts, class_="x-labels", fill=_TEXT)


def _legend(
    items: Sequence[tuple[str, str]], *, x: float, y: float, width: float
) -> tuple[str, float]:
    """Swatches and names flowing left to right, wrapping at width; returns markup and height."""
    if not items:
        return "", 0.0
    parts, cx, cy = [], x, y
    for name, colour in items:
        name_w = min(len(str(name)) * _CHAR_W, width - 14)
        if cx > x and cx + 14 + name_w > x + width:
            cx, cy = x, cy + 16
        parts.append(_rect("", cx, cy + 2, 10, 10, fill=colour))
        parts.append(_text(name, cx + 14, cy + 7, max_w=width - 14))
        cx += 14 + name_w + 12
    return _el("g", "".join(parts), class_="legend"), cy - y + 16


def _text(
    text: str, x: float, y: float, anchor: str = "start", max_w: float = math.inf, **attrs: str
) -> str:
    """Text centred on y; cut to fit max_w px, with the whole text as its tooltip when cut."""
    shown, cut = _clip(str(text), max_w / _CHAR_W)
    content = (_tip(text) if cut else "") + _esc(shown)
    return _el("text", content, x=x, y=y, dy="0.35em", text_anchor=anchor, **attrs)


def _rect(tip: str, x: float, y: float, width: float, height: float, **attrs: float | str) -> str:
    return _el("rect", tip, x=x, y=y, width=width, height=height, **attrs)


def _columns(width: float) -> tuple[float, float]:
    """Where the bars of a horizontal chart start and end: labels left, values right."""
    return min(160.0, width * 0.3), width - _SIDE_W


def _clip(text: str, room: float) -> tuple[str, bool]:
    """The text, or as much as fits in ``room`` characters with an ellipsis, and whether cut."""
    if len(text) <= room:
        return text, False
    return text[: max(int(room) - 1, 0)] + "…", True


def _el(tag: str, content: str = "", /, **attrs: float | str) -> str:
    """One element. Numbers become 1-decimal coordinates and strings are escaped.

    ``content`` must already be markup built by these helpers. In attribute names ``_``
    stands for ``-``, and a trailing one is dropped (``class_``).
    """
    pairs = [
        f'{key.rstrip("_").replace("_", "-")}="'
        + (_f(value) if isinstance(value, int | float) else _esc(value))
        + '"'
        for key, value in attrs.items()
    ]
    head = " ".join([tag, *pairs])
    return f"<{head}>{content}</{tag}>" if content else f"<{head}/>"


def _tip(text: object) -> str:
    return f"<title>{_esc(text)}</title>"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


# Numbers and scales.


def _f(value: float) -> str:
    """A coordinate with at most one decimal, which is finer than a pixel needs."""
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def _plain(value: float) -> str:
    """A value as people read it: 3, not 3.0; otherwise up to 6 significant digits."""
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def _num(value: float | None) -> float | None:
    """A finite float, or None for missing, NaN and infinite values (drawn as gaps)."""
    number = None if value is None else float(value)
    return number if number is not None and math.isfinite(number) else None


def _or(value: float | None, default: float) -> float:
    number = _num(value)
    return default if number is None else number


def _count(value: float | None) -> float:
    """A bar's count: missing (None, NaN) counts as 0; a negative count is a caller's bug."""
    number = _num(value)
    if number is not None and number < 0:
        raise ValueError(f"counts cannot be negative, got {value!r}")
    return number or 0.0


def _clean_points(points: Iterable[tuple[float, float | None]]) -> list[tuple[float, float | None]]:
    """Points sorted by x, without those whose x is unusable; bad y values become None."""
    cleaned = [(_num(x), _num(y)) for x, y in points]
    return sorted(((x, y) for x, y in cleaned if x is not None), key=lambda point: point[0])


def _path_d(points: Iterable[tuple[float, float | None]], x_of: Scale, y_of: Scale) -> str:
    """Path data with one subpath per run of numbers, so each None y leaves a gap."""
    runs = (run for gap, run in groupby(points, key=lambda p: p[1] is None) if not gap)
    return " ".join("M" + " L".join(f"{_f(x_of(x))},{_f(y_of(y))}" for x, y in run) for run in runs)


def _span(lo: float, hi: float) -> tuple[float, float]:
    """An ordered range that is never empty: all-equal values get room around them."""
    lo, hi = min(lo, hi), max(lo, hi)
    if hi - lo > 1e-12 * max(1.0, abs(lo), abs(hi)):
        return lo, hi
    pad = abs(lo) * 0.1 or 1.0
    return lo - pad, hi + pad


def _scale(d0: float, d1: float, r0: float, r1: float) -> Scale:
    """Linear map from data [d0, d1] to px [r0, r1], clamped so marks stay in the viewBox."""
    d0, d1 = _span(d0, d1)
    k = (r1 - r0) / (d1 - d0)
    return lambda v: r0 + (min(max(v, d0), d1) - d0) * k


def _ticks(lo: float, hi: float, *, min_step: float = 0.0) -> list[float]:
    """Round values in [lo, hi] for gridlines: 3 to 5 of them unless min_step forbids it."""
    best: tuple[tuple[bool, int, int], int, int, float] | None = None
    exp = math.floor(math.log10(hi - lo))
    for step in (m * 10.0**e for e in range(exp - 2, exp + 1) for m in (1, 2, 2.5, 5)):
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        n = last - first + 1
        key = (not 3 <= n <= 5, abs(n - 4), -n)
        if step >= min_step and n >= 2 and (best is None or key < best[0]):
            best = (key, first, last, step)
    if best is None:
        return [lo, hi]
    _, first, last, step = best
    return [float(f"{i * step:.12g}") for i in range(first, last + 1)]


def _thin(n: int, limit: int) -> list[int]:
    """At most ``limit`` indices of ``range(n)``, evenly spread, first and last included."""
    if n <= limit:
        return list(range(n))
    if limit <= 1:
        return [0]
    return sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})
