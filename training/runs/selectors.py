"""Reads of training runs and registered models, for the pages and the API."""

import json
from datetime import datetime

from django.utils import timezone

from common.errors import ApplicationError, NotFoundError
from common.jobs import JobState, job_waiting, queue_waiting
from common.labels import human
from common.workers import training_unavailable_reason
from projects.models import Project
from projects.permissions import Capability
from projects.selectors import project_get_for_user
from training.datasets.models import DatasetSnapshot
from training.runs.charts import compare_charts, evaluation_charts, evaluation_table, run_curves
from training.runs.kinds import RUN_KINDS, run_settings
from training.runs.models import ModelArtifact, RunKind, RunMetric, TrainingRun
from training.runs.presets import KIND_LINES, PRESETS
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
    """The run page: its overview (progress with ETA, data, models, key result, artifact),
    curves, evaluation, samples and options table."""
    artifact = ModelArtifact.objects.filter(run=run).first()
    return {
        "overview": run_summary(run, artifact),
        "option_rows": run_options_table(run),
        "progress": run_progress(run),
        "curves": run_curves(run),
        # The trainer's final summary, left out of the log (common.labels.run_log), whole.
        "summary_json": json.dumps(run.summary, indent=2) if run.summary else "",
        "evaluation": evaluation_charts(run),
        "evaluation_table": evaluation_table(run),
        "samples": run_latest_samples(run),
        "artifact": artifact,
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


# --- the launch pages ------------------------------------------------------------------


def launch_choices() -> list[dict]:
    """The kind picker: per kind in the registry, its name and what it trains on what."""
    return [
        {"kind": kind, "label": RunKind(kind).label, "line": KIND_LINES.get(kind, ""),
         "needs_reward_model": spec.needs_reward_model}
        for kind, spec in RUN_KINDS.items()
    ]  # fmt: skip


def launch_page(project: Project, kind: str, preset: str | None) -> dict:
    """One kind's launch page beside its form: the kind, its presets (the chosen one
    marked) and why launching would wait."""
    return {
        "kind": kind,
        "kind_label": RunKind(kind).label,
        "run_noun": RUN_KINDS[kind].named.split(" ", 1)[1],  # "a PPO run": "PPO run"
        # An evaluation trains nothing: it compares models and generates.
        "legends": ("What to compare", "Generation")
        if RUN_KINDS[kind].takes_policy
        else ("Data and base model", "Training"),
        "kind_line": KIND_LINES.get(kind, ""),
        "presets": [{"key": p.key, "label": p.label, "help": p.help} for p in PRESETS.values()],
        "preset": preset if preset in PRESETS else "",
        "training_unavailable": training_unavailable_reason(),
        "waiting": queue_waiting("gpu"),
    }


# --- the run page's summary ------------------------------------------------------------


def duration_text(seconds: float | None) -> str:
    """Seconds in words a person reads at a glance: "45 s", "3 min 20 s", "2 h 05 min"."""
    if seconds is None:
        return ""
    seconds = max(int(round(seconds)), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec} s" if sec else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def run_eta(run: TrainingRun, *, now: datetime | None = None) -> dict:
    """Steps done of the total, the time since the run started and the time left: the
    trainer's own estimate while it runs, else the pace so far (elapsed per step) times
    the steps left. A finished run has no time left; one without steps yet, no estimate."""
    now = now or timezone.now()
    end = run.finished_at or now
    elapsed = (end - run.started_at).total_seconds() if run.started_at else None
    eta = None
    if run.state == JobState.RUNNING and run.total_steps:
        if run.eta_seconds is not None:
            eta = run.eta_seconds
        elif run.step and elapsed:
            eta = elapsed / run.step * max(run.total_steps - run.step, 0)
    percent = None
    if run.total_steps:
        done = run.total_steps if run.state == JobState.SUCCEEDED else run.step
        percent = min(round(100 * done / run.total_steps), 100)
    return {"step": run.step, "total_steps": run.total_steps, "percent": percent,
            "elapsed_seconds": elapsed, "elapsed": duration_text(elapsed),
            "eta_seconds": eta, "eta": duration_text(eta)}  # fmt: skip


def _figure(value, digits: int = 3) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return f"{value:.{digits}f}"


def _last_metrics(run: TrainingRun, *names: str) -> dict:
    """The newest values of ``names`` the run logged (a policy run's last step)."""
    row = run.metrics.filter(values__has_key=names[0]).order_by("-step", "-id").first()
    return {n: row.values.get(n) for n in names} if row else {}


def _held_out(label: str, key: str, count: str = "", noun: str = ""):
    """A key result read from the trainer's summary's held-out ``eval``."""

    def read(run: TrainingRun) -> dict | None:
        ev = (run.summary or {}).get("eval") or {}
        value = _figure(ev.get(key), 2 if key == "perplexity" else 3)
        if value is None:
            return None
        detail = f"over {ev[count]} {noun}" if count and ev.get(count) else "on the held-out split"
        return {"label": label, "value": value, "detail": detail}

    return read


def _reward_and_kl(run: TrainingRun) -> dict | None:
    last = _last_metrics(run, "reward_mean", "kl")
    reward = _figure(last.get("reward_mean"))
    if reward is None:
        return None
    kl = _figure(last.get("kl"))
    return {"label": "Mean reward", "value": reward,
            "detail": f"KL to the reference {kl}" if kl else "at the last logged step"}  # fmt: skip


def _win_rate(run: TrainingRun) -> dict | None:
    ev = (run.summary or {}).get("eval") or {}
    value = _figure(ev.get("win_rate"))
    if value is None:
        return _held_out("Mean reward", "reward_mean")(run)
    low, high = _figure(ev.get("win_rate_low")), _figure(ev.get("win_rate_high"))
    detail = f"95% interval {low}–{high}" if low and high else "against the reference"
    return {"label": "Win rate", "value": value, "detail": detail}


# The figure each kind is judged by (its summary's held-out result, or a policy run's
# last reward and KL); a kind not listed has none to show.
KEY_RESULTS = {
    RunKind.REWARD: _held_out("Held-out pair accuracy", "pairwise_accuracy", "n_pairs", "pairs"),
    RunKind.SFT: _held_out("Held-out perplexity", "perplexity"),
    RunKind.DPO: _held_out("Held-out preference accuracy", "accuracy"),
    RunKind.PPO: _reward_and_kl,
    RunKind.GRPO: _reward_and_kl,
    RunKind.EVAL: _win_rate,
}


def run_key_result(run: TrainingRun) -> dict | None:
    """The run's key result as {label, value, detail}; None until it has one."""
    read = KEY_RESULTS.get(run.kind) if run.kind in RUN_KINDS else None
    return read(run) if read else None


def _models_text(run: TrainingRun) -> list[tuple[str, str]]:
    """(role, model) pairs: what the run started from and judged with."""
    if run.kind == RunKind.EVAL:
        return [("policy", run.policy.name if run.policy else "—"),
                ("judge", run.reward_model.name if run.reward_model else "—"),
                ("reference", run.reference or "the policy's starting model")]  # fmt: skip
    if run.kind == RunKind.REWARD:
        return [("base model", run.base_model or "MiniLM (default)")]
    models = [("policy", run.base_model or "tiny")]
    if run.reward_model:
        models.append(("reward model", run.reward_model.name))
    return models


def _train_rows(snapshot: DatasetSnapshot | None) -> list[tuple[str, int]]:
    """(format, rows) of the snapshot's train split, from its manifest."""
    counts = ((snapshot.manifest or {}).get("counts") or {}) if snapshot else {}
    return [(human(fmt), per.get("train", 0)) for fmt, per in counts.items() if per]


# Options that only matter under some other option's value (the run page leaves the
# others out): a reward model's top layers under ``layerwise``, its LoRA shape under
# ``lora``; a policy's LoRA alpha with a LoRA rank; how GPUs share work with several.
# Kinds without ``strategy`` (the policy kinds) always use ``lora_r`` (0: no LoRA).
OPTION_APPLIES = {
    "top_layers": lambda v: v.get("strategy", "layerwise") == "layerwise",
    "lora_r": lambda v: v.get("strategy", "lora") == "lora",
    "lora_alpha": lambda v: (
        v["strategy"] == "lora" if "strategy" in v else (v.get("lora_r") or 0) > 0
    ),
    "distributed": lambda v: (v.get("gpus") or 1) > 1,
}


def option_applies(name: str, values: dict) -> bool:
    """Whether option ``name`` does anything in a run with these (all) option values."""
    rule = OPTION_APPLIES.get(name)
    return rule is None or bool(rule(values))


def run_options_table(run: TrainingRun) -> list[dict]:
    """The run's options as rows (name, value, default, unit) in the order its config
    declares them, those that do not apply to it left out (``OPTION_APPLIES``), each
    marked when it differs from its kind's default; no unit where it repeats the name."""
    spec = RUN_KINDS.get(run.kind)
    defaults = {f.name: f.default for f in spec.options()} if spec else {}
    values = {**defaults, **run.hyperparameters}
    order = {name: i for i, name in enumerate(defaults)}
    rows = [
        row
        for row in run_settings(run.kind, run.hyperparameters)
        if option_applies(row["key"], values)
    ]
    rows.sort(key=lambda row: order.get(row["key"], len(order)))  # stable: the rest last
    for row in rows:
        default = defaults.get(row["key"], run.hyperparameters.get(row["key"]))
        row["default"] = human(default) if row["key"] in defaults else "—"
        row["changed"] = row["key"] in defaults and run.hyperparameters.get(row["key"]) != default
        if row["unit"] and row["unit"].lower() in row["label"].lower():
            row["unit"] = ""
    return rows


def run_summary(run: TrainingRun, artifact: ModelArtifact | None) -> dict:
    """The top of the run page: progress with ETA, the data, the models, the key result
    and the artifact."""
    return {
        "eta": run_eta(run),
        "train_rows": _train_rows(run.snapshot),
        "models": _models_text(run),
        "key_result": run_key_result(run),
        "artifact": artifact,
    }
