"""Chart specs: what a chart shows, as plain data, for ``templates/partials/chart.html``.

Pages build a ``Chart`` in Python (the numbers are tested there) and the partial renders it
twice: as JSON that ``static/js/charts.js`` draws with the vendored uPlot (hover values,
zoom, smoothing), and as a table or a short summary for readers without JavaScript. No
markup is built here, so names typed by users (annotators, models, runs) are escaped by the
template like any other text.
"""

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Okabe & Ito's colour-blind-safe palette, the darker colours first (AA against white).
PALETTE: tuple[str, ...] = tuple("#0072B2 #D55E00 #009E73 #CC79A7 #E69F00 #56B4E9 #000000".split())
KINDS = ("line", "bar", "scatter")
TABLE_ROWS = 20  # longer series are summarised (first, last, min, max) instead of tabled

Point = tuple[float, float | None]


@dataclass(frozen=True)
class Axis:
    """An axis's name and unit, its range, and how its numbers are written.

    ``labels`` make the axis categorical: label i names x == i (days, bins, models).
    ``format`` is a Python format for one number ("{:.3f}", "{:.1e}", "{:.0%}")."""

    name: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    log: bool = False
    format: str = "{:.6g}"
    labels: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name

    def text(self, value: float | None) -> str:
        """A value as the axis writes it; a label on a categorical axis; '—' when missing."""
        if value is None:
            return "—"
        if self.labels and float(value).is_integer() and 0 <= value < len(self.labels):
            return self.labels[int(value)]
        return self.format.format(value)


@dataclass(frozen=True)
class Series:
    """One named line or set of bars; a None y leaves a gap. ``intervals`` give each
    point's (low, high), drawn as whiskers (e.g. a 95% interval)."""

    name: str
    points: Sequence[Point]
    colour: str | None = None
    intervals: Sequence[tuple[float, float] | None] = ()


@dataclass(frozen=True)
class Reference:
    """A dashed horizontal line at ``value``, e.g. 50% (a coin flip)."""

    value: float
    label: str


@dataclass(frozen=True)
class Chart:
    """One chart: ``smooth`` offers the EMA slider (noisy training curves); ``stacked``
    piles the bars of the series on each other."""

    title: str
    x: Axis
    y: Axis
    series: Sequence[Series]
    kind: str = "line"
    smooth: bool = False
    stacked: bool = False
    reference: Reference | None = None
    group: str = ""  # charts of one group share their smoothing slider
    series_points: list = field(init=False, repr=False, compare=False)
    series_intervals: list = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"chart kind must be one of {KINDS}, got {self.kind!r}")
        cleaned = [_clean(s.points, s.intervals, stacked=self.stacked) for s in self.series]
        object.__setattr__(self, "series_points", [[(x, y) for x, y, _ in c] for c in cleaned])
        object.__setattr__(self, "series_intervals", [[i for _, _, i in c] for c in cleaned])

    @property
    def empty(self) -> bool:
        return not any(y is not None for points in self.series_points for _, y in points)

    def payload(self) -> dict:
        """What charts.js draws: plain JSON, numbers already cleaned."""
        ref = self.reference
        return {
            "title": self.title,
            "kind": self.kind,
            "smooth": self.smooth,
            "stacked": self.stacked,
            "group": self.group,
            "x": _axis_json(self.x),
            "y": _axis_json(self.y),
            "reference": {"value": ref.value, "label": ref.label} if _usable(ref) else None,
            "series": [
                {
                    "name": s.name,
                    "colour": s.colour or PALETTE[i % len(PALETTE)],
                    "points": [[x, y] for x, y in points],
                    "intervals": intervals if any(intervals) else [],
                }
                for i, (s, points, intervals) in enumerate(
                    zip(self.series, self.series_points, self.series_intervals, strict=True)
                )
            ],
        }

    @property
    def long(self) -> bool:
        return len(self._xs()) > TABLE_ROWS

    def table(self) -> dict:
        """The no-JS fallback: a row per x with a column per series."""
        columns = [
            {x: self._cell(y, bounds) for (x, y), bounds in zip(points, intervals, strict=True)}
            for points, intervals in zip(self.series_points, self.series_intervals, strict=True)
        ]
        return {
            "head": [self.x.title, *(s.name for s in self.series)],
            "rows": [[self.x.text(x), *(c.get(x, "—") for c in columns)] for x in self._xs()],
        }

    def _cell(self, y: float | None, bounds: list[float] | None) -> str:
        if bounds is None:
            return self.y.text(y)
        return f"{self.y.text(y)} ({self.y.text(bounds[0])} to {self.y.text(bounds[1])})"

    def summary(self) -> list[str]:
        """The no-JS fallback for long series: first, last, lowest and highest per series."""
        lines = []
        for s, points in zip(self.series, self.series_points, strict=True):
            numbers = [(x, y) for x, y in points if y is not None]
            if not numbers:
                lines.append(f"{s.name}: no data")
                continue
            low, high = min(numbers, key=lambda p: p[1]), max(numbers, key=lambda p: p[1])
            lines.append(
                f"{s.name}: {len(numbers)} points; first {self._at(numbers[0])}, last "
                f"{self._at(numbers[-1])}, lowest {self._at(low)}, highest {self._at(high)}"
            )
        return lines

    def _at(self, point: Point) -> str:
        return f"{self.y.text(point[1])} at {self.x.name} {self.x.text(point[0])}"

    def _xs(self) -> list[float]:
        return sorted({x for points in self.series_points for x, _ in points})


def _axis_json(axis: Axis) -> dict:
    return {
        "title": axis.title,
        "min": _num(axis.min),
        "max": _num(axis.max),
        "log": axis.log,
        "format": js_format(axis.format),
        "labels": list(axis.labels),
    }


def js_format(python_format: str) -> dict:
    """A Python number format as charts.js writes it: decimals and a style."""
    found = re.fullmatch(r"\{:\.(\d+)([fe%g])\}", python_format)
    if not found:
        return {"style": "g", "decimals": 6}
    return {"style": found[2], "decimals": int(found[1])}


def _usable(reference: Reference | None) -> bool:
    return reference is not None and _num(reference.value) is not None


def _num(value: float | None) -> float | None:
    """A finite float, or None for missing, NaN and infinite values (drawn as gaps)."""
    number = None if value is None else float(value)
    return number if number is not None and math.isfinite(number) else None


def _clean(
    points: Iterable[Point], intervals: Sequence, *, stacked: bool
) -> list[tuple[float, float | None, list[float] | None]]:
    """(x, y, [low, high] or None) sorted by x, without points whose x is unusable; bad y
    values become None. Stacked bars are counts, so a negative one is the caller's bug."""
    rows = []
    for i, (x, y) in enumerate(points):
        pair = intervals[i] if i < len(intervals) else None
        low, high = (_num(v) for v in pair) if pair else (None, None)
        bounds = sorted((low, high)) if low is not None and high is not None else None
        if (number := _num(x)) is not None:
            rows.append((number, _num(y), bounds))
    if stacked and any(y is not None and y < 0 for _, y, _ in rows):
        raise ValueError(f"counts cannot be negative, got {[y for _, y, _ in rows]!r}")
    return sorted(rows, key=lambda row: row[0])


def counts(values: Iterable[float | None]) -> list[Point]:
    """Bars of a categorical chart, bar i at x == i: a missing count (None, NaN) is 0, and a
    negative one is the caller's bug."""
    numbers = [_num(v) or 0.0 for v in values]
    if any(n < 0 for n in numbers):
        raise ValueError(f"counts cannot be negative, got {numbers!r}")
    return list(enumerate(numbers))
