"""The run page's overview, read by selectors: progress with its ETA, the key result each
kind is judged by, and the options table with each option's default."""

from datetime import timedelta

import pytest
from django.utils import timezone

from common.jobs import JobState
from tests.training.run_helpers import project_with_listwise_snapshot
from training.runs.models import ModelArtifact, RunMetric, TrainingRun
from training.runs.selectors import duration_text, run_eta, run_key_result, run_options_table

NOW = timezone.now()


def _run(**fields) -> TrainingRun:
    return TrainingRun(kind=fields.pop("kind", "reward"), **fields)


def test_the_eta_is_the_pace_so_far_times_the_steps_left():
    # given a run 60 s in, at step 20 of 100, with no estimate of its own
    run = _run(state=JobState.RUNNING, step=20, total_steps=100,
               started_at=NOW - timedelta(seconds=60))  # fmt: skip
    # when its ETA is read
    eta = run_eta(run, now=NOW)
    # then 3 s a step for 80 steps: 4 minutes; 20% done
    assert eta["eta_seconds"] == pytest.approx(240)
    assert eta["eta"] == "4 min" and eta["percent"] == 20 and eta["elapsed"] == "1 min"


def test_the_trainers_own_estimate_wins_and_a_finished_run_has_none():
    running = _run(state=JobState.RUNNING, step=5, total_steps=10, eta_seconds=12.4,
                   started_at=NOW - timedelta(seconds=500))  # fmt: skip
    assert run_eta(running, now=NOW)["eta"] == "12 s"
    done = _run(state=JobState.SUCCEEDED, step=9, total_steps=10,
                started_at=NOW - timedelta(hours=2, minutes=5),
                finished_at=NOW)  # fmt: skip
    eta = run_eta(done, now=NOW)
    assert eta["eta"] == "" and eta["percent"] == 100 and eta["elapsed"] == "2 h 05 min"
    queued = run_eta(_run(state=JobState.QUEUED), now=NOW)
    assert queued["eta_seconds"] is None and queued["percent"] is None and queued["elapsed"] == ""


def test_durations_read_at_a_glance():
    assert [duration_text(s) for s in (None, 0, 59.6, 61, 3600 + 60 * 7)] == [
        "", "0 s", "1 min", "1 min 1 s", "1 h 07 min",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "summary", "label", "value"),
    [
        ("reward", {"eval": {"pairwise_accuracy": 0.8125, "n_pairs": 64}},
         "Held-out pair accuracy", "0.812"),
        ("sft", {"eval": {"perplexity": 7.389}}, "Held-out perplexity", "7.39"),
        ("dpo", {"eval": {"accuracy": 0.75}}, "Held-out preference accuracy", "0.750"),
        ("eval", {"eval": {"win_rate": 0.625, "win_rate_low": 0.4, "win_rate_high": 0.8}},
         "Win rate", "0.625"),
    ],
)  # fmt: skip
def test_the_key_result_is_the_figure_each_kind_is_judged_by(kind, summary, label, value):
    result = run_key_result(_run(kind=kind, summary=summary))
    assert result["label"] == label and result["value"] == value


def test_a_run_without_results_yet_has_no_key_result():
    assert run_key_result(_run(kind="reward", summary={})) is None
    assert run_key_result(_run(kind="eval", summary={"eval": {}})) is None


def test_a_policy_runs_key_result_is_its_last_reward_and_kl(db):
    # given a PPO run that logged two steps
    project, snapshot, _ = project_with_listwise_snapshot(4)
    rm = ModelArtifact.objects.create(project=project, kind="reward", name="rm", path="/rm")
    run = TrainingRun.objects.create(project=project, kind="ppo", snapshot=snapshot,
                                     reward_model=rm)  # fmt: skip
    for step, reward, kl in [(1, -0.5, 0.01), (2, 1.25, 0.125)]:
        RunMetric.objects.create(run=run, step=step, values={"reward_mean": reward, "kl": kl})
    # when its key result is read
    result = run_key_result(run)
    # then it is the newest step's mean reward, with its KL
    assert result == {"label": "Mean reward", "value": "1.250",
                      "detail": "KL to the reference 0.125"}  # fmt: skip


def test_the_options_table_has_each_options_default_and_unit():
    run = _run(kind="reward", hyperparameters={"lr": 2e-5, "epochs": 2})
    rows = {row["key"]: row for row in run_options_table(run)}
    assert rows["lr"]["value"] == "2e-05" and rows["lr"]["default"] == "5e-05"
    assert rows["lr"]["unit"] == "per step" and rows["lr"]["changed"]
    assert rows["epochs"]["default"] == "2" and not rows["epochs"]["changed"]


def test_the_options_table_follows_the_config_and_leaves_out_what_does_not_apply():
    # given a head-only reward run on the CPU, its options stored out of order
    run = _run(kind="reward", hyperparameters={
        "lr": 1e-3, "gpus": 1, "loss": "kwise", "seed": 0, "epochs": 3, "lora_r": 16,
        "lora_alpha": 32, "top_layers": 2, "distributed": "ddp", "strategy": "feature",
    })  # fmt: skip
    # when its options table is read
    rows = run_options_table(run)
    keys = [row["key"] for row in rows]
    # then the rows go in the config's order, without LoRA, top layers or DDP
    assert keys == ["strategy", "epochs", "lr", "seed", "loss", "gpus"]
    # and a unit that repeats the name is left out
    units = {row["key"]: row["unit"] for row in rows}
    assert units["seed"] == "" and units["gpus"] == "" and units["epochs"] == ""
    assert units["lr"] == "per step"
    # a LoRA run on several GPUs keeps its LoRA shape and how the GPUs share the work
    lora = _run(kind="reward", hyperparameters={"strategy": "lora", "lora_r": 8, "gpus": 2,
                                                "distributed": "ddp", "top_layers": 2})  # fmt: skip
    assert [row["key"] for row in run_options_table(lora)] == [
        "strategy",
        "lora_r",
        "gpus",
        "distributed",
    ]
