"""A real Celery worker on the ``gpu`` queue runs reward-model training launched through
the API: queued -> running -> succeeded with metrics and a registered model; a
cancelled run's process group is gone; a run whose worker is killed is marked failed
and, launched again, resumes from its checkpoint."""

import os
import time
import uuid
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from common.jobs import JobState
from tests.conftest import WORKER_SKIP_REASON, start_celery_worker, worker_can_share_database
from tests.training.run_helpers import project_with_listwise_snapshot
from training.runs.models import ModelArtifact, RunMetric, TrainingRun

pytestmark = pytest.mark.django_db(transaction=True)

SMALL = {"epochs": 1, "batch_size": 6, "max_length": 48, "log_every": 1, "save_every": 2}


@pytest.fixture(autouse=True)
def snapshot_storage():
    """The worker reads the snapshot from the storage its environment names."""
    return None


@pytest.fixture
def worker_log(tmp_path):
    if not worker_can_share_database():
        pytest.skip(WORKER_SKIP_REASON)
    return tmp_path


@pytest.fixture
def trained_project():
    project, snapshot, engineer = project_with_listwise_snapshot()
    client = APIClient()
    client.force_authenticate(engineer)
    return project, snapshot, client


def _launch(client, project, snapshot, **hyper):
    response = client.post(
        "/api/v1/training-runs/",
        {"project": project.slug, "kind": "reward", "snapshot": snapshot.pk,
         "hyperparameters": {**SMALL, **hyper}, "client_token": uuid.uuid4().hex},
        format="json",
    )  # fmt: skip
    assert response.status_code == 202, response.json()
    return response.json()["id"]


def _wait(run_id, until, seconds=180):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = TrainingRun.objects.get(pk=run_id)
        if until(run):
            return run
        time.sleep(0.2)
    pytest.fail(f"run never got there: {run.state} {run.error}\n{run.log_tail[-2000:]}")


def _group_gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_run_launched_from_the_api_trains_and_registers_its_model(trained_project, worker_log):
    project, snapshot, client = trained_project
    worker = start_celery_worker(worker_log / "worker.log", queues="gpu")
    try:
        run_id = _launch(client, project, snapshot)
        assert TrainingRun.objects.get(pk=run_id).state in (JobState.QUEUED, JobState.RUNNING)
        running = _wait(run_id, lambda r: r.state != JobState.QUEUED)
        assert running.state in (JobState.RUNNING, JobState.SUCCEEDED)
        done = _wait(run_id, lambda r: r.is_finished)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    assert done.state == JobState.SUCCEEDED, f"{done.error}\n{done.log_tail[-3000:]}"
    losses = [m.values["loss"] for m in RunMetric.objects.filter(run=done) if "loss" in m.values]
    assert losses and done.step == done.total_steps > 0
    artifact = ModelArtifact.objects.get(run=done)
    assert Path(artifact.path, "model.safetensors").exists()
    assert artifact.metrics["n_pairs"] > 0  # evaluated on the snapshot's test split
    body = client.get(f"/api/v1/training-runs/{run_id}/").json()
    assert body["state"] == "succeeded" and body["progress"]["share"] == 1.0
    assert body["artifact"]["id"] == artifact.pk and "loss" in body["latest_metrics"]
    assert body["worker"] and body["attempt"] == 1


def test_cancel_stops_the_trainer_process_group(trained_project, worker_log):
    project, snapshot, client = trained_project
    worker = start_celery_worker(worker_log / "worker.log", queues="gpu")
    try:
        run_id = _launch(client, project, snapshot, epochs=500)
        running = _wait(run_id, lambda r: r.state == JobState.RUNNING and r.step >= 1)
        assert not _group_gone(running.pid)
        response = client.post(f"/api/v1/training-runs/{run_id}/cancel/")
        assert response.status_code == 200
        done = _wait(run_id, lambda r: r.is_finished, 60)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    assert done.state == JobState.CANCELLED
    assert _group_gone(running.pid)


def test_a_killed_worker_fails_the_run_and_a_relaunch_resumes(
    trained_project, worker_log, settings
):
    project, snapshot, client = trained_project
    settings.PREFLAB_RUN_HEARTBEAT_TIMEOUT = 3
    worker = start_celery_worker(worker_log / "first.log", queues="gpu")
    try:
        run_id = _launch(client, project, snapshot, epochs=500, max_steps=8)
        running = _wait(
            run_id, lambda r: r.out_dir and list(Path(r.out_dir).glob("checkpoints/step-*"))
        )
        worker.kill()
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    deadline = time.monotonic() + 10
    while not _group_gone(running.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _group_gone(running.pid)  # the trainer died with its worker
    time.sleep(3.5)
    # a page read changes nothing (no reaping inside requests) ...
    assert client.get(f"/api/v1/training-runs/{run_id}/").json()["state"] == "running"

    # ... the next worker's reaper fails the silent run as it starts
    worker = start_celery_worker(
        worker_log / "second.log", queues="gpu", env_extra={"PREFLAB_RUN_HEARTBEAT_TIMEOUT": "3"}
    )
    try:
        failed = _wait(run_id, lambda r: r.state == JobState.FAILED)
        assert "stopped" in failed.error
        assert client.post(f"/api/v1/training-runs/{run_id}/relaunch/").status_code == 202
        done = _wait(run_id, lambda r: r.is_finished)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    assert done.state == JobState.SUCCEEDED, f"{done.error}\n{done.log_tail[-3000:]}"
    assert done.attempt == 2 and done.step == 8
    resumed = [m for m in RunMetric.objects.filter(run=done) if m.values.get("event") == "resumed"]
    assert resumed and resumed[0].step >= 2
    steps = [m.step for m in RunMetric.objects.filter(run=done) if "loss" in m.values]
    assert len(steps) == len(set(steps)) == 8  # steps redone after the checkpoint count once


def _trainer_pids(out_dir: str) -> set[int]:
    """Processes whose command line names the run's folder (launcher and trainers)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if out_dir in cmdline:
                pids.add(int(entry.name))
    return pids


def test_a_two_gpu_run_goes_through_accelerate_launch_and_cancel_stops_every_process(
    trained_project, worker_log
):
    """gpus=2 on a machine without GPUs: accelerate launch starts two gloo processes,
    the same path two GPUs take; the stream says so, and cancel leaves none behind."""
    project, snapshot, client = trained_project
    worker = start_celery_worker(worker_log / "worker.log", queues="gpu")
    try:
        done_id = _launch(client, project, snapshot, gpus=2, batch_size=3)
        done = _wait(done_id, lambda r: r.is_finished, 240)
        assert done.state == JobState.SUCCEEDED, f"{done.error}\n{done.log_tail[-3000:]}"
        start = RunMetric.objects.get(run=done, values__event="start").values
        assert start["processes"] == 2
        command = Path(done.out_dir, "log.txt").read_text().splitlines()[0]
        assert "-m accelerate.commands.launch --config_file" in command
        assert ModelArtifact.objects.filter(run=done).exists()

        run_id = _launch(client, project, snapshot, gpus=2, batch_size=3, epochs=500)
        running = _wait(run_id, lambda r: r.state == JobState.RUNNING and r.step >= 1)
        trainers = _trainer_pids(running.out_dir)
        assert len(trainers) >= 3  # accelerate launch and its two training processes
        assert client.post(f"/api/v1/training-runs/{run_id}/cancel/").status_code == 200
        cancelled = _wait(run_id, lambda r: r.is_finished, 60)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    assert cancelled.state == JobState.CANCELLED
    deadline = time.monotonic() + 10
    while _trainer_pids(running.out_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _trainer_pids(running.out_dir)


def test_a_ppo_run_answers_the_snapshots_prompts_against_a_registered_reward_model(
    trained_project, worker_log
):
    """The loop the platform exists for, through the API and one worker: a reward model
    trained on the rankings, then PPO of a tiny policy scored by it, registered as a
    policy that names the reward model it came from."""
    project, snapshot, client = trained_project
    worker = start_celery_worker(worker_log / "worker.log", queues="gpu")
    try:
        reward_run = _wait(_launch(client, project, snapshot), lambda r: r.is_finished)
        assert reward_run.state == JobState.SUCCEEDED, reward_run.error
        reward_model = ModelArtifact.objects.get(run=reward_run)
        response = client.post(
            "/api/v1/training-runs/",
            {"project": project.slug, "kind": "ppo", "snapshot": snapshot.pk,
             "reward_model": reward_model.pk, "base_model": "tiny", "client_token": "ppo-1",
             "hyperparameters": {"steps": 3, "batch_size": 4, "mini_batch_size": 2,
                                 "max_new_tokens": 8, "sample_every": 1, "save_every": 2}},
            format="json",
        )  # fmt: skip
        assert response.status_code == 202, response.json()
        assert response.json()["reward_model"] == reward_model.pk
        done = _wait(response.json()["id"], lambda r: r.is_finished)
        assert done.state == JobState.SUCCEEDED, f"{done.error}\n{done.log_tail[-3000:]}"
        policy = ModelArtifact.objects.get(run=done)
        # Evaluated against itself, greedy: the same answers, every prompt a tie.
        response = client.post(
            "/api/v1/training-runs/",
            {"project": project.slug, "kind": "eval", "snapshot": snapshot.pk,
             "policy": policy.pk, "reference_policy": policy.pk, "reward_model": reward_model.pk,
             "client_token": "eval-1", "hyperparameters": {"max_new_tokens": 8}},
            format="json",
        )  # fmt: skip
        assert response.status_code == 202, response.json()
        evaluation = _wait(response.json()["id"], lambda r: r.is_finished)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    steps = [m.values for m in RunMetric.objects.filter(run=done) if "reward_mean" in m.values]
    assert [s["step"] for s in steps] == [1, 2, 3] and all("kl" in s for s in steps)
    assert RunMetric.objects.filter(run=done, values__event="samples").exists()
    assert policy.kind == "policy" and policy.metrics["reward_model"] == reward_model.pk
    assert Path(policy.path, "model.safetensors").exists()
    assert evaluation.state == JobState.SUCCEEDED, f"{evaluation.error}\n{evaluation.log_tail}"
    report = evaluation.summary["eval"]
    held_out = snapshot.files.get(format="listwise", split="test").rows
    assert evaluation.summary["prompts"] == held_out > 0  # the held-out split's prompts
    assert report["win_rate"] == 0.5 and report["ties"] == held_out
    assert evaluation.summary["reference_eval"]["reward_mean"] == report["reward_mean"]
    assert evaluation.step == evaluation.total_steps > 0
    policy.refresh_from_db()
    assert policy.metrics["evaluation"]["run"] == evaluation.pk
    assert policy.metrics["evaluation"]["win_rate"] == 0.5


def test_an_sft_run_trains_on_the_snapshots_demonstrations_and_registers_a_policy(worker_log):
    project, snapshot, engineer = project_with_listwise_snapshot(formats=("listwise", "sft"))
    client = APIClient()
    client.force_authenticate(engineer)
    worker = start_celery_worker(worker_log / "worker.log", queues="gpu")
    try:
        response = client.post(
            "/api/v1/training-runs/",
            {"project": project.slug, "kind": "sft", "snapshot": snapshot.pk,
             "client_token": "sft-1", "hyperparameters": {"epochs": 2, "batch_size": 6,
                                                          "log_every": 1, "max_length": 64}},
            format="json",
        )  # fmt: skip
        assert response.status_code == 202, response.json()
        done = _wait(response.json()["id"], lambda r: r.is_finished)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    assert done.state == JobState.SUCCEEDED, f"{done.error}\n{done.log_tail[-3000:]}"
    losses = [m.values["loss"] for m in RunMetric.objects.filter(run=done) if "loss" in m.values]
    assert len(losses) >= 4 and done.step == done.total_steps
    policy = ModelArtifact.objects.get(run=done)
    assert policy.kind == "policy" and policy.metrics["eval_perplexity"] > 1
    assert Path(policy.path, "model.safetensors").exists()


def test_a_dpo_run_trains_a_policy_on_the_snapshots_rankings(trained_project, worker_log):
    project, snapshot, client = trained_project
    worker = start_celery_worker(worker_log / "worker.log", queues="gpu")
    try:
        response = client.post(
            "/api/v1/training-runs/",
            {"project": project.slug, "kind": "dpo", "snapshot": snapshot.pk,
             "client_token": "dpo-1", "hyperparameters": {"epochs": 2, "batch_size": 6,
                                                          "lr": 1e-3, "log_every": 1,
                                                          "max_length": 64}},
            format="json",
        )  # fmt: skip
        assert response.status_code == 202, response.json()
        done = _wait(response.json()["id"], lambda r: r.is_finished)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    assert done.state == JobState.SUCCEEDED, f"{done.error}\n{done.log_tail[-3000:]}"
    rows = [m.values for m in RunMetric.objects.filter(run=done) if "margin" in m.values]
    assert rows and all("accuracy" in r and "loss" in r for r in rows)
    policy = ModelArtifact.objects.get(run=done)
    assert policy.kind == "policy" and "eval_accuracy" in policy.metrics


def test_a_grpo_run_trains_against_a_registered_reward_model(trained_project, worker_log):
    """TRL's GRPOTrainer with the project's reward model as the reward function, through
    the API and a worker: steps stream reward and KL, the policy is registered."""
    project, snapshot, client = trained_project
    worker = start_celery_worker(worker_log / "worker.log", queues="gpu")
    try:
        reward_run = _wait(_launch(client, project, snapshot), lambda r: r.is_finished)
        assert reward_run.state == JobState.SUCCEEDED, reward_run.error
        reward_model = ModelArtifact.objects.get(run=reward_run)
        response = client.post(
            "/api/v1/training-runs/",
            {"project": project.slug, "kind": "grpo", "snapshot": snapshot.pk,
             "reward_model": reward_model.pk, "client_token": "grpo-1",
             "hyperparameters": {"max_steps": 3, "batch_size": 4, "num_generations": 2,
                                 "max_new_tokens": 8, "lr": 1e-4, "sample_every": 1}},
            format="json",
        )  # fmt: skip
        assert response.status_code == 202, response.json()
        done = _wait(response.json()["id"], lambda r: r.is_finished)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    assert done.state == JobState.SUCCEEDED, f"{done.error}\n{done.log_tail[-3000:]}"
    steps = [m.values for m in RunMetric.objects.filter(run=done) if "reward_mean" in m.values]
    assert [s["step"] for s in steps] == [1, 2, 3] and all("kl" in s for s in steps)
    assert RunMetric.objects.filter(run=done, values__event="samples").exists()
    policy = ModelArtifact.objects.get(run=done)
    assert policy.kind == "policy" and policy.metrics["reward_model"] == reward_model.pk
    assert Path(policy.path, "model.safetensors").exists()
