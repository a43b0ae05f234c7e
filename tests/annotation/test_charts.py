"""Chart specs (common/charts.py), their no-JS rendering (templates/partials/chart.html), the
dashboard's and runs' chart builders, and the table sparkline: which data each chart shows."""

import json
import math
import re
import xml.etree.ElementTree as ET

import pytest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from common.charts import PALETTE, TABLE_ROWS, Axis, Chart, Reference, Series, counts, js_format
from common.sparkline import sparkline

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = """<script>alert("x")</script> & 'quoted'"""
COORDINATE = re.compile(r"-?\d+(\.\d)?")  # at most one decimal
STEP = Axis("training step", format="{:.0f}")
SHARE = Axis("agreement", "share of pairs", min=0, max=1, format="{:.0%}")


def line(*series: Series, **options) -> Chart:
    return Chart("Agreement", STEP, Axis("loss", "nats", format="{:.2f}"), series, **options)


def rendered(chart: Chart) -> str:
    return render_to_string("partials/chart.html", {"chart": chart})


def payload_in(html: str) -> dict:
    found = re.search(r'<script[^>]*type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found[1])


# The spec: what charts.js draws.


def test_a_line_chart_carries_its_title_axes_with_units_series_and_palette_colours():
    # given
    chart = line(Series("Model A", [(0, 0.4), (1, 0.5)]), Series("Model B", [(0, 0.7), (1, 0.6)]))

    # when
    data = chart.payload()

    # then
    assert data["title"] == "Agreement" and data["kind"] == "line"
    assert data["x"]["title"] == "training step" and data["y"]["title"] == "loss (nats)"
    assert data["y"]["format"] == {"style": "f", "decimals": 2}
    assert [s["name"] for s in data["series"]] == ["Model A", "Model B"]
    assert [s["colour"] for s in data["series"]] == list(PALETTE[:2])
    assert data["series"][0]["points"] == [[0, 0.4], [1, 0.5]]
    json.dumps(data, allow_nan=False)  # plain JSON: no NaN or Infinity reaches the page


@pytest.mark.parametrize("gap", [None, math.nan, math.inf])
def test_a_missing_value_is_a_gap_and_a_point_without_x_is_dropped(gap):
    chart = line(Series("rate", [(2, 0.1), (0, 0.2), (1, gap), (math.nan, 0.4)]))

    assert chart.payload()["series"][0]["points"] == [[0, 0.2], [1, None], [2, 0.1]]


def test_a_series_keeps_its_colour_and_intervals_follow_their_points_when_sorted():
    chart = Chart("t", Axis("model", labels=("a", "b")), SHARE,
                  [Series("rate", [(1, 0.7), (0, 0.6)], colour="#123456",
                          intervals=[(0.8, 0.6), (0.5, 0.7)])], kind="bar")  # fmt: skip

    (series,) = chart.payload()["series"]
    assert series["colour"] == "#123456"
    assert series["points"] == [[0, 0.6], [1, 0.7]]
    assert series["intervals"] == [[0.5, 0.7], [0.6, 0.8]]  # ordered low to high


@pytest.mark.parametrize(
    ("python", "js"),
    [("{:.3f}", ("f", 3)), ("{:.1e}", ("e", 1)), ("{:.0%}", ("%", 0)), ("{}", ("g", 6))],
)
def test_python_number_formats_become_decimals_and_a_style_for_the_browser(python, js):
    assert js_format(python) == {"style": js[0], "decimals": js[1]}


@pytest.mark.parametrize("reference", [math.nan, None])
def test_an_unusable_reference_is_left_out(reference):
    chart = line(
        Series("s", [(0, 1)]), reference=Reference(reference, "coin") if reference else None
    )

    assert chart.payload()["reference"] is None


def test_a_reference_line_carries_its_value_and_label():
    chart = line(Series("s", [(0, 1)]), reference=Reference(0.5, "a coin flip"))

    assert chart.payload()["reference"] == {"value": 0.5, "label": "a coin flip"}


@pytest.mark.parametrize(
    "series",
    [[], [Series("a", [])], [Series("a", [(0, None), (1, math.nan), (math.nan, 1)])]],
    ids=["no series", "no points", "no numbers"],
)
def test_a_chart_without_numbers_is_empty_and_says_no_data_yet(series):
    chart = line(*series)

    assert chart.empty
    html = rendered(chart)
    assert "No data yet" in html and "application/json" not in html


def test_counts_of_a_bar_chart_treat_missing_as_zero_and_refuse_negatives():
    assert counts([3, None, math.nan, 7]) == [(0, 3), (1, 0.0), (2, 0.0), (3, 7)]
    with pytest.raises(ValueError, match="negative"):
        counts([1, -1])


def test_stacked_bars_refuse_negative_counts():
    with pytest.raises(ValueError, match="negative"):
        Chart("t", STEP, STEP, [Series("a", [(0, 2), (1, -1)])], kind="bar", stacked=True)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        Chart("t", STEP, STEP, [], kind="pie")


# The no-JS view: a table of the data, or a summary of long series.


def test_the_fallback_table_has_a_row_per_x_and_a_column_per_series_with_formatted_values():
    # given
    chart = Chart(
        "Win rate", Axis("day", labels=("Mon", "Tue")), SHARE,
        [Series("Model A", [(0, 0.625), (1, 0.5)]), Series("Model B", [(1, 1)])],
    )  # fmt: skip

    # when
    table = chart.table()

    # then
    assert table["head"] == ["day", "Model A", "Model B"]
    assert table["rows"] == [["Mon", "62%", "—"], ["Tue", "50%", "100%"]]


def test_the_fallback_table_gives_intervals_and_raw_values_beyond_the_axis_range():
    chart = Chart("t", Axis("model", labels=("over",)), SHARE,
                  [Series("rate", [(0, 1.4)], intervals=[(1.6, 0.9)])], kind="bar")  # fmt: skip

    assert chart.table()["rows"] == [["over", "140% (90% to 160%)"]]


def test_long_series_are_summarised_by_first_last_lowest_and_highest():
    # given
    points = [(step, 1 / step) for step in range(1, TABLE_ROWS + 6)]
    chart = line(Series("loss", points), Series("eval loss", []))

    # when
    html = rendered(chart)

    # then
    assert chart.long and "<table" not in html and "Data in brief" in html
    assert chart.summary() == [
        f"loss: {len(points)} points; first 1.00 at training step 1, last 0.04 at training "
        f"step {len(points)}, lowest 0.04 at training step {len(points)}, highest 1.00 at "
        "training step 1",
        "eval loss: no data",
    ]


def test_the_partial_renders_a_figure_with_caption_json_an_accessible_plot_and_the_table():
    # given
    chart = line(Series("loss", [(1, 0.9), (2, 0.7), (3, 0.6)]), smooth=True, group="run")

    # when
    html = rendered(chart)

    # then
    assert '<figure class="chart" data-chart-kind="line" data-chart-group="run">' in html
    assert "<figcaption>Agreement</figcaption>" in html
    assert payload_in(html) == json.loads(json.dumps(chart.payload()))
    assert (
        '<div class="chart-plot" role="img" aria-label="Agreement: loss (nats) by training step">'
        in html
    )
    assert '<details class="chart-data" open>' in html
    assert [row for row in re.findall(r'<th scope="row">(.*?)</th>', html)] == ["1", "2", "3"]
    assert "<td>0.90</td>" in html and "<td>0.60</td>" in html
    assert "style=" not in html and "<script>" not in html  # the page's CSP allows neither


def test_under_a_card_heading_the_caption_only_names_the_figure_for_screen_readers():
    # given a chart in a card whose heading already says what it shows
    chart = line(Series("loss", [(1, 0.9)]))

    # when it is rendered with its caption hidden
    html = render_to_string("partials/chart.html", {"chart": chart, "caption_hidden": True})

    # then the caption is still there, as the figure's accessible name, but not shown
    assert '<figcaption class="visually-hidden">Agreement</figcaption>' in html


def test_text_from_data_is_escaped_in_every_part_of_the_rendered_chart():
    # given names typed by users in the title, the axis labels and the series
    chart = Chart(HOSTILE, Axis(HOSTILE, labels=(HOSTILE,)), Axis(HOSTILE, HOSTILE),
                  [Series(HOSTILE, [(0, 1)], colour=HOSTILE)], kind="bar",
                  reference=Reference(0.5, HOSTILE))  # fmt: skip

    # when
    html = rendered(chart)

    # then nothing of theirs becomes markup, and the data reads back unchanged
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert payload_in(html)["series"][0]["name"] == HOSTILE
    assert payload_in(html)["x"]["labels"] == [HOSTILE]


# The pages' chart builders.


def test_the_dashboard_charts_show_its_stored_series():
    from annotation.quality.selectors.charts import dashboard_charts

    class Summary:
        series = {
            "days": ["2026-11-21", "2026-11-22"],
            "annotations": [4, 6],
            "agreement": [0.5, None],
            "agreement_bins": [["0-0.5", 3], ["0.5-1", 0]],
            "rounds": [{"round": 1, "complete": 3, "in_progress": 1, "open": 6}],
            "wins": [{"model": "m1", "rate": 0.6, "low": 0.5, "high": 0.7, "games": 9}],
        }

    charts = dashboard_charts(Summary())

    assert charts["throughput"].payload()["series"][0]["points"] == [[0, 4], [1, 6]]
    assert charts["agreement"].payload()["series"][0]["points"] == [[0, 0.5], [1, None]]
    assert charts["distribution"].table()["rows"] == [["0-0.5", "3"], ["0.5-1", "0"]]
    rounds = charts["rounds"]
    assert rounds.stacked and rounds.kind == "bar"
    assert rounds.table() == {"head": ["round", "complete", "in progress", "open"],
                              "rows": [["Round 1", "3", "1", "6"]]}  # fmt: skip
    wins = charts["wins"]
    assert wins.table()["rows"] == [["m1 (9 games)", "60% (50% to 70%)"]]
    assert wins.payload()["reference"] == {"value": 0.5, "label": "a coin flip"}


def test_the_dashboard_without_a_summary_draws_empty_charts():
    from annotation.quality.selectors.charts import dashboard_charts

    charts = dashboard_charts(None)

    assert all(chart.empty for chart in charts.values())


# The sparkline: a glyph in a table cell, still drawn on the server.


def parse(chart: SafeString) -> ET.Element:
    assert isinstance(chart, SafeString)
    return ET.fromstring(str(chart))


def path_points(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"(-?[\d.]+),(-?[\d.]+)", d)]


def assert_inside_view_box(root: ET.Element) -> None:
    _, _, width, height = map(float, root.get("viewBox").split())
    for element in root.iter():
        for names, limit in ((("cx",), width), (("cy",), height)):
            for name in names:
                if (value := element.get(name)) is not None:
                    assert COORDINATE.fullmatch(value) and 0 <= float(value) <= limit
        if element.tag == f"{SVG}path":
            for x, y in path_points(element.get("d")):
                assert 0 <= x <= width and 0 <= y <= height


def test_sparkline_draws_a_line_and_marks_the_last_point():
    # given
    values = [0.5, 0.6, 0.55, 0.75, None]

    # when
    root = parse(sparkline(values, title="Agreement"))

    # then
    assert root.get("class") == "chart chart-sparkline" and root.get("role") == "img"
    assert root.get("viewBox") == "0 0 90 20"
    assert root[0].tag == f"{SVG}title" and root[0].text == "Agreement"
    assert_inside_view_box(root)
    (path,) = root.iter(f"{SVG}path")
    assert len(path_points(path.get("d"))) == 4
    (dot,) = root.iter(f"{SVG}circle")
    assert dot.find(f"{SVG}title").text == "last: 0.75"
    assert (float(dot.get("cx")), float(dot.get("cy"))) == path_points(path.get("d"))[-1]
    assert root.get("aria-label") == "Agreement, last 0.75"


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


def test_sparkline_escapes_its_title():
    chart = sparkline([1, 2], title=HOSTILE)

    assert "<script>" not in chart and "&lt;script&gt;" in chart
    assert parse(chart)[0].text == HOSTILE
