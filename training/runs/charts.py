"""The run pages' charts and tables, drawn from a run's stored metrics and summary; which
ones a run gets is its kind's to say (``training.runs.kinds``)."""

from collections.abc import Callable
from dataclasses import dataclass

from common import charts
from training.runs.kinds import run_kind
from training.runs.models import TrainingRun
from training.runs.services.runs import run_reward_and_kl, run_series

# Per kind's ``charts`` key: (title, number format, metrics drawn together on one chart,
# y axis with unit).
CURVES = {
    "reward": (
        ("Training loss", "{:.3f}", ("loss", "eval_loss"), "loss (nats per pair)"),
        ("Training pair accuracy", "{:.2f}", ("accuracy", "eval_pairwise_accuracy"),
         "share of pairs"),
        ("Learning rate", "{:.1e}", ("lr",), "learning rate"),
    ),
    "sft": (
        ("Loss", "{:.3f}", ("loss", "eval_loss"), "loss (nats per token)"),
        ("Held-out perplexity", "{:.1f}", ("eval_perplexity",), "perplexity"),
        ("Learning rate", "{:.1e}", ("lr",), "learning rate"),
    ),
    "dpo": (
        ("Loss", "{:.3f}", ("loss", "eval_loss"), "loss (nats per pair)"),
        ("Implicit reward margin (chosen − rejected)", "{:.2f}", ("margin", "eval_margin"),
         "margin (nats)"),
        ("Preference accuracy", "{:.2f}", ("accuracy", "eval_accuracy"), "share of pairs"),
        ("Log-probability of chosen and rejected", "{:.1f}", ("logp_chosen", "logp_rejected"),
         "log-probability (nats)"),
        ("Learning rate", "{:.1e}", ("lr",), "learning rate"),
    ),
    "grpo": (
        ("Mean reward score", "{:.2f}", ("reward_mean",), "reward score"),
        ("Reward spread within a prompt's group (sd)", "{:.2f}", ("reward_std",), "reward score"),
        ("KL to the reference (nats per token)", "{:.3f}", ("kl",), "KL (nats per token)"),
        ("Entropy per token", "{:.2f}", ("entropy",), "entropy (nats per token)"),
        ("Clip fraction", "{:.3f}", ("policy_clipfrac",), "share of tokens"),
        ("Response length (tokens)", "{:.1f}", ("response_length",), "tokens"),
        ("Cut off by the length limit", "{:.2f}", ("truncated_rate",), "share of answers"),
        ("Loss", "{:.3f}", ("loss",), "loss"),
        ("Learning rate", "{:.1e}", ("lr",), "learning rate"),
    ),
    "ppo": (
        ("Mean reward score", "{:.2f}", ("reward_mean", "reward_minus_kl"), "reward score"),
        ("KL to the reference (nats per response)", "{:.2f}", ("kl",), "KL (nats per response)"),
        ("Entropy per token", "{:.2f}", ("entropy",), "entropy (nats per token)"),
        ("Clip fractions", "{:.2f}", ("policy_clipfrac", "value_clipfrac"), "share clipped"),
        ("Value loss", "{:.3f}", ("value_loss",), "squared error"),
        ("Response length (tokens)", "{:.1f}", ("response_length",), "tokens"),
        ("EOS rate", "{:.2f}", ("eos_rate",), "share of answers"),
        ("Seconds per step", "{:.2f}", ("generate_s", "train_s"), "seconds"),
    ),
}  # fmt: skip
STEP = charts.Axis("training step", format="{:.0f}")
# Curves a run sets rather than measures (schedules): smoothing one would draw a value the run
# never had (a 1e-4 peak as 0.88e-4), so they are drawn raw, without a slider.
SCHEDULES = frozenset({"lr", "kl_coef", "beta"})


def smoothable(names: tuple[str, ...]) -> bool:
    """Whether a chart of these metrics is noisy enough to offer smoothing: not a schedule."""
    return not SCHEDULES.issuperset(names)


def _y(y_title: str, fmt: str, **options) -> charts.Axis:
    """A y axis from a title written "name (unit)"."""
    name, _, unit = y_title.partition(" (")
    return charts.Axis(name, unit.removesuffix(")"), format=fmt, **options)


def run_curves(run: TrainingRun) -> list[charts.Chart]:
    """A chart per curve of the run's kind, over training steps, smoothable unless it is a
    schedule (the learning rate)."""
    spec = run_kind(run.kind)
    groups = CURVES.get(spec.charts, CURVES["reward"])
    series = run_series(run, tuple(n for _, _, names, _ in groups for n in names))
    out = []
    for title, fmt, names, y_title in groups:
        lines = [charts.Series(n.replace("_", " "), series[n]) for n in names if series[n]]
        out.append(charts.Chart(title, STEP, _y(y_title, fmt),
                                lines or [charts.Series(names[0].replace("_", " "), [])],
                                smooth=smoothable(names), group="run"))  # fmt: skip
    if spec.reward_against_kl:
        out.insert(1, _reward_against_kl(run))
    return out


def _reward_against_kl(run: TrainingRun) -> charts.Chart:
    """Reward against √KL, step by step: how much reward each unit of drift from the
    reference bought (the usual RLHF over-optimisation picture)."""
    points = [(max(kl, 0.0) ** 0.5, reward) for kl, reward in run_reward_and_kl(run)]
    return charts.Chart("Reward against √KL", charts.Axis("√KL", "√nats", format="{:.2f}"),
                        _y("reward score", "{:.2f}"), [charts.Series("reward", points)],
                        kind="scatter")  # fmt: skip


def evaluation_charts(run: TrainingRun) -> list[charts.Chart]:
    """The charts of the run's summary, as its kind's report draws them."""
    return REPORTS[run_kind(run.kind).report].charts(run)


def evaluation_table(run: TrainingRun) -> list[tuple[str, str, str]]:
    """The table of the run's summary, where its kind's report has one."""
    table = REPORTS[run_kind(run.kind).report].table
    return table(run) if table else []


def _calibration_charts(run: TrainingRun) -> list[charts.Chart]:
    """A held-out report's calibration of pair predictions and its reward margins."""
    report = (run.summary or {}).get("eval") or {}
    if not report:
        return []
    bins = [b for b in report.get("calibration", []) if b["pairs"]]
    diagonal = charts.Series("perfect", [(0.5, 0.5), (1.0, 1.0)], colour="#6b7280")
    observed = charts.Series("observed", [(b["predicted"], b["observed"]) for b in bins])
    margins = report.get("margin_histogram", [])
    labels = tuple(f"{_edge(b['from'])}…{_edge(b['to'])}" for b in margins)
    return [
        charts.Chart(
            f"Calibration (ECE {report.get('ece') or 0:.3f})",
            charts.Axis("predicted chance the preferred wins", format="{:.2f}"),
            charts.Axis("observed share", min=0, max=1, format="{:.2f}"),
            [diagonal, observed],
        ),
        charts.Chart(
            "Reward margin of preferred minus other",
            charts.Axis("reward margin", "score units", labels=labels),
            charts.Axis("pairs", format="{:.0f}"),
            [charts.Series("pairs", charts.counts(b["count"] for b in margins))],
            kind="bar",
        ),
    ]


EVALUATION_ROWS = (
    ("reward_mean", "Mean reward score", "{:.3f}"),
    ("reward_std", "Reward score spread (sd)", "{:.3f}"),
    ("perplexity", "Perplexity of the demonstrations", "{:.2f}"),
    ("rouge1", "ROUGE-1 F", "{:.3f}"),
    ("rouge2", "ROUGE-2 F", "{:.3f}"),
    ("rougeL", "ROUGE-L F", "{:.3f}"),
    ("bleu", "BLEU", "{:.1f}"),
    ("response_length", "Answer length (tokens)", "{:.1f}"),
    ("eos_rate", "Answers that ended (EOS)", "{:.0%}"),
)


def _policy_evaluation_charts(run: TrainingRun) -> list[charts.Chart]:
    """The win rate against the reference with its interval, and wins / ties / losses."""
    report = (run.summary or {}).get("eval") or {}
    if report.get("win_rate") is None:
        return []
    counts = (report["wins"], report["ties"], report["losses"])
    share = charts.Axis("win rate", "share of prompts", min=0, max=1, format="{:.0%}")
    outcome = charts.Axis("outcome", labels=("answers",))
    return [
        charts.Chart(
            "Win rate judged by the reward model (95% interval)",
            charts.Axis("compared", labels=(f"policy vs reference (n={sum(counts)})",)),
            share,
            [charts.Series("win rate", [(0, report["win_rate"])],
                           intervals=[(report["win_rate_low"], report["win_rate_high"])])],
            kind="bar",
            reference=charts.Reference(0.5, "a coin flip"),
        ),
        charts.Chart(
            "Wins, ties and losses per prompt",
            outcome,
            charts.Axis("prompts", format="{:.0f}"),
            [charts.Series(name, [(0, count)], colour=colour) for name, count, colour in zip(
                ("wins", "ties", "losses"), counts, ("#15803d", "#6b7280", "#b91c1c"), strict=True
            )],
            kind="bar",
            stacked=True,
        ),
    ]  # fmt: skip


def _policy_evaluation_table(run: TrainingRun) -> list[tuple[str, str, str]]:
    """(figure, policy, reference) rows of an evaluation run's report, formatted."""
    summary = run.summary or {}
    ours, theirs = summary.get("eval") or {}, summary.get("reference_eval") or {}

    def shown(figures: dict, key: str, fmt: str) -> str:
        return fmt.format(figures[key]) if figures.get(key) is not None else "—"

    return [
        (title, shown(ours, key, fmt), shown(theirs, key, fmt))
        for key, title, fmt in EVALUATION_ROWS
        if ours.get(key) is not None or theirs.get(key) is not None
    ]


def _edge(value) -> str:
    return "" if value is None else f"{value:g}"


@dataclass(frozen=True)
class Report:
    """How a kind's summary is drawn: its charts, and its table (None: it has none)."""

    charts: Callable[[TrainingRun], list[charts.Chart]]
    table: Callable[[TrainingRun], list[tuple[str, str, str]]] | None = None


# Per kind's ``report`` key: a trained model's held-out calibration, or an evaluation's
# win rate against its reference with the figures side by side.
REPORTS = {
    "calibration": Report(_calibration_charts),
    "win_rate": Report(_policy_evaluation_charts, _policy_evaluation_table),
}


def compare_charts(runs: list[TrainingRun], _fetched: dict | None = None) -> list[charts.Chart]:
    """One chart per metric the runs share (two or more of them have it; the one run's when
    alone), a series per run, the runs' smoothing slider shared. It reads every metric of
    the runs' kinds itself; the caller's few fetched series (``_fetched``) are not enough."""
    shown: dict[str, tuple[str, str, str]] = {}  # metric -> (title, format, y axis), kinds' order
    for run in runs:
        for title, fmt, names, y_title in CURVES.get(run_kind(run.kind).charts, CURVES["reward"]):
            for name in names:
                own = title if len(names) == 1 or name == names[0] else name.replace("_", " ")
                shown.setdefault(name, (own[:1].upper() + own[1:], fmt, y_title))
    per_run = {r.pk: run_series(r, tuple(shown)) for r in runs}
    need = min(2, len(runs))
    return [
        charts.Chart(
            title, STEP, _y(y_title, fmt),
            [charts.Series(f"run {r.pk} {r.name}".strip(), per_run[r.pk][name]) for r in runs],
            smooth=smoothable((name,)), group="compare",
        )
        for name, (title, fmt, y_title) in shown.items()
        if sum(1 for r in runs if per_run[r.pk][name]) >= need
    ]  # fmt: skip
