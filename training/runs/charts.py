"""The run pages' charts and tables, drawn from a run's stored metrics and summary; which
ones a run gets is its kind's to say (``training.runs.kinds``)."""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.safestring import SafeString

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
STEPS = {"x_title": "training step", "x_format": "{:.0f}"}


def run_curves(run: TrainingRun) -> list[tuple[str, SafeString]]:
    """(title, chart) per curve of the run's kind, over training steps."""
    spec = run_kind(run.kind)
    groups = CURVES.get(spec.charts, CURVES["reward"])
    series = run_series(run, tuple(n for _, _, names, _ in groups for n in names))
    out = []
    for title, fmt, names, y_title in groups:
        lines = [charts.Series(n.replace("_", " "), series[n]) for n in names if series[n]]
        chart = charts.line_chart(lines or [charts.Series(names[0], [])], title=title,
                                  y_format=fmt, y_title=y_title, **STEPS)  # fmt: skip
        out.append((title, chart))
    if spec.reward_against_kl:
        out.insert(1, _reward_against_kl(run))
    return out


def _reward_against_kl(run: TrainingRun) -> tuple[str, SafeString]:
    """Reward against √KL, step by step: how much reward each unit of drift from the
    reference bought (the usual RLHF over-optimisation picture)."""
    points = [(max(kl, 0.0) ** 0.5, reward) for kl, reward in run_reward_and_kl(run)]
    title = "Reward against √KL"
    chart = charts.line_chart([charts.Series("reward", points)], title=title, y_format="{:.2f}",
                              x_format="{:.2f}", x_title="√KL (√nats)",
                              y_title="reward score")  # fmt: skip
    return title, chart


def evaluation_charts(run: TrainingRun) -> list[tuple[str, SafeString]]:
    """The charts of the run's summary, as its kind's report draws them."""
    return REPORTS[run_kind(run.kind).report].charts(run)


def evaluation_table(run: TrainingRun) -> list[tuple[str, str, str]]:
    """The table of the run's summary, where its kind's report has one."""
    table = REPORTS[run_kind(run.kind).report].table
    return table(run) if table else []


def _calibration_charts(run: TrainingRun) -> list[tuple[str, SafeString]]:
    """A held-out report's calibration of pair predictions and its reward margins."""
    report = (run.summary or {}).get("eval") or {}
    if not report:
        return []
    bins = [b for b in report.get("calibration", []) if b["pairs"]]
    diagonal = charts.Series("perfect", [(0.5, 0.5), (1.0, 1.0)], colour="#9ca3af")
    observed = charts.Series("observed", [(b["predicted"], b["observed"]) for b in bins])
    margins = [
        (f"{_edge(b['from'])}…{_edge(b['to'])}", b["count"])
        for b in report.get("margin_histogram", [])
    ]
    calibration = f"Calibration (ECE {report.get('ece') or 0:.3f})"
    margin = "Reward margin of preferred minus other"
    return [
        (calibration, charts.line_chart(
            [diagonal, observed], title=calibration, y_min=0, y_max=1, x_format="{:.1f}",
            x_title="predicted chance the preferred wins", y_title="observed share",
        )),
        (margin, charts.histogram(
            margins, title=margin, x_title="reward margin (score units)", y_title="pairs",
        )),
    ]  # fmt: skip


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


def _policy_evaluation_charts(run: TrainingRun) -> list[tuple[str, SafeString]]:
    """The win rate against the reference with its interval, and wins / ties / losses."""
    report = (run.summary or {}).get("eval") or {}
    if report.get("win_rate") is None:
        return []
    counts = (report["wins"], report["ties"], report["losses"])
    row = charts.IntervalRow("policy vs reference", report["win_rate"], report["win_rate_low"],
                             report["win_rate_high"], note=f"n={sum(counts)}")  # fmt: skip
    win_rate, outcomes = (
        "Win rate judged by the reward model (95% interval)",
        "Wins, ties and losses per prompt",
    )
    return [
        (win_rate, charts.interval_bars([row], title=win_rate)),
        (outcomes, charts.stacked_bars(
            [("answers", list(zip(("wins", "ties", "losses"), counts, strict=True)))],
            title=outcomes,
            colours={"wins": "#16a34a", "ties": "#9ca3af", "losses": "#dc2626"},
        )),
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

    charts: Callable[[TrainingRun], list[tuple[str, SafeString]]]
    table: Callable[[TrainingRun], list[tuple[str, str, str]]] | None = None


# Per kind's ``report`` key: a trained model's held-out calibration, or an evaluation's
# win rate against its reference with the figures side by side.
REPORTS = {
    "calibration": Report(_calibration_charts),
    "win_rate": Report(_policy_evaluation_charts, _policy_evaluation_table),
}


COMPARED = (
    ("loss", "Training loss", "loss (nats per pair)"),
    ("accuracy", "Training pair accuracy", "share of pairs"),
    ("reward_mean", "Mean reward score (PPO)", "reward score"),
    ("kl", "KL to the reference (PPO)", "KL (nats per response)"),
)


def compare_charts(runs: list[TrainingRun], per_run: dict) -> list[tuple[str, SafeString]]:
    """One chart per metric with a line per run; PPO metrics only where a run has them."""
    return [
        (title, charts.line_chart(
            [charts.Series(f"run {r.pk} {r.name}".strip(), per_run[r.pk][name]) for r in runs],
            title=title, y_title=y_title, **STEPS,
        ))
        for name, title, y_title in COMPARED
        if name in ("loss", "accuracy") or any(per_run[r.pk][name] for r in runs)
    ]  # fmt: skip
