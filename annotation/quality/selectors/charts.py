"""The quality dashboard's charts, drawn from the stored summary series (no query here)."""

from annotation.quality.selectors.dashboard import AnnotatorRow
from annotation.quality.services.summary import day_labels
from common import charts
from common.sparkline import sparkline

CHART_ANNOTATORS = 40  # rows of the per-annotator chart; the table below has everyone
SHARE = charts.Axis("agreement", "share of pairs", min=0, max=1, format="{:.0%}")
ROUND_PARTS = (("complete", "#009E73"), ("in_progress", "#B45309"), ("open", "#6b7280"))


def _daily(name: str, values: list) -> charts.Series:
    return charts.Series(name, list(enumerate(values)))


def _day(labels: list[str]) -> charts.Axis:
    return charts.Axis("day", labels=tuple(labels))


def _intervals(title: str, x_name: str, rows: list[dict], label: str, y: charts.Axis):
    """Rates with their 95% intervals as bars with whiskers, one per row (annotator, model),
    against a coin flip's 50%."""
    return charts.Chart(
        title, charts.Axis(x_name, labels=tuple(label.format(**r) for r in rows)), y,
        [charts.Series(y.name, [(i, r["rate"]) for i, r in enumerate(rows)],
                       intervals=[(r["low"], r["high"]) for r in rows])],
        kind="bar", reference=charts.Reference(0.5, "a coin flip"),
    )  # fmt: skip


def reward_rows(agreement: dict | None) -> list[dict]:
    """The per-annotator reward-agreement table's rows, each with its trend line by day."""
    return [
        {**a, "sparkline": sparkline(
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
    series = [_daily("blind", agreement["blind_by_day"])]
    if agreement["assisted"]["pairs"]:
        series.append(_daily("assisted", agreement["assisted_by_day"]))
    label = "{username} ({annotations} rankings, {pairs} pairs)"
    return {
        "reward_annotators": _intervals(title, "annotator", people, label, SHARE),
        "reward_days": charts.Chart(
            "Agreement with the reward model by day",
            _day(day_labels(agreement["days"])),
            SHARE,
            series,
        ),
    }


def dashboard_charts(summary) -> dict:
    """Every chart of the dashboard from the project's stored summary (None: not yet built)."""
    series = summary.series if summary else {}
    labels = day_labels(series.get("days", []))
    bins = series.get("agreement_bins", [])
    rounds = series.get("rounds", [])
    return {
        **_reward_charts(series.get("reward_agreement")),
        "throughput": charts.Chart(
            "Annotations per day", _day(labels),
            charts.Axis("annotations", "per day", min=0, format="{:.0f}"),
            [_daily("annotations", series.get("annotations", []))],
        ),
        "agreement": charts.Chart(
            "Item agreement by day", _day(labels), SHARE,
            [_daily("pairwise agreement", series.get("agreement", []))],
        ),
        "distribution": charts.Chart(
            "Items by pairwise agreement",
            charts.Axis("pairwise agreement", labels=tuple(b[0] for b in bins)),
            charts.Axis("items", format="{:.0f}"),
            [charts.Series("items", charts.counts(b[1] for b in bins))], kind="bar",
        ),
        "rounds": charts.Chart(
            "Progress per round (gold items left out)",
            charts.Axis("round", labels=tuple(f"Round {r['round']}" for r in rounds)),
            charts.Axis("items", format="{:.0f}"),
            [charts.Series(part.replace("_", " "), charts.counts(r[part] for r in rounds), colour)
             for part, colour in ROUND_PARTS],
            kind="bar", stacked=True,
        ),
        "wins": _intervals(
            "Win rate per model (95% interval)", "model", series.get("wins", []),
            "{model} ({games} games)",
            charts.Axis("win rate", "share of games", min=0, max=1, format="{:.0%}"),
        ),
    }  # fmt: skip


def annotator_rows_with_sparklines(rows: list[AnnotatorRow]) -> list[AnnotatorRow]:
    """The table's rows, each given its items-per-day trend line (``row.sparkline``)."""
    for row in rows:
        row.sparkline = sparkline(row.trend_counts, title=f"{row.username}: items per day")
    return rows
