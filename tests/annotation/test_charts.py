"""Inline SVG charts: well-formed markup, one mark per datum, escaped text, guarded numbers."""

import math
import re
import xml.etree.ElementTree as ET

import pytest
from django.utils.safestring import SafeString

from common.charts import (
    PALETTE,
    IntervalRow,
    Series,
    histogram,
    interval_bars,
    line_chart,
    sparkline,
    stacked_bars,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = """<script>alert("x")</script> & 'quoted'"""
COORDINATE = re.compile(r"-?\d+(\.\d)?")  # at most one decimal


def parse(chart: SafeString) -> ET.Element:
    assert isinstance(chart, SafeString)
    return ET.fromstring(str(chart))


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == cls]


def children(parent: ET.Element, tag: str) -> list[ET.Element]:
    return parent.findall(f"{SVG}{tag}")


def tip(element: ET.Element) -> str:
    return element.find(f"{SVG}title").text


def texts(element: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in element.iter(f"{SVG}text")]


def path_points(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"(-?[\d.]+),(-?[\d.]+)", d)]


def assert_frame(root: ET.Element, kind: str, title: str) -> None:
    assert root.tag == f"{SVG}svg"
    assert root.get("class") == f"chart chart-{kind}"
    assert root.get("role") == "img"
    assert root.get("aria-label")
    assert root.get("width") == "100%"
    assert root[0].tag == f"{SVG}title" and root[0].text == title


def assert_inside_view_box(root: ET.Element) -> None:
    """Every coordinate lies in the viewBox and has at most one decimal."""
    _, _, width, height = map(float, root.get("viewBox").split())
    for element in root.iter():
        for names, limit in ((("x", "x1", "x2", "cx"), width), (("y", "y1", "y2", "cy"), height)):
            for name in names:
                if (value := element.get(name)) is not None:
                    assert COORDINATE.fullmatch(value), (element.tag, name, value)
                    assert 0 <= float(value) <= limit, (element.tag, name, value)
        if element.tag == f"{SVG}rect":
            assert float(element.get("x")) + float(element.get("width")) <= width
            assert float(element.get("y")) + float(element.get("height")) <= height
            assert float(element.get("width")) >= 0 and float(element.get("height")) >= 0
        if element.tag == f"{SVG}path":
            for number in re.findall(r"[\d.]+", element.get("d")):
                assert COORDINATE.fullmatch(number), number
            for x, y in path_points(element.get("d")):
                assert 0 <= x <= width and 0 <= y <= height


# line_chart


def test_line_chart_draws_one_path_and_a_dot_per_point_for_each_series():
    # given
    series = [
        Series("Model A", [(0, 0.4), (1, 0.5), (2, 0.55), (3, 0.6)]),
        Series("Model B", [(0, 0.7), (1, 0.65), (2, 0.6), (3, 0.5)]),
    ]

    # when
    root = parse(line_chart(series, title="Agreement", x_labels=["Mon", "Tue", "Wed", "Thu"]))

    # then
    assert_frame(root, "line", "Agreement")
    assert_inside_view_box(root)
    drawn = groups(root, "series")
    assert [len(children(g, "path")) for g in drawn] == [1, 1]
    assert [len(children(g, "circle")) for g in drawn] == [4, 4]
    assert [g.get("stroke") for g in drawn] == list(PALETTE[:2])
    assert [tip(children(g, "path")[0]) for g in drawn] == ["Model A", "Model B"]
    assert texts(groups(root, "legend")[0]) == ["Model A", "Model B"]
    assert texts(groups(root, "x-labels")[0]) == ["Mon", "Tue", "Wed", "Thu"]
    assert root.get("font-size") == "11"


@pytest.mark.parametrize("gap", [None, math.nan, math.inf])
def test_a_missing_value_splits_the_line_into_two_segments(gap):
    # given
    series = [Series("rate", [(0, 0.1), (1, 0.2), (2, gap), (3, 0.4), (4, 0.5)])]

    # when
    root = parse(line_chart(series, title="Rate"))

    # then
    (path,) = root.iter(f"{SVG}path")
    assert path.get("d").count("M") == 2
    assert len(path_points(path.get("d"))) == 4
    assert len(list(root.iter(f"{SVG}circle"))) == 4
    assert_inside_view_box(root)


def test_line_chart_tooltips_give_each_exact_value_with_its_x_label():
    # given
    series = [Series("Model A", [(0, 0.625), (1, 0.5)]), Series("Model B", [(0, 0.25), (1, 1)])]

    # when
    root = parse(line_chart(series, title="Win rate", y_format="{:.1%}", x_labels=["Mon", "Tue"]))

    # then
    dots = [tip(c) for c in root.iter(f"{SVG}circle")]
    assert dots == [
        "Model A · Mon: 62.5%",
        "Model A · Tue: 50.0%",
        "Model B · Mon: 25.0%",
        "Model B · Tue: 100.0%",
    ]


def test_line_chart_tooltips_fall_back_to_the_x_value_without_labels():
    root = parse(line_chart([Series("kappa", [(738000, 0.25), (738001, 0.5)])], title="Kappa"))

    assert [tip(c) for c in root.iter(f"{SVG}circle")] == [
        "kappa · 738000: 0.25",
        "kappa · 738001: 0.50",
    ]


@pytest.mark.parametrize(
    "values",
    [(0, 1), (0.62, 0.71), (-3, 1000), (5, 5), (1e-4, 3e-4), (0, 7), (0.5, 0.5), (0, 0), (-1, -1)],
)
def test_line_chart_draws_three_to_five_labelled_gridlines(values):
    # given
    series = [Series("s", [(i, v) for i, v in enumerate(values)])]

    # when
    root = parse(line_chart(series, title="t"))

    # then
    grid = groups(root, "grid")[0]
    assert 3 <= len(children(grid, "line")) <= 5
    assert len(children(grid, "text")) == len(children(grid, "line"))
    assert_inside_view_box(root)


def test_line_chart_all_equal_values_draw_a_flat_line_without_dividing_by_zero():
    root = parse(line_chart([Series("flat", [(0, 0.5), (1, 0.5), (2, 0.5)])], title="Flat"))

    (path,) = root.iter(f"{SVG}path")
    assert len({y for _, y in path_points(path.get("d"))}) == 1
    assert_inside_view_box(root)


def test_line_chart_single_point_sits_inside_the_plot():
    root = parse(line_chart([Series("one", [(3, 0.5)])], title="One", x_labels=["Mon"]))

    (dot,) = root.iter(f"{SVG}circle")
    assert tip(dot) == "one · Mon: 0.50"
    assert_inside_view_box(root)


def test_line_chart_y_range_clamps_marks_but_tooltips_keep_the_value():
    # given
    series = [Series("s", [(0, -0.2), (1, 0.5), (2, 1.5)])]

    # when
    root = parse(line_chart(series, title="t", y_min=0, y_max=1))

    # then
    assert_inside_view_box(root)
    assert [tip(c) for c in root.iter(f"{SVG}circle")][2] == "s · 2: 1.50"
    grid_labels = texts(groups(root, "grid")[0])
    assert grid_labels[0] == "0.00" and grid_labels[-1] == "1.00"


def test_line_chart_thins_x_labels_to_eight_keeping_both_ends():
    # given
    days = [f"d{i}" for i in range(30)]

    # when
    root = parse(
        line_chart([Series("s", [(i, i % 7) for i in range(30)])], title="t", x_labels=days)
    )

    # then
    shown = texts(groups(root, "x-labels")[0])
    assert len(shown) == 8
    assert shown[0] == "d0" and shown[-1] == "d29"


def test_line_chart_with_one_series_has_no_legend_and_takes_its_colour():
    root = parse(line_chart([Series("s", [(0, 1), (1, 2)], colour="#123456")], title="t"))

    assert groups(root, "legend") == []
    assert groups(root, "series")[0].get("stroke") == "#123456"


@pytest.mark.parametrize(
    "series",
    [[], [Series("a", [])], [Series("a", [(0, None), (1, math.nan), (math.nan, 1)])]],
    ids=["no series", "no points", "no numbers"],
)
def test_line_chart_without_numbers_says_no_data_yet(series):
    root = parse(line_chart(series, title="Agreement"))

    assert_frame(root, "line", "Agreement")
    assert texts(root) == ["No data yet"]
    assert root.get("aria-label") == "Agreement: no data yet"
    assert list(root.iter(f"{SVG}path")) == []


# histogram


def test_histogram_draws_one_bar_per_bin_with_its_count_as_tooltip():
    # given
    bins = [("0-1", 3), ("1-2", 0), ("2-3", 7)]

    # when
    root = parse(histogram(bins, title="Seconds per item"))

    # then
    assert_frame(root, "histogram", "Seconds per item")
    assert_inside_view_box(root)
    bars = children(groups(root, "bars")[0], "rect")
    assert [tip(b) for b in bars] == ["0-1: 3", "1-2: 0", "2-3: 7"]
    heights = [float(b.get("height")) for b in bars]
    assert heights[1] == 0
    assert heights[2] / heights[0] == pytest.approx(7 / 3, rel=0.01)
    assert texts(groups(root, "x-labels")[0]) == ["0-1", "1-2", "2-3"]


def test_histogram_thins_labels_when_bins_are_many():
    root = parse(histogram([(f"{i}-{i + 1}", i) for i in range(100)], title="t"))

    assert len(children(groups(root, "bars")[0], "rect")) == 100
    shown = texts(groups(root, "x-labels")[0])
    assert 1 < len(shown) < 100
    assert shown[0] == "0-1" and shown[-1] == "99-100"
    assert_inside_view_box(root)


def test_histogram_of_zeros_does_not_divide_by_zero():
    root = parse(histogram([("a", 0), ("b", 0)], title="t"))

    assert [float(b.get("height")) for b in root.iter(f"{SVG}rect")] == [0, 0]
    assert_inside_view_box(root)


def test_histogram_counts_a_missing_count_as_zero():
    root = parse(histogram([("a", math.nan), ("b", 2)], title="t"))

    assert [tip(b) for b in root.iter(f"{SVG}rect")] == ["a: 0", "b: 2"]


def test_histogram_rejects_negative_counts():
    with pytest.raises(ValueError, match="negative"):
        histogram([("a", 1), ("b", -1)], title="t")


def test_histogram_without_bins_says_no_data_yet():
    root = parse(histogram([], title="t"))

    assert texts(root) == ["No data yet"]


# sparkline


def test_sparkline_draws_a_line_and_marks_the_last_point():
    # given
    values = [0.5, 0.6, 0.55, 0.75, None]

    # when
    root = parse(sparkline(values, title="Agreement"))

    # then
    assert_frame(root, "sparkline", "Agreement")
    assert root.get("viewBox") == "0 0 90 20"
    assert_inside_view_box(root)
    (path,) = root.iter(f"{SVG}path")
    assert len(path_points(path.get("d"))) == 4
    (dot,) = root.iter(f"{SVG}circle")
    assert tip(dot) == "last: 0.75"
    assert (float(dot.get("cx")), float(dot.get("cy"))) == path_points(path.get("d"))[-1]
    assert root.get("aria-label") == "Agreement, last 0.75"
    assert list(root.iter(f"{SVG}line")) == [] and list(root.iter(f"{SVG}text")) == []


def test_sparkline_gap_splits_the_line():
    root = parse(sparkline([1, 2, None, 3, 4]))

    (path,) = root.iter(f"{SVG}path")
    assert path.get("d").count("M") == 2


def test_sparkline_of_equal_values_is_flat_and_inside():
    root = parse(sparkline([3, 3, 3], width=120, height=30))

    (path,) = root.iter(f"{SVG}path")
    assert len({y for _, y in path_points(path.get("d"))}) == 1
    assert root.get("viewBox") == "0 0 120 30"
    assert_inside_view_box(root)


@pytest.mark.parametrize("values", [[], [1.0], [None, 2.0, math.nan]])
def test_sparkline_with_fewer_than_two_numbers_is_an_empty_svg_of_the_same_size(values):
    root = parse(sparkline(values, width=90, height=20))

    assert root.get("viewBox") == "0 0 90 20"
    assert root.get("aria-label") == "no trend yet"
    assert [child.tag for child in root] == [f"{SVG}title"]


# interval_bars


def win_rates(n: int) -> list[IntervalRow]:
    return [IntervalRow(f"model-{i}", 0.5 + i / 20, 0.45 + i / 20, 0.6 + i / 20) for i in range(n)]


def test_interval_bars_draw_a_bar_and_whisker_per_row_and_the_reference_line():
    # given
    rows = win_rates(3)

    # when
    root = parse(interval_bars(rows, title="Win rate vs baseline"))

    # then
    assert_frame(root, "interval", "Win rate vs baseline")
    assert_inside_view_box(root)
    drawn = groups(root, "row")
    assert len(drawn) == 3
    assert [len([r for r in children(g, "rect") if r.get("class") == "bar"]) for g in drawn] == [
        1,
        1,
        1,
    ]
    assert [
        len([p for p in children(g, "path") if p.get("class") == "whisker"]) for g in drawn
    ] == [1, 1, 1]
    (reference,) = [x for x in root.iter(f"{SVG}line") if x.get("class") == "reference"]
    assert reference.get("stroke-dasharray")
    axis = [t for t in groups(root, "x-labels")[0].iter(f"{SVG}text")]
    middle = {t.text: float(t.get("x")) for t in axis}
    assert float(reference.get("x1")) == middle["50%"]
    assert middle["0%"] < middle["50%"] < middle["100%"]


def test_interval_row_tooltip_and_text_give_value_interval_and_note():
    # given
    rows = [IntervalRow("Model A", 0.62, 0.55, 0.69, note="n=42")]

    # when
    root = parse(interval_bars(rows, title="t"))

    # then
    (row,) = groups(root, "row")
    (bar,) = children(row, "rect")
    assert tip(bar) == "Model A: 62% (55% to 69%) · n=42"
    (whisker,) = children(row, "path")
    assert tip(whisker) == tip(bar)
    assert texts(row) == ["Model A", "62% n=42"]


def test_interval_bars_height_grows_with_rows():
    heights = [
        float(parse(interval_bars(win_rates(n), title="t")).get("viewBox").split()[3])
        for n in (3, 6)
    ]

    assert heights[1] - heights[0] == 3 * 22


@pytest.mark.parametrize("reference", [None, 1.5, math.nan])
def test_interval_bars_skip_a_reference_outside_the_range(reference):
    root = parse(interval_bars(win_rates(2), title="t", reference=reference))

    assert [x for x in root.iter(f"{SVG}line") if x.get("class") == "reference"] == []


def test_interval_bars_clamp_out_of_range_values_and_order_the_whisker():
    # given
    rows = [IntervalRow("over", 1.4, 1.6, 0.9), IntervalRow("under", -0.3, -0.5, 0.1)]

    # when
    root = parse(interval_bars(rows, title="t"))

    # then
    assert_inside_view_box(root)
    assert tip(children(groups(root, "row")[0], "rect")[0]) == "over: 140% (90% to 160%)"


def test_interval_bars_with_an_equal_range_do_not_divide_by_zero():
    root = parse(interval_bars(win_rates(2), title="t", x_min=0.5, x_max=0.5))

    assert_inside_view_box(root)


def test_interval_row_without_a_value_still_draws_its_whisker():
    root = parse(interval_bars([IntervalRow("none", math.nan, 0.4, 0.6)], title="t"))

    (row,) = groups(root, "row")
    assert children(row, "rect") == []
    assert len(children(row, "path")) == 1


def test_interval_bars_without_rows_say_no_data_yet():
    assert texts(parse(interval_bars([], title="t"))) == ["No data yet"]


# stacked_bars


def test_stacked_bars_split_each_row_by_share_with_a_shared_legend():
    # given
    rows = [
        ("Round 1", [("agree", 3), ("disagree", 7)]),
        ("Round 2", [("agree", 5), ("skip", 0), ("disagree", 5)]),
        ("Round 3", [("skip", 1)]),
    ]

    # when
    root = parse(stacked_bars(rows, title="Outcomes per round"))

    # then
    assert_frame(root, "stacked", "Outcomes per round")
    assert_inside_view_box(root)
    drawn = groups(root, "row")
    segments = [children(g, "rect") for g in drawn]
    assert [len(s) for s in segments] == [2, 2, 1]
    assert [tip(r) for r in segments[0]] == ["agree: 3 (30%)", "disagree: 7 (70%)"]
    assert [tip(r) for r in segments[1]] == ["agree: 5 (50%)", "disagree: 5 (50%)"]
    widths = [sum(float(r.get("width")) for r in s) for s in segments]
    assert widths == pytest.approx([widths[0]] * 3, abs=0.2)
    assert float(segments[0][0].get("width")) == pytest.approx(widths[0] * 0.3, abs=0.2)
    assert texts(groups(root, "legend")[0]) == ["agree", "disagree", "skip"]
    colours = {tip(r).split(":")[0]: r.get("fill") for s in segments for r in s}
    assert colours == {"agree": PALETTE[0], "disagree": PALETTE[1], "skip": PALETTE[2]}
    assert [texts(g)[-1] for g in drawn] == ["10", "10", "1"]


def test_stacked_bars_take_given_colours():
    root = parse(
        stacked_bars([("r", [("good", 1), ("bad", 1)])], title="t", colours={"bad": "#ff0000"})
    )

    assert [r.get("fill") for r in children(groups(root, "row")[0], "rect")] == [
        PALETTE[0],
        "#ff0000",
    ]


def test_stacked_bars_row_of_zeros_draws_no_segments():
    root = parse(stacked_bars([("empty", [("a", 0)]), ("none", [])], title="t"))

    assert [children(g, "rect") for g in groups(root, "row")] == [[], []]
    assert [texts(g)[-1] for g in groups(root, "row")] == ["0", "0"]


def test_stacked_bars_reject_negative_counts():
    with pytest.raises(ValueError, match="negative"):
        stacked_bars([("r", [("a", 2), ("b", -1)])], title="t")


def test_stacked_bars_without_rows_say_no_data_yet():
    assert texts(parse(stacked_bars([], title="t"))) == ["No data yet"]


# Escaping: names and labels come from users.

ATTRIBUTES = set(
    "class role aria-label viewBox width height style font-family font-size x y x1 x2 y1 y2"
    " cx cy r d dy fill stroke stroke-width stroke-dasharray fill-opacity text-anchor".split()
)
HOSTILE_CHARTS = {
    "line": lambda: line_chart(
        [Series(HOSTILE, [(0, 1), (1, 2)], colour='red" onload="x'), Series("b", [(0, 2), (1, 1)])],
        title=HOSTILE,
        x_labels=[HOSTILE, HOSTILE],
        y_format=HOSTILE + "{:.1f}",
    ),
    "histogram": lambda: histogram([(HOSTILE, 3)], title=HOSTILE, colour='"><script>'),
    "sparkline": lambda: sparkline([1, 2], title=HOSTILE),
    "interval": lambda: interval_bars(
        [IntervalRow(HOSTILE, 0.6, 0.5, 0.7, note=HOSTILE)], title=HOSTILE
    ),
    "stacked": lambda: stacked_bars(
        [(HOSTILE, [(HOSTILE, 2)])], title=HOSTILE, colours={HOSTILE: HOSTILE}
    ),
    "empty": lambda: line_chart([], title=HOSTILE),
}


@pytest.mark.parametrize("make", HOSTILE_CHARTS.values(), ids=HOSTILE_CHARTS.keys())
def test_text_from_data_is_escaped(make):
    # when
    chart = make()
    root = parse(chart)

    # then
    assert "<script>" not in chart
    assert "&lt;script&gt;" in chart and "&quot;" in chart and "&amp;" in chart
    assert root[0].text == HOSTILE
    assert HOSTILE in root.get("aria-label")
    # A quote in a colour must not close its attribute and open another (e.g. onload).
    assert {name for e in root.iter() for name in e.attrib} <= ATTRIBUTES
    assert not [e for e in root.iter() if e.tag.endswith("script")]


def test_step_axes_label_only_values_the_format_writes_exactly_and_name_both_axes():
    # given three training steps drawn with integer step labels and axis titles
    chart = line_chart([Series("loss", [(1, 0.9), (2, 0.7), (3, 0.6)])], title="Loss",
                       x_format="{:.0f}", x_title="training step", y_title="loss (nats)")  # fmt: skip
    root = parse(chart)
    # then the steps are labelled once each (no 1.5 written as "2") and the axes are named
    (x_labels,) = groups(root, "x-labels")
    assert [t.text for t in children(x_labels, "text")] == ["1", "2", "3"]
    (titles,) = groups(root, "axis-titles")
    assert [t.text for t in children(titles, "text")] == ["training step", "loss (nats)"]
