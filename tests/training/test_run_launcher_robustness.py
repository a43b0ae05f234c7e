"""What the launcher does when things go wrong: a diverged run's NaN figures, a run taken
over by a newer launch, a relaunch from scratch, a torn metrics line, a double relaunch,
and accelerate configs that leave precision to the run."""

import json
import math

import pytest
import yaml
from django.conf import settings

from common.errors import ConflictError
from common.jobs import JobState
from tests.factories import make_project
from training.ml.metrics_log import MetricsLog, metrics_read
from training.runs.models import ArtifactKind, ModelArtifact, RunMetric, TrainingRun
from training.runs.services.execute import _finish, _mirror, _register, _start_over
from training.runs.services.runs import run_relaunch

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(tmp_path):
    project = make_project(slug="launcher")
    return TrainingRun.objects.create(
        project=project, kind="sft", state=JobState.RUNNING, attempt=1, out_dir=str(tmp_path)
    )


def test_a_diverged_runs_nan_figures_are_stored_as_null(run, tmp_path):
    # PostgreSQL's jsonb refuses NaN: before, the trained policy was never registered.
    (tmp_path / "summary.json").write_text(
        '{"policy": "tiny", "eval": {"loss": NaN, "perplexity": Infinity}, "steps": 3}'
    )
    (tmp_path / "metrics.jsonl").write_text(
        json.dumps({"step": 1, "event": "samples", "samples": [{"score": math.nan}]}) + "\n"
    )
    _mirror(run, tmp_path)
    _register(run, tmp_path)
    run.refresh_from_db()
    assert run.summary["eval"] == {"loss": None, "perplexity": None} and run.summary["steps"] == 3
    assert RunMetric.objects.get(run=run).values["samples"] == [{"score": None}]
    policy = ModelArtifact.objects.get(run=run)
    assert policy.kind == ArtifactKind.POLICY and "eval_loss" not in policy.metrics


def test_a_launcher_that_lost_its_run_writes_no_verdict(run):
    stale = TrainingRun.objects.get(pk=run.pk)  # this launcher's view: attempt 1
    TrainingRun.objects.filter(pk=run.pk).update(attempt=2)  # reaped and launched again
    _finish(stale, JobState.FAILED, "trainer exited with 1")
    run.refresh_from_db()
    assert run.state == JobState.RUNNING and run.error == ""  # the newer attempt's to say


def test_a_relaunch_from_scratch_drops_the_earlier_attempts_curves(run, tmp_path):
    log = MetricsLog(tmp_path)
    for step in (1, 2, 3):
        log.write(step, loss=1.0 / step)
    log.close()
    _mirror(run, tmp_path)
    assert RunMetric.objects.filter(run=run).count() == 3
    TrainingRun.objects.filter(pk=run.pk).update(attempt=2)
    run.refresh_from_db()
    _start_over(run, tmp_path)  # no checkpoint: the trainer starts at step 0
    assert not RunMetric.objects.filter(run=run).exists()
    assert (tmp_path / "metrics.attempt-1.jsonl").exists()
    log = MetricsLog(tmp_path)
    log.write(1, loss=0.9)
    log.close()
    _mirror(run, tmp_path)
    assert list(RunMetric.objects.filter(run=run).values_list("step", flat=True)) == [1]


def test_a_torn_metrics_line_is_cut_before_the_next_attempt_appends(tmp_path):
    log = MetricsLog(tmp_path)
    log.write(1, loss=0.5)
    log.close()
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 2, "loss": 0.')  # killed mid-write
    log = MetricsLog(tmp_path)
    log.write(2, loss=0.4)
    log.close()
    rows, _ = metrics_read(tmp_path / "metrics.jsonl")
    assert [(r["step"], r["loss"]) for r in rows] == [(1, 0.5), (2, 0.4)]
    # An unreadable line written by anything else is skipped, not a run stuck for ever.
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 3, "lo}\n{"step": 4, "loss": 0.3}\n')
    rows, _ = metrics_read(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 4]


def test_a_double_relaunch_queues_the_run_once(run):
    TrainingRun.objects.filter(pk=run.pk).update(state=JobState.FAILED)
    first = TrainingRun.objects.get(pk=run.pk)
    second = TrainingRun.objects.get(pk=run.pk)  # the same page, clicked twice
    assert run_relaunch(run=first).state == JobState.QUEUED
    with pytest.raises(ConflictError):
        run_relaunch(run=second)


@pytest.mark.parametrize("name", ["deepspeed_zero3.yaml", "fsdp.yaml"])
def test_sharded_configs_leave_precision_to_the_run(name):
    config = yaml.safe_load((settings.BASE_DIR / "training/accelerate" / name).read_text())
    assert config["mixed_precision"] == "no"  # bf16 here would override precision: fp32
