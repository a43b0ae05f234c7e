"""Training runs and the model registry through the API (no worker: launching is
checked up to the queue; the worker tests run them)."""

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from common.jobs import JobState, jobs_reap
from tests.training.run_helpers import project_with_listwise_snapshot
from training.runs.models import ModelArtifact, TrainingRun


@pytest.fixture
def setup(db):
    project, snapshot, engineer = project_with_listwise_snapshot(12)
    client = APIClient()
    client.force_authenticate(engineer)
    return project, snapshot, client


def _post(client, project, snapshot, **extra):
    body = {"project": project.slug, "kind": "reward", "snapshot": snapshot.pk, **extra}
    return client.post("/api/v1/training-runs/", body, format="json")


@pytest.mark.parametrize(
    ("hyperparameters", "field"),
    [
        ({"epochz": 1}, "hyperparameters.epochz"),
        ({"lr": -1}, "hyperparameters.lr"),
        ({"strategy": "magic"}, "hyperparameters.strategy"),
        ({"batch_size": 2.5}, "hyperparameters.batch_size"),
        ({"epochs": 0}, "hyperparameters.epochs"),
        ({"gpus": 0}, "hyperparameters.gpus"),
    ],
)
def test_bad_hyperparameters_are_refused_naming_the_field(setup, hyperparameters, field):
    project, snapshot, client = setup
    response = _post(client, project, snapshot, hyperparameters=hyperparameters)
    assert response.status_code == 400
    assert response.json()["field"] == field and field in response.json()["message"]
    assert not TrainingRun.objects.exists()


def test_a_launch_is_queued_once_per_client_token_with_the_defaults_filled_in(setup):
    project, snapshot, client = setup
    token = uuid.uuid4().hex
    first = _post(client, project, snapshot, hyperparameters={"epochs": 3}, client_token=token)
    again = _post(client, project, snapshot, hyperparameters={"epochs": 3}, client_token=token)
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"] and TrainingRun.objects.count() == 1
    body = first.json()
    assert body["state"] == "queued" and body["hyperparameters"]["epochs"] == 3
    assert body["hyperparameters"]["strategy"] == "full"  # the trainer's default
    listed = client.get(f"/api/v1/training-runs/?project={project.slug}").json()
    assert [r["id"] for r in listed] == [body["id"]]


def test_cancel_a_queued_run_then_launch_it_again(setup):
    project, snapshot, client = setup
    run_id = _post(client, project, snapshot).json()["id"]
    cancelled = client.post(f"/api/v1/training-runs/{run_id}/cancel/")
    assert cancelled.json()["state"] == "cancelled"
    assert client.post(f"/api/v1/training-runs/{run_id}/cancel/").status_code == 409
    relaunched = client.post(f"/api/v1/training-runs/{run_id}/relaunch/")
    assert relaunched.status_code == 202 and relaunched.json()["state"] == "queued"


def test_a_run_whose_worker_stopped_beating_is_failed_by_the_reaper_not_by_a_read(setup):
    # given a running run whose launcher last beat ten minutes ago
    project, snapshot, client = setup
    run_id = _post(client, project, snapshot).json()["id"]
    TrainingRun.objects.filter(pk=run_id).update(
        state=JobState.RUNNING, heartbeat_at=timezone.now() - timedelta(minutes=10)
    )
    # when only pages and the API read it, nothing changes: reads never write
    assert client.get(f"/api/v1/training-runs/{run_id}/").json()["state"] == "running"
    assert client.get(f"/api/v1/training-runs/?project={project.slug}").json()[0]["state"] == (
        "running"
    )
    # then the workers' background reaper fails it, saying why
    assert jobs_reap() == 1
    body = client.get(f"/api/v1/training-runs/{run_id}/").json()
    assert body["state"] == "failed" and "no heartbeat" in body["error"]


def test_a_snapshot_without_rankings_is_refused(setup):
    project, snapshot, client = setup
    snapshot.files.filter(format="listwise").update(format="sft")
    response = _post(client, project, snapshot)
    assert response.status_code == 400 and response.json()["field"] == "snapshot"


def test_the_run_list_costs_the_same_queries_for_one_run_or_many(setup):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    project, snapshot, client = setup
    url = f"/api/v1/training-runs/?project={project.slug}"

    def add_run(n):
        run = TrainingRun.objects.create(project=project, kind="reward", snapshot=snapshot)
        ModelArtifact.objects.create(
            project=project, kind="reward", name=f"rm{n}", path="/x", run=run
        )

    add_run(0)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(url).json()) == 1
    for n in range(1, 6):
        add_run(n)
    with CaptureQueriesContext(connection) as six:
        body = client.get(url).json()
    assert len(body) == 6 and all(r["artifact"]["name"].startswith("rm") for r in body)
    assert len(six) == len(one)


def test_the_launch_command_is_python_m_on_one_gpu_and_accelerate_launch_on_several(
    setup, tmp_path, settings
):
    """What the training guide (docs/guide/training.md) says the worker runs."""
    import sys

    from training.runs.services.execute import _config, trainer_command

    project, snapshot, client = setup
    settings.PREFLAB_ACCELERATE_CONFIG = "/etc/preflab/accelerate.yaml"
    one = _post(client, project, snapshot, client_token="a").json()
    four = _post(client, project, snapshot, client_token="b", hyperparameters={"gpus": 4}).json()
    config = tmp_path / "run.json"
    single = trainer_command(TrainingRun.objects.get(pk=one["id"]), tmp_path, config)
    assert single == [sys.executable, "-m", "training.ml.reward", "train",
                      "--config", str(config), "--out", str(tmp_path)]  # fmt: skip
    run = TrainingRun.objects.get(pk=four["id"])
    several = trainer_command(run, tmp_path, config)
    assert several == [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", "/etc/preflab/accelerate.yaml", "--num_processes", "4",
        "-m", "training.ml.reward", "train", "--config", str(config), "--out", str(tmp_path),
    ]  # fmt: skip
    assert "gpus" not in _config(run)  # a launch option, not the trainer's
    guide = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "training.md").read_text()
    assert "accelerate launch --config_file" in guide and "--num_processes" in guide


def test_a_ppo_run_needs_a_reward_model_of_its_project(setup):
    from tests.factories import make_project

    project, snapshot, client = setup
    other = make_project(slug=f"other-{uuid.uuid4().hex[:6]}")
    foreign = ModelArtifact.objects.create(project=other, kind="reward", name="x", path="/x")
    mine = ModelArtifact.objects.create(project=project, kind="reward", name="rm", path="/rm")
    policy = ModelArtifact.objects.create(project=project, kind="policy", name="p", path="/p")
    cases = [
        ({}, "reward_model"),
        ({"reward_model": foreign.pk}, "reward_model"),
        ({"reward_model": policy.pk}, "reward_model"),
        ({"reward_model": mine.pk, "hyperparameters": {"batch_size": 6, "mini_batch_size": 4}},
         "hyperparameters.mini_batch_size"),
    ]  # fmt: skip
    for extra, field in cases:
        response = _post(client, project, snapshot, **{**extra, "kind": "ppo"})
        assert response.status_code == 400 and response.json()["field"] == field, extra
    response = _post(client, project, snapshot, kind="ppo", reward_model=mine.pk)
    assert response.status_code == 202
    body = response.json()
    assert body["kind"] == "ppo" and body["reward_model"] == mine.pk
    assert body["hyperparameters"]["kl_coef"] == 0.05  # the PPO trainer's default


def test_metric_lines_with_nul_characters_are_stored(setup, tmp_path):
    """Sampled text can hold any byte; PostgreSQL's jsonb refuses \\u0000."""
    import json as json_module

    from training.runs.models import RunMetric
    from training.runs.services.execute import _mirror

    project, snapshot, _ = setup
    run = TrainingRun.objects.create(project=project, kind="ppo", snapshot=snapshot)
    line = {"step": 1, "event": "samples", "samples": [{"response": "a\x00b", "score": 1.0}]}
    (tmp_path / "metrics.jsonl").write_text(json_module.dumps(line) + "\n")
    _mirror(run, tmp_path)
    stored = RunMetric.objects.get(run=run).values
    assert stored["samples"][0]["response"] == "a\ufffdb"
    assert TrainingRun.objects.get(pk=run.pk).metrics_offset > 0


def test_an_sft_run_needs_demonstrations_in_its_snapshot(setup):
    project, snapshot, client = setup  # listwise only
    response = _post(client, project, snapshot, kind="sft")
    assert response.status_code == 400 and response.json()["field"] == "snapshot"
    assert "no sft JSONL train split" in response.json()["message"]


def test_a_new_run_never_takes_over_a_folder_left_under_its_id(setup, settings, tmp_path):
    """Ids restart with a new database; a folder (and checkpoints) from an earlier run of
    the same id must not be resumed from."""
    from training.runs.services.execute import run_folder

    project, snapshot, _ = setup
    settings.DATA_DIR = tmp_path
    run = TrainingRun.objects.create(project=project, kind="reward", snapshot=snapshot)
    (tmp_path / "runs" / str(run.pk) / "checkpoints" / "step-2").mkdir(parents=True)
    folder = run_folder(run)
    assert folder.parent == tmp_path / "runs" and folder.name.startswith(f"{run.pk}-")
    assert run_folder(run) != folder  # a fresh name until the first launch records it
    run.out_dir = str(folder)
    assert run_folder(run) == folder  # then every relaunch resumes there


def test_an_evaluation_run_needs_a_policy_a_judge_and_a_held_out_split(setup, tmp_path):
    """The project's snapshot has a test split (its held-out prompts); the launch
    resolves a reference policy by id to its path, and the trainer's config names the
    held-out files only."""
    from training.runs.services.execute import _config, trainer_command

    project, snapshot, client = setup
    judge = ModelArtifact.objects.create(project=project, kind="reward", name="rm", path="/rm")
    policy = ModelArtifact.objects.create(project=project, kind="policy", name="p", path="/p")
    start = ModelArtifact.objects.create(project=project, kind="policy", name="s", path="/s")
    cases = [
        ({"reward_model": judge.pk}, "policy"),
        ({"reward_model": judge.pk, "policy": judge.pk}, "policy"),
        ({"policy": policy.pk}, "reward_model"),
        ({"reward_model": policy.pk, "policy": policy.pk}, "reward_model"),
        ({"reward_model": judge.pk, "policy": policy.pk, "hyperparameters": {"lr": 1}},
         "hyperparameters.lr"),
        # A reward model is no reference to generate with: refused before any work.
        ({"reward_model": judge.pk, "policy": policy.pk, "reference_policy": judge.pk},
         "reference_policy"),
    ]  # fmt: skip
    for extra, field in cases:
        response = _post(client, project, snapshot, kind="eval", **extra)
        assert response.status_code == 400 and response.json()["field"] == field, extra
    # No reference named: the model the policy's training started from, as on the page.
    ModelArtifact.objects.filter(pk=policy.pk).update(base_model="HuggingFaceTB/SmolLM2-135M")
    response = _post(client, project, snapshot, kind="eval", reward_model=judge.pk,
                     policy=policy.pk)  # fmt: skip
    assert (
        response.status_code == 202 and response.json()["reference"] == "HuggingFaceTB/SmolLM2-135M"
    )
    response = _post(client, project, snapshot, kind="eval", reward_model=judge.pk,
                     policy=policy.pk, reference_policy=start.pk,
                     hyperparameters={"max_new_tokens": 16})  # fmt: skip
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["policy"] == policy.pk and body["reference"] == "/s"
    assert body["hyperparameters"]["temperature"] == 0.0  # greedy unless asked
    run = TrainingRun.objects.get(pk=body["id"])
    config = _config(run)
    assert config["policy"] == "/p" and config["reward_model"] == "/rm"
    assert config["reference"] == "/s" and config["max_new_tokens"] == 16
    assert config["prompts"][0].endswith("listwise/test.jsonl") and "demonstrations" not in config
    command = trainer_command(run, tmp_path, tmp_path / "run.json")
    assert command[2:4] == ["training.ml.policy_eval", "evaluate"] and "--resume" not in command


def test_an_evaluation_refuses_a_snapshot_without_held_out_prompts(db):
    from training.datasets.services.snapshots import snapshot_create, snapshot_export

    project, _, engineer = project_with_listwise_snapshot(12)
    options = {"formats": ["listwise"], "file_types": ["jsonl"], "splits": {"train": 1.0}}
    snapshot, _ = snapshot_create(project=project, user=engineer, options=options, enqueue=False)
    snapshot = snapshot_export(snapshot_id=snapshot.pk)
    judge = ModelArtifact.objects.create(project=project, kind="reward", name="rm", path="/rm")
    policy = ModelArtifact.objects.create(project=project, kind="policy", name="p", path="/p")
    client = APIClient()
    client.force_authenticate(engineer)
    response = _post(client, project, snapshot, kind="eval", reward_model=judge.pk,
                     policy=policy.pk)  # fmt: skip
    assert response.status_code == 400 and response.json()["field"] == "snapshot"
    assert "no validation or test split" in response.json()["message"]


def test_the_multi_gpu_launch_command_is_the_one_the_training_guide_shows(db, settings):
    """The training guide's "Several GPUs or nodes" command, token for token: ``accelerate
    launch`` (the worker runs it as ``python -m accelerate.commands.launch``) with the
    config of the run's ``distributed`` option and ``gpus`` processes."""
    import shlex
    import sys

    from django.conf import settings as django_settings

    from training.runs.services.execute import trainer_command

    guide = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "training.md").read_text()
    shown = next(line for line in guide.splitlines()
                 if line.startswith("accelerate launch --config_file"))  # fmt: skip
    words = shlex.split(shown)
    project, snapshot, engineer = project_with_listwise_snapshot(12, formats=("listwise", "sft"))
    client = APIClient()
    client.force_authenticate(engineer)
    response = _post(client, project, snapshot, kind="sft",
                     hyperparameters={"gpus": 8, "distributed": "zero3"})  # fmt: skip
    assert response.status_code == 202, response.json()
    run = TrainingRun.objects.get(pk=response.json()["id"])
    out = Path(words[words.index("--out") + 1])
    command = trainer_command(run, out, Path(words[words.index("--config") + 1]))
    assert command[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    config = Path(command[command.index("--config_file") + 1])
    assert config.relative_to(django_settings.BASE_DIR).as_posix() == words[3]
    assert config.exists()
    assert ["accelerate", "launch", "--config_file", words[3], *command[5:]] == words
    for option, setting in (("ddp", "multi_gpu.yaml"), ("fsdp", "fsdp.yaml")):
        hyper = {"gpus": 2, "distributed": option}
        run = TrainingRun.objects.get(pk=_post(client, project, snapshot, kind="dpo",
                                               hyperparameters=hyper).json()["id"])  # fmt: skip
        command = trainer_command(run, out, Path("run.json"))
        assert Path(command[command.index("--config_file") + 1]).name == setting
        assert command[command.index("--num_processes") + 1] == "2"


def test_ppo_shards_with_ddp_only_and_lora_runs_are_not_sharded(setup):
    project, snapshot, client = setup
    judge = ModelArtifact.objects.create(project=project, kind="reward", name="rm", path="/rm")
    cases = [
        ("ppo", {"gpus": 2, "distributed": "zero3"}, "hyperparameters.distributed"),
        ("reward", {"gpus": 2, "distributed": "fsdp"}, "hyperparameters.distributed"),
        ("dpo", {"gpus": 2, "distributed": "zero3", "lora_r": 8}, "hyperparameters.distributed"),
        ("dpo", {"distributed": "megatron"}, "hyperparameters.distributed"),
        (
            "sft",
            {"gpus": 1, "distributed": "fsdp"},
            "hyperparameters.distributed",
        ),  # nothing to shard over
        ("ppo", {"gpus": 3, "batch_size": 12, "mini_batch_size": 4}, "hyperparameters.gpus"),
    ]
    for kind, hyper, field in cases:
        response = _post(client, project, snapshot, kind=kind, reward_model=judge.pk,
                         hyperparameters=hyper)  # fmt: skip
        assert response.status_code == 400 and response.json()["field"] == field, (kind, hyper)
    response = _post(client, project, snapshot, kind="ppo", reward_model=judge.pk,
                     hyperparameters={"gpus": 2, "batch_size": 8, "mini_batch_size": 4})  # fmt: skip
    assert response.status_code == 202, response.json()


def test_a_grpo_run_needs_a_reward_model_and_whole_groups(setup, tmp_path):
    from training.runs.services.execute import _config

    project, snapshot, client = setup
    judge = ModelArtifact.objects.create(project=project, kind="reward", name="rm", path="/rm")
    cases = [
        ({}, "reward_model"),
        ({"reward_model": judge.pk, "hyperparameters": {"batch_size": 6, "num_generations": 4}},
         "hyperparameters.batch_size"),
        ({"reward_model": judge.pk, "hyperparameters": {"num_generations": 1}},
         "hyperparameters.num_generations"),
        ({"reward_model": judge.pk, "hyperparameters": {"estimator": "ppo"}},
         "hyperparameters.estimator"),
    ]  # fmt: skip
    for extra, field in cases:
        response = _post(client, project, snapshot, kind="grpo", **extra)
        assert response.status_code == 400 and response.json()["field"] == field, extra
    response = _post(client, project, snapshot, kind="grpo", reward_model=judge.pk,
                     hyperparameters={"estimator": "rloo"})  # fmt: skip
    assert response.status_code == 202, response.json()
    config = _config(TrainingRun.objects.get(pk=response.json()["id"]))
    assert config["reward_model"] == "/rm" and config["estimator"] == "rloo"
    assert config["prompts"][0].endswith("listwise/train.jsonl") and config["policy"] == "tiny"
    assert "gpus" not in config and "distributed" not in config
