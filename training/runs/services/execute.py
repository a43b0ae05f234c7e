"""Launch a run's trainer as a subprocess and mirror it into the database.

The Celery task stays thin: it writes the run's config file, starts
``python -m training.ml.<trainer> train --config ... --out ...`` (under ``accelerate
launch`` when the run asks for several GPUs) in a process group of
its own (the kernel kills it with SIGKILL if the launcher dies, so no orphan keeps a
GPU), then every ``POLL_S`` copies new lines of the trainer's ``metrics.jsonl`` into
``RunMetric`` rows (with the byte offset, in one transaction: nothing twice, nothing
lost), keeps the log tail, beats the heartbeat, and stops the group when the run is
cancelled. A launch of a run with checkpoints passes ``--resume``.
"""

import ctypes
import json
import logging
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.jobs import JobState
from training.ml.checkpoints import checkpoint_latest
from training.ml.metrics_log import metrics_read
from training.ml.stack import training_stack_check
from training.runs.kinds import run_kind
from training.runs.models import ArtifactKind, ModelArtifact, RunMetric, TrainingRun
from training.runs.services.options import trainer_options

POLL_S = 1.0
TERM_GRACE_S = 10.0
LOG_TAIL_BYTES = 8000
_PR_SET_PDEATHSIG = 1

logger = logging.getLogger(__name__)


def run_folder(run: TrainingRun) -> Path:
    """The run's own folder: chosen at its first launch (id plus a random suffix, so a
    folder left by another database's run of the same id is never resumed from) and
    kept for every relaunch, which resumes from its checkpoints."""
    if run.out_dir:
        return Path(run.out_dir)
    return Path(settings.DATA_DIR) / "runs" / f"{run.pk}-{uuid.uuid4().hex[:8]}"


def _heartbeat_limit() -> timedelta:
    # The launcher beats every second; a run silent this long has lost its launcher, and
    # the workers' reaper fails it (common.jobs, the run's kind in training/apps.py).
    return timedelta(seconds=settings.PREFLAB_RUN_HEARTBEAT_TIMEOUT)


def _claim(run_id: int, worker: str) -> TrainingRun | None:
    """Take the run if it is queued (or running under a launcher that stopped beating)."""
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.is_finished:
            return None
        if run.state == JobState.RUNNING and run.heartbeat_at:
            if timezone.now() - run.heartbeat_at < _heartbeat_limit():
                return None  # a live launcher has it (a redelivered task)
        if run.cancel_requested:
            run.state, run.finished_at, run.error = JobState.CANCELLED, timezone.now(), "cancelled"
            run.save(update_fields=["state", "finished_at", "error"])
            return None
        now = timezone.now()
        run.state, run.attempt, run.worker = JobState.RUNNING, run.attempt + 1, worker[:200]
        run.started_at = run.started_at or now
        run.heartbeat_at = now
        run.out_dir = str(run_folder(run))
        run.save(
            update_fields=["state", "attempt", "worker", "started_at", "heartbeat_at", "out_dir"]
        )
        return run


def _config(run: TrainingRun) -> dict:
    """The trainer's config file: the run's options and where its data and models are
    (as its kind says, ``training.runs.kinds``)."""
    spec = run_kind(run.kind)
    return trainer_options(run.hyperparameters) | spec.data(run.snapshot) | spec.models(run)


def accelerate_config(distributed: str) -> str:
    """The ``accelerate launch`` config of a ``distributed`` choice (settings name them)."""
    return str({
        "ddp": settings.PREFLAB_ACCELERATE_CONFIG,
        "zero3": settings.PREFLAB_ACCELERATE_ZERO3_CONFIG,
        "fsdp": settings.PREFLAB_ACCELERATE_FSDP_CONFIG,
    }[distributed])  # fmt: skip


def trainer_command(run: TrainingRun, out: Path, config_path: Path) -> list[str]:
    """One device: plain ``python -m <trainer>``. Several (the run's ``gpus`` option):
    ``accelerate launch --config_file <the config of its distributed option> --num_processes
    N -m <trainer>``, started with this interpreter so it is the same environment."""
    spec = run_kind(run.kind)
    module, verb = spec.module, spec.command
    gpus = int(run.hyperparameters.get("gpus") or 1)
    if gpus > 1:
        config = accelerate_config(run.hyperparameters.get("distributed") or "ddp")
        command = [sys.executable, "-m", "accelerate.commands.launch"]
        command += ["--config_file", config]
        command += ["--num_processes", str(gpus), "-m", module, verb]
    else:
        command = [sys.executable, "-m", module, verb]
    command += ["--config", str(config_path), "--out", str(out)]
    if verb != "train":
        return command  # an evaluation starts over when launched again
    if checkpoint_latest(out) or list((out / "checkpoints").glob("checkpoint-*")):
        command.append("--resume")  # PrefLab's step-N checkpoints, or TRL's checkpoint-N
    return command


def _die_with_launcher() -> None:
    """In the child, before exec: its own process group, and SIGKILL when the launcher
    (its parent) dies, so a killed worker leaves no trainer running."""
    os.setsid()
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _storable(value):
    """The value as PostgreSQL's jsonb takes it, at any depth: NUL characters replaced
    (sampled text, a policy's raw bytes, can hold ``\u0000``) and NaN or infinite numbers
    as null (a diverging loss; Python writes them as bare ``NaN``, which jsonb refuses)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {k: _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def _mirror(run: TrainingRun, out: Path) -> None:
    """Copy the metrics lines written since the last call; a ``resumed`` line drops the
    rows of steps its checkpoint does not include (they are trained again)."""
    rows, offset = metrics_read(out / "metrics.jsonl", after_bytes=run.metrics_offset)
    if not rows:
        return
    fields = {"metrics_offset": offset}
    for row in rows:
        if row.get("total_steps"):
            fields["total_steps"] = int(row["total_steps"])
        if "progress" in row or row.get("event") == "resumed":
            fields["step"] = int(row["step"])
        if "eta_s" in row:
            fields["eta_seconds"] = row["eta_s"]
    with transaction.atomic():
        for row in rows:
            if row.get("event") == "resumed":
                RunMetric.objects.filter(run=run, step__gt=row["step"]).delete()
            RunMetric.objects.create(run=run, step=int(row.get("step", 0)), values=_storable(row))
        TrainingRun.objects.filter(pk=run.pk).update(**fields)
    for name, value in fields.items():
        setattr(run, name, value)


def _tail(path: Path) -> str:
    if not path.exists():
        return ""
    with open(path, "rb") as f:
        f.seek(max(path.stat().st_size - LOG_TAIL_BYTES, 0))
        return f.read().decode("utf-8", errors="replace")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the whole group, SIGKILL after a grace period."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(TERM_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


def _register(run: TrainingRun, out: Path) -> None:
    """Register what the run made, by the artifact its kind makes."""
    summary = _storable(json.loads((out / "summary.json").read_text(encoding="utf-8")))
    REGISTER[run_kind(run.kind).artifact](run, out, summary)


def _register_reward_model(run: TrainingRun, out: Path, summary: dict) -> None:
    """A trained reward model, with its held-out pair accuracy, loss and calibration."""
    evaluation = summary.get("eval") or {}
    ModelArtifact.objects.update_or_create(
        run=run,
        defaults={
            "project": run.project,
            "kind": ArtifactKind.REWARD,
            "name": run.name or f"reward model (run {run.pk})",
            "path": str(out / "model"),
            "base_model": summary.get("base_model", run.base_model),
            "snapshot": run.snapshot,
            "metrics": {
                k: evaluation.get(k)
                for k in ("pairwise_accuracy", "n_pairs", "loss", "ece", "reward_mean")
            },
        },
    )
    TrainingRun.objects.filter(pk=run.pk).update(summary=summary)


POLICY_FIGURES = (
    "reward_mean", "kl", "reward_minus_kl",  # PPO: the last step
    "eval_loss", "eval_perplexity", "eval_accuracy", "eval_margin",  # SFT, DPO: held out
)  # fmt: skip


def _register_policy(run: TrainingRun, out: Path, summary: dict) -> None:
    """A trained policy, with the reward model (PPO) and snapshot it came from, and its
    last step's reward and KL (PPO) or held-out loss and perplexity (SFT)."""
    last = (
        RunMetric.objects.filter(run=run, values__has_key="reward_mean").order_by("-step").first()
    )
    figures = dict(last.values) if last else {}
    figures |= {f"eval_{k}": v for k, v in (summary.get("eval") or {}).items()}
    ModelArtifact.objects.update_or_create(
        run=run,
        defaults={
            "project": run.project,
            "kind": ArtifactKind.POLICY,
            "name": run.name or f"policy (run {run.pk})",
            "path": str(out / "model"),
            "base_model": summary.get("policy", run.base_model),
            "snapshot": run.snapshot,
            "metrics": {
                "reward_model": run.reward_model_id,
                **{k: figures[k] for k in POLICY_FIGURES if figures.get(k) is not None},
            },
        },
    )
    TrainingRun.objects.filter(pk=run.pk).update(summary=summary)


EVALUATION_FIGURES = (
    "reward_mean", "win_rate", "win_rate_low", "win_rate_high", "perplexity", "rougeL", "bleu",
)  # fmt: skip


def _record_evaluation(run: TrainingRun, out: Path, summary: dict) -> None:
    """The run keeps the whole report (``out`` holds no model); the evaluated policy's
    registry entry gets the headline figures of its newest evaluation (which run, against
    what)."""
    figures = summary.get("eval") or {}
    newest = {k: figures[k] for k in EVALUATION_FIGURES if figures.get(k) is not None}
    newest |= {"run": run.pk, "reference": run.reference, "judge": run.reward_model_id}
    with transaction.atomic():
        TrainingRun.objects.filter(pk=run.pk).update(summary=summary)
        policy = ModelArtifact.objects.select_for_update().get(pk=run.policy_id)
        policy.metrics = {**policy.metrics, "evaluation": newest}
        policy.save(update_fields=["metrics"])


# What a finished run registers, by the artifact its kind makes (None: an evaluation).
REGISTER = {
    ArtifactKind.REWARD: _register_reward_model,
    ArtifactKind.POLICY: _register_policy,
    None: _record_evaluation,
}


def _finish(run: TrainingRun, state: str, error: str = "") -> TrainingRun:
    _mine(run).update(state=state, finished_at=timezone.now(), error=error, eta_seconds=None)
    run.refresh_from_db()
    return run


def _start_over(run: TrainingRun, out: Path) -> None:
    """A run launched again with no checkpoint to resume from trains from step 0: the
    earlier attempt's metrics move aside (kept as a file) and leave its curves."""
    metrics = out / "metrics.jsonl"
    if metrics.exists():
        metrics.rename(out / f"metrics.attempt-{run.attempt - 1}.jsonl")
    RunMetric.objects.filter(run=run).delete()
    TrainingRun.objects.filter(pk=run.pk).update(metrics_offset=0, step=0)
    run.metrics_offset, run.step = 0, 0


def run_execute(run_id: int, *, worker: str = "") -> TrainingRun | None:
    """Run the trainer of a queued run to its end (or cancel); returns the run, or None
    when there was nothing to do (finished, or another launcher has it)."""
    training_stack_check()  # a worker without torch fails the run here, saying so
    run = _claim(run_id, worker)
    if run is None:
        return None
    out = run_folder(run)
    out.mkdir(parents=True, exist_ok=True)
    try:
        config_path = out / "run.json"  # JSON is YAML: the trainer's --config reads it
        config_path.write_text(json.dumps(_config(run), indent=2), encoding="utf-8")
        command = trainer_command(run, out, config_path)
    except ValueError as exc:
        return _finish(run, JobState.FAILED, str(exc))
    if "--resume" not in command and run.attempt > 1:
        _start_over(run, out)
    with open(out / "log.txt", "ab") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(  # noqa: PLW1509 - preexec_fn: see _die_with_launcher
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
            preexec_fn=_die_with_launcher,
        )
    TrainingRun.objects.filter(pk=run.pk).update(pid=process.pid)
    try:
        return _follow(run, out, process)
    except Exception as exc:
        # Whatever broke here (the database, a line it refused), the trainer must not
        # run on unwatched and the run must say why it stopped.
        if process.poll() is None:
            _stop(process)
        _finish(run, JobState.FAILED, f"the launcher failed: {type(exc).__name__}: {exc}"[:2000])
        raise


def _mine(run: TrainingRun):
    """The run's row while this launcher still owns it: running, in this attempt. A run
    reaped (its heartbeat stalled) and launched again belongs to the newer launcher."""
    return TrainingRun.objects.filter(pk=run.pk, state=JobState.RUNNING, attempt=run.attempt)


def _follow(run: TrainingRun, out: Path, process: subprocess.Popen) -> TrainingRun | None:
    """Mirror, beat and watch for cancel until the trainer exits; then the verdict. None
    when the run was taken from this launcher (its trainer is stopped, nothing written)."""
    cancelled = False
    while True:
        code = process.poll()
        if not _mine(run).update(heartbeat_at=timezone.now(), log_tail=_tail(out / "log.txt")):
            if code is None:
                _stop(process)
            logger.warning("run %s: attempt %s lost the run; stopped", run.pk, run.attempt)
            return None
        _mirror(run, out)
        cancelled = TrainingRun.objects.filter(pk=run.pk, cancel_requested=True).exists()
        if cancelled and code is None:
            _stop(process)
            code = process.returncode
        if code is not None:
            break
        time.sleep(POLL_S)
    _mirror(run, out)
    TrainingRun.objects.filter(pk=run.pk).update(log_tail=_tail(out / "log.txt"))
    if cancelled:
        return _finish(run, JobState.CANCELLED, "cancelled; its process group was stopped")
    if code != 0:
        last = _tail(out / "log.txt").strip().splitlines()[-3:]
        return _finish(run, JobState.FAILED, f"trainer exited with {code}: " + " | ".join(last))
    _register(run, out)
    return _finish(run, JobState.SUCCEEDED)
