"""The quality dashboard's charts, drawn from the stored summary series (no query here)."""

from annotation.quality.selectors.dashboard import AnnotatorRow
from annotation.quality.services.summary import day_labels
from common import charts

CHART_ANNOTATORS = 40  # rows of the per-annotator chart; the table below has everyone


def _daily(name: str, values: list) -> charts.Series:
    return charts.Series(name, list(enumerate(values)))


def _round_segments(r: dict) -> list:
    return [("complete", r["complete"]), ("in progress", r["in_progress"]), ("open", r["open"])]


def _win_row(w: dict) -> charts.IntervalRow:
    return charts.IntervalRow(w["model"], w["rate"], w["low"], w["high"], f"{w['games']} games")


def reward_rows(agreement: dict | None) -> list[dict]:
    """The per-annotator reward-agreement table's rows, each with its trend line by day."""
    return [
        {**a, "sparkline": charts.sparkline(
            a["by_day"], y_min=0, y_max=1, title=f"{a['username']}: agreement with the model by day"
        )}
        for a in (agreement or {}).get("annotators", [])
    ]  # fmt: skip


def _reward_charts(agreement: dict | None) -> dict:
    """Agreement with the reward model per annotator (95% intervals) and per day, blind and
    assisted apart."""
    if not agreement:
        return {}
    people = agreement["annotators"]
    title = "Agreement with the reward model per annotator (95% interval)"
    if len(people) > CHART_ANNOTATORS:
        most = {
            a["user_id"] for a in sorted(people, key=lambda a: -a["annotations"])[:CHART_ANNOTATORS]
        }
        people = [a for a in people if a["user_id"] in most]
        title += f": the {CHART_ANNOTATORS} with the most rankings"
    note = "{annotations} rankings, {pairs} pairs"
    rows = [
        charts.IntervalRow(a["username"], a["rate"], a["low"], a["high"], note.format(**a))
        for a in people
    ]
    series = [_daily("blind", agreement["blind_by_day"])]
    if agreement["assisted"]["pairs"]:
        series.append(_daily("assisted", agreement["assisted_by_day"]))
    return {
        "reward_annotators": charts.interval_bars(rows, title=title),
        "reward_days": charts.line_chart(
            series,
            title="Agreement with the reward model by day",
            x_labels=day_labels(agreement["days"]),
            y_min=0,
            y_max=1,
        ),
    }


def dashboard_charts(summary) -> dict:
    """Every chart of the dashboard from the project's stored summary (None: not yet built)."""
    series = summary.series if summary else {}
    labels = day_labels(series.get("days", []))
    return {
        **_reward_charts(series.get("reward_agreement")),
        "throughput": charts.line_chart(
            [_daily("annotations", series.get("annotations", []))],
            title="Annotations per day", x_labels=labels, y_min=0, y_format="{:.0f}",
        ),
        "agreement": charts.line_chart(
            [_daily("pairwise agreement", series.get("agreement", []))],
            title="Item agreement by day", x_labels=labels, y_min=0, y_max=1,
        ),
        "distribution": charts.histogram(
            [tuple(b) for b in series.get("agreement_bins", [])],
            title="Items by pairwise agreement",
        ),
        "rounds": charts.stacked_bars(
            [(f"Round {r['round']}", _round_segments(r)) for r in series.get("rounds", [])],
            title="Progress per round (gold items left out)",
            colours={"complete": "#009E73", "in progress": "#E69F00", "open": "#cccccc"},
        ),
        "wins": charts.interval_bars(
            [_win_row(w) for w in series.get("wins", [])],
            title="Win rate per model (95% interval)",
        ),
    }  # fmt: skip


def annotator_rows_with_sparklines(rows: list[AnnotatorRow]) -> list[AnnotatorRow]:
    """The table's rows, each given its items-per-day trend line (``row.sparkline``)."""
    for row in rows:
        row.sparkline = charts.sparkline(row.trend_counts, title=f"{row.username}: items per day")
    return rows
