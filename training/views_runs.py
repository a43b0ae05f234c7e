"""Training run pages: the list with the launch form, one run live (progress with ETA,
curves and log tail refreshed through htmx, evaluation plots once done), and runs side
by side. Managers and engineers see them; engineers launch and stop them."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from annotation import charts
from config.errors import ApplicationError
from projects.decorators import project_view
from projects.permissions import Capability, has_capability
from training.forms_runs import RunForm
from training.models import ModelArtifact, TrainingRun
from training.services.runs import (
    run_cancel,
    run_create,
    run_progress,
    run_relaunch,
    run_series,
    runs_reap,
)

CURVES = (
    ("loss", "Training loss", "{:.3f}"),
    ("accuracy", "Training pair accuracy", "{:.2f}"),
    ("lr", "Learning rate", "{:.1e}"),
)
EVAL_OF = {"loss": "eval_loss", "accuracy": "eval_pairwise_accuracy"}  # drawn on the same chart


def _curves(run: TrainingRun) -> list:
    series = run_series(run, tuple(n for n, _, _ in CURVES) + tuple(EVAL_OF.values()))
    out = []
    for name, title, fmt in CURVES:
        lines = [charts.Series(name, series[name])]
        held_out = EVAL_OF.get(name)
        if held_out and series[held_out]:
            lines.append(charts.Series(held_out.replace("_", " "), series[held_out]))
        out.append(charts.line_chart(lines, title=title, y_format=fmt))
    return out


def _evaluation_charts(run: TrainingRun) -> list:
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
    return [
        charts.line_chart(
            [diagonal, observed],
            title=f"Calibration (ECE {report.get('ece') or 0:.3f})",
            y_min=0,
            y_max=1,
        ),
        charts.histogram(margins, title="Reward margin of preferred minus other"),
    ]


def _edge(value) -> str:
    return "" if value is None else f"{value:g}"


@project_view(Capability.EXPORT)
def run_list(request, project):
    runs_reap(project=project)
    may_launch = has_capability(request.user, project, Capability.ENGINEER)
    form = RunForm(request.POST or None, project=project)
    if request.method == "POST":
        if not may_launch:
            return render(request, "403.html", {"message": "engineers launch runs"}, status=403)
        if form.is_valid():
            try:
                run, _ = run_create(
                    project=project,
                    user=request.user,
                    kind="reward",
                    snapshot=form.cleaned_data["snapshot"],
                    hyperparameters=form.hyperparameters(),
                    base_model=form.cleaned_data["base_model"],
                    name=form.cleaned_data["name"],
                    client_token=request.POST.get("client_token") or None,
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("run-detail", slug=project.slug, run_id=run.pk)
    runs = TrainingRun.objects.filter(project=project).select_related("snapshot")[:100]
    context = {
        "project": project,
        "form": form,
        "runs": runs,
        "may_launch": may_launch,
        "models": ModelArtifact.objects.filter(project=project)[:50],
    }
    return render(request, "training/run_list.html", context)


def _run(project, run_id) -> TrainingRun:
    runs_reap(project=project)
    runs = TrainingRun.objects.select_related("snapshot")
    return get_object_or_404(runs, project=project, pk=run_id)


@project_view(Capability.EXPORT)
def run_detail(request, project, run_id: int):
    run = _run(project, run_id)
    context = {
        "project": project,
        "run": run,
        "progress": run_progress(run),
        "curves": _curves(run),
        "evaluation": _evaluation_charts(run),
        "artifact": ModelArtifact.objects.filter(run=run).first(),
        "may_launch": has_capability(request.user, project, Capability.ENGINEER),
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
    ids = [int(i) for i in request.GET.getlist("run") if i.isdigit()][:8]
    runs = list(TrainingRun.objects.filter(project=project, pk__in=ids).order_by("pk"))
    names = ("loss", "accuracy", "eval_pairwise_accuracy")
    per_run = {run.pk: run_series(run, names) for run in runs}
    overlaid = [
        charts.line_chart(
            [charts.Series(f"run {r.pk} {r.name}".strip(), per_run[r.pk][name]) for r in runs],
            title=title,
        )
        for name, title in (("loss", "Training loss"), ("accuracy", "Training pair accuracy"))
    ]
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
