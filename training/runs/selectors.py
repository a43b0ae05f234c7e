"""Reads of training runs and registered models, for the pages and the API."""

import json

from common.errors import ApplicationError, NotFoundError
from common.jobs import job_waiting, queue_waiting
from common.workers import training_unavailable_reason
from projects.models import Project
from projects.permissions import Capability
from projects.selectors import project_get_for_user
from training.datasets.models import DatasetSnapshot
from training.runs.charts import compare_charts, evaluation_charts, evaluation_table, run_curves
from training.runs.models import ModelArtifact, RunMetric, TrainingRun
from training.runs.services.runs import run_latest_samples, run_progress, run_series

RUNS_LISTED = 100
MODELS_LISTED = 50
METRICS_PER_READ = 5000
RUNS_COMPARED = 8


def runs_for_project(project: Project):
    """The project's runs, newest first, with what the API's summary shows."""
    return TrainingRun.objects.filter(project=project).select_related(
        "project", "artifact__project"
    )


def run_list_page(project: Project) -> dict:
    """What the runs page lists beside its launch forms, and why launching would wait."""
    return {
        "runs": TrainingRun.objects.filter(project=project).select_related("snapshot")[
            :RUNS_LISTED
        ],
        "models": ModelArtifact.objects.filter(project=project)[:MODELS_LISTED],
        # Said before anyone launches: no gpu worker, or none that can train.
        "training_unavailable": training_unavailable_reason(),
        "waiting": queue_waiting("gpu"),
    }


def run_get(*, project: Project, run_id: int) -> TrainingRun:
    """One run of the project with its snapshot and models; NotFoundError otherwise."""
    run = (
        TrainingRun.objects.select_related("snapshot", "policy", "reward_model")
        .filter(project=project, pk=run_id)
        .first()
    )
    if run is None:
        raise NotFoundError(f"no run {run_id} in this project")
    return run


def run_get_for_user(*, run_id: int, user, capability=Capability.EXPORT) -> TrainingRun:
    """The run if the user may see (or, with ENGINEER, act on) it; 404 otherwise."""
    run = TrainingRun.objects.select_related("project").filter(pk=run_id).first()
    if run is None:
        raise NotFoundError(f"no run {run_id}")
    project_get_for_user(slug=run.project.slug, user=user, capability=capability)
    return run


def run_page(run: TrainingRun) -> dict:
    """The run page's progress, curves, evaluation and samples."""
    return {
        "progress": run_progress(run),
        "curves": run_curves(run),
        # The trainer's final summary, left out of the log (common.labels.run_log), whole.
        "summary_json": json.dumps(run.summary, indent=2) if run.summary else "",
        "evaluation": evaluation_charts(run),
        "evaluation_table": evaluation_table(run),
        "samples": run_latest_samples(run),
        "artifact": ModelArtifact.objects.filter(run=run).first(),
        "waiting": None if run.is_finished else job_waiting(run),
    }


def run_compare_page(project: Project, run_ids: list[int]) -> dict:
    """Up to eight of the project's runs side by side: overlaid curves, final figures and
    the hyper-parameters that differ."""
    runs = list(
        TrainingRun.objects.filter(project=project, pk__in=run_ids[:RUNS_COMPARED]).order_by("pk")
    )
    names = ("loss", "accuracy", "reward_mean", "kl", "eval_pairwise_accuracy")
    per_run = {run.pk: run_series(run, names) for run in runs}
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
    return {"rows": rows, "charts": compare_charts(runs, per_run), "differing": differing}


def run_metrics(run: TrainingRun, *, after: int | None = None):
    """The run's metrics lines in order, those after the row id ``after`` only if given."""
    rows = RunMetric.objects.filter(run=run).order_by("id")
    if after is not None:
        rows = rows.filter(id__gt=after)
    return rows[:METRICS_PER_READ]


def snapshot_for_launch(*, project: Project, snapshot_id: int) -> DatasetSnapshot:
    snapshot = DatasetSnapshot.objects.filter(pk=snapshot_id, project=project).first()
    if snapshot is None:
        raise ApplicationError(
            "snapshot: no such snapshot in this project", extra={"field": "snapshot"}
        )
    return snapshot


def artifact_for_launch(*, project: Project, field: str, artifact_id) -> ModelArtifact | None:
    """The registered model a launch names in ``field`` (None if it names none); it must be
    the project's."""
    if artifact_id is None:
        return None
    found = ModelArtifact.objects.filter(pk=artifact_id, project=project).first()
    if found is None:
        raise ApplicationError(f"{field}: no such model in this project", extra={"field": field})
    return found


def models_for_project(project: Project):
    """The project's registered models, newest first."""
    return project.models.all()


def artifact_get_for_user(*, model_id: int, user, capability=Capability.EXPORT) -> ModelArtifact:
    artifact = ModelArtifact.objects.select_related("project").filter(pk=model_id).first()
    if artifact is None:
        raise NotFoundError(f"no model {model_id}")
    project_get_for_user(slug=artifact.project.slug, user=user, capability=capability)
    return artifact
