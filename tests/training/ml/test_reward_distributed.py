"""The reward trainer under ``accelerate launch`` with two processes (gloo on the CPU,
the same DDP code path NCCL takes on GPUs), started with the config the platform ships:
each process trains its share of every epoch's batches, only the main one writes the
stream, checkpoints and model, and the result loads and evaluates."""

import json
import math
import subprocess
import sys
from pathlib import Path

from training.ml.batching import batch_plan
from training.ml.encoding import encode
from training.ml.preference_data import examples_load
from training.ml.reward_model import default_base_model, tokenizer_load

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "training" / "accelerate" / "multi_gpu.yaml"


def test_two_processes_share_the_epoch_and_the_main_one_publishes(preference_file, tmp_path):
    data = tmp_path / "small.jsonl"
    data.write_text("\n".join(preference_file.read_text().splitlines()[:24]) + "\n")
    out = tmp_path / "run"
    options = ["--data", data, "--eval-data", data, "--out", out, "--epochs", 3,
               "--batch-size", 6, "--max-length", 64, "--log-every", 1, "--save-every", 2]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CONFIG),
         "--num_processes", "2", "-m", "training.ml.reward", "train", *map(str, options)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    printed = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(printed) == 1 and json.loads(printed[0])["model"] == str(out / "model")

    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    start = lines[0]
    assert start["event"] == "start" and start["processes"] == 2
    tokenizer = tokenizer_load(default_base_model())
    plan = batch_plan(encode(examples_load([data]), tokenizer, 64), 6, seed=0)
    per_process = len(plan) // 2  # every step trains two batches, one in each process
    assert start["total_steps"] == math.ceil(per_process * 3)
    steps = [x for x in lines if "loss" in x and "event" not in x]
    assert [x["step"] for x in steps] == list(range(1, start["total_steps"] + 1))  # once each
    assert lines[-1]["event"] == "finished"

    evaluated = [x for x in lines if "eval_pairwise_accuracy" in x]
    assert len(evaluated) == 3  # once per epoch, by the main process only
    assert evaluated[-1]["eval_loss"] < evaluated[0]["eval_loss"]  # it learned
    checkpoints = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert checkpoints[-1] == f"step-{start['total_steps']}"

    report = subprocess.run(
        [sys.executable, "-m", "training.ml.reward", "evaluate", "--model", str(out / "model"),
         "--data", str(data)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(report.stdout)["n_pairs"] == 24
