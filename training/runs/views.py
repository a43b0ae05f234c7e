"""Training run pages: the list with the launch form, one run live (progress with ETA,
curves and log tail refreshed through htmx, evaluation plots once done), and runs side
by side. Managers and engineers see them; engineers launch and stop them."""

import json

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from common import charts
from common.errors import ApplicationError
from common.jobs import job_waiting, queue_waiting
from common.numbers import plain_int
from common.workers import training_unavailable_reason
from projects.decorators import project_view
from projects.permissions import Capability, has_capability
from training.runs.forms import EvaluationForm, PolicyRunForm, RunForm
from training.runs.models import ModelArtifact, TrainingRun
from training.runs.services.runs import (
    run_cancel,
    run_create,
    run_latest_samples,
    run_progress,
    run_relaunch,
    run_reward_and_kl,
    run_series,
)

# Per kind: (title, number format, metrics drawn together on one chart, y axis with unit).
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


def _curves(run: TrainingRun) -> list[tuple[str, SafeString]]:
    """(title, chart) per curve of the run's kind, over training steps."""
    groups = CURVES.get(run.kind, CURVES["reward"])
    series = run_series(run, tuple(n for _, _, names, _ in groups for n in names))
    out = []
    for title, fmt, names, y_title in groups:
        lines = [charts.Series(n.replace("_", " "), series[n]) for n in names if series[n]]
        chart = charts.line_chart(lines or [charts.Series(names[0], [])], title=title,
                                  y_format=fmt, y_title=y_title, **STEPS)  # fmt: skip
        out.append((title, chart))
    if run.kind == "ppo":
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


def _evaluation_charts(run: TrainingRun) -> list[tuple[str, SafeString]]:
    if run.kind == "eval":
        return _policy_evaluation_charts(run)
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


def _evaluation_table(run: TrainingRun) -> list[tuple[str, str, str]]:
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


@project_view(Capability.EXPORT)
def run_list(request, project):
    may_launch = has_capability(request.user, project, Capability.ENGINEER)
    posted = request.POST if request.method == "POST" else None
    which = posted.get("form", "reward") if posted else None
    form = RunForm(posted if which == "reward" else None, project=project)
    policy_form = PolicyRunForm(posted if which == "policy" else None, project=project)
    evaluation_form = EvaluationForm(posted if which == "evaluate" else None, project=project)
    if request.method == "POST" and not may_launch:
        return render(request, "403.html", {"message": "engineers launch runs"}, status=403)
    launching = {"reward": form, "policy": policy_form, "evaluate": evaluation_form}.get(which)
    status = 200
    if launching is not None and launching.is_valid():
        try:
            run, _ = run_create(
                project=project,
                user=request.user,
                client_token=request.POST.get("client_token") or None,
                **launching.run_arguments(),
            )
        except ApplicationError as exc:
            launching.add_error(None, exc.message)
            status = exc.status_code if exc.status_code >= 500 else 200  # no worker, no broker
        else:
            return redirect("run-detail", slug=project.slug, run_id=run.pk)
    runs = TrainingRun.objects.filter(project=project).select_related("snapshot")[:100]
    context = {
        "project": project,
        "form": form,
        "policy_form": policy_form,
        "evaluation_form": evaluation_form,
        "training_fields": (
            "epochs",
            "steps",
            "batch_size",
            "lr",
            "kl_coef",
            "beta",
            "num_generations",
            "max_new_tokens",
            "seed",
            "gpus",
            "distributed",
        ),  # fmt: skip
        "runs": runs,
        "may_launch": may_launch,
        "models": ModelArtifact.objects.filter(project=project)[:50],
        # Said before anyone launches: no gpu worker, or none that can train.
        "training_unavailable": training_unavailable_reason(),
        "waiting": queue_waiting("gpu"),
    }
    return render(request, "training/run_list.html", context, status=status)


def _run(project, run_id) -> TrainingRun:
    runs = TrainingRun.objects.select_related("snapshot", "policy", "reward_model")
    return get_object_or_404(runs, project=project, pk=run_id)


@project_view(Capability.EXPORT)
def run_detail(request, project, run_id: int):
    run = _run(project, run_id)
    context = {
        "project": project,
        "run": run,
        "progress": run_progress(run),
        "curves": _curves(run),
        # The trainer's final summary, left out of the log (common.labels.run_log), whole.
        "summary_json": json.dumps(run.summary, indent=2) if run.summary else "",
        "evaluation": _evaluation_charts(run),
        "evaluation_table": _evaluation_table(run) if run.kind == "eval" else [],
        "samples": run_latest_samples(run),
        "artifact": ModelArtifact.objects.filter(run=run).first(),
        "may_launch": has_capability(request.user, project, Capability.ENGINEER),
        "waiting": None if run.is_finished else job_waiting(run),
    }
    if request.htmx:
        return render(request, "training/run_detail.html#run-live", context)
    return render(request, "training/run_detail.html", context)


@require_POST
@project_view(Capability.ENGINEER)
def run_cancel_view(request, project, run_id: int):
    try:
        run_cancel(run=_run(project, run_id))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("run-detail", slug=project.slug, run_id=run_id)


@require_POST
@project_view(Capability.ENGINEER)
def run_relaunch_view(request, project, run_id: int):
    try:
        run_relaunch(run=_run(project, run_id))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("run-detail", slug=project.slug, run_id=run_id)


@project_view(Capability.EXPORT)
def run_compare(request, project):
    ids = [n for n in map(plain_int, request.GET.getlist("run")) if n is not None][:8]
    runs = list(TrainingRun.objects.filter(project=project, pk__in=ids).order_by("pk"))
    drawn = (
        ("loss", "Training loss", "loss (nats per pair)"),
        ("accuracy", "Training pair accuracy", "share of pairs"),
        ("reward_mean", "Mean reward score (PPO)", "reward score"),
        ("kl", "KL to the reference (PPO)", "KL (nats per response)"),
    )
    names = (*(n for n, _, _ in drawn), "eval_pairwise_accuracy")
    per_run = {run.pk: run_series(run, names) for run in runs}
    overlaid = [
        (title, charts.line_chart(
            [charts.Series(f"run {r.pk} {r.name}".strip(), per_run[r.pk][name]) for r in runs],
            title=title, y_title=y_title, **STEPS,
        ))
        for name, title, y_title in drawn
        if name in ("loss", "accuracy") or any(per_run[r.pk][name] for r in runs)
    ]  # fmt: skip
    rows = [
        {
            "run": run,
            "eval": (run.summary or {}).get("eval") or {},
            "hyper": run.hyperparameters,
            "final_loss": (per_run[run.pk]["loss"] or [(0, None)])[-1][1],
        }
        for run in runs
    ]
    keys = sorted({k for run in runs for k in run.hyperparameters})
    differing = [k for k in keys if len({repr(r.hyperparameters.get(k)) for r in runs}) > 1]
    context = {"project": project, "rows": rows, "charts": overlaid, "differing": differing}
    return render(request, "training/run_compare.html", context)
