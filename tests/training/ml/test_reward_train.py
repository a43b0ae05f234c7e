"""The reward trainer on the CPU with the pretrained MiniLM: it learns, every strategy
trains what it says, a killed run resumes to the same weights, evaluate reports."""

import io
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from training.ml import reward as cli
from training.ml.encoding import encode
from training.ml.preference_data import examples_load
from training.ml.reward_eval import evaluation, scores_of
from training.ml.reward_model import (
    RewardSpec,
    default_base_model,
    reward_model_build,
    tokenizer_load,
)

ROOT = Path(__file__).resolve().parents[3]


def _run(*argv) -> dict:
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main([str(a) for a in argv]) == 0
    return json.loads(out.getvalue())


def _metrics(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_short_training_lowers_the_loss_and_beats_chance(preference_file, tmp_path):
    data = tmp_path / "small.jsonl"  # 32 pairs at 128 tokens: a minute's work on two cores
    data.write_text("\n".join(preference_file.read_text().splitlines()[:32]) + "\n")
    torch.manual_seed(0)
    tokenizer = tokenizer_load(default_base_model())
    examples = encode(examples_load([data]), tokenizer, 128)
    untrained = reward_model_build(RewardSpec(default_base_model()), tokenizer)
    before = evaluation(examples, scores_of(untrained, examples, tokenizer.pad_token_id, 32, "cpu"))

    out = tmp_path / "run"
    started = time.perf_counter()
    _run("train", "--data", data, "--out", out, "--epochs", 4, "--lr", 1e-4, "--max-length", 128)
    after = _run("evaluate", "--model", out / "model", "--data", data)
    assert time.perf_counter() - started < 120  # a guard against a runaway, not a benchmark

    assert after["n_pairs"] == before["n_pairs"] == len(examples)
    assert after["loss"] < before["loss"] - 0.05
    assert after["pairwise_accuracy"] > max(0.6, before["pairwise_accuracy"])
    lines = _metrics(out)
    steps = [line for line in lines if "loss" in line and "event" not in line]
    assert steps and all({"step", "loss", "accuracy", "lr", "progress"} <= set(s) for s in steps)
    assert lines[0]["event"] == "start" and lines[-1]["event"] == "finished"
    assert any("eval_pairwise_accuracy" in line for line in lines) is False  # no --eval-data
    model_files = {p.name for p in (out / "model").iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "README.md"} <= model_files


@pytest.mark.parametrize("strategy", ["feature", "layerwise", "lora"])
def test_strategies_train_only_what_they_say(preference_file, tmp_path, strategy):
    out = tmp_path / strategy
    _run(
        "train", "--data", preference_file, "--eval-data", preference_file, "--out", out,
        "--strategy", strategy, "--max-steps", 3, "--top-layers", 1, "--max-length", 64,
    )  # fmt: skip
    start = _metrics(out)[0]
    trained, total = start["trainable_parameters"], start["parameters"]
    hidden = 384
    if strategy == "feature":
        assert trained == hidden + 1  # the head alone
    elif strategy == "layerwise":
        assert hidden + 1 < trained < total / 4  # one of six layers and the head
    else:
        assert hidden + 1 < trained < total / 20  # adapters and the head
    saved = load_file(out / "model" / "model.safetensors")
    base = load_file(Path(default_base_model()) / "model.safetensors")
    key = next(k for k in saved if k.endswith("embeddings.word_embeddings.weight"))
    base_key = next(k for k in base if k.endswith("embeddings.word_embeddings.weight"))
    assert torch.equal(saved[key], base[base_key])  # frozen in all three
    assert any(line.get("eval_n_pairs") for line in _metrics(out))
    report = _run("evaluate", "--model", out / "model", "--data", preference_file)
    assert report["n_pairs"] > 0 and 0 <= report["pairwise_accuracy"] <= 1


def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(preference_file, tmp_path):
    data = tmp_path / "small.jsonl"  # 16 pairs of 64 tokens, 4 pairs a step: 24 quick steps
    data.write_text("\n".join(preference_file.read_text().splitlines()[:16]) + "\n")
    options = ["--data", data, "--epochs", 6, "--batch-size", 8, "--save-every", 2,
               "--max-length", 64]  # fmt: skip
    clean = tmp_path / "clean"
    _run("train", *options, "--out", clean)

    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "training.ml.reward", "train", *map(str, options)]
    process = subprocess.Popen(
        [*command, "--out", str(killed)], cwd=ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list((killed / "checkpoints").glob("step-*")) and time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before its first checkpoint"
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (killed / "model").exists()

    _run("train", *options, "--out", killed, "--resume")
    resumed = [line for line in _metrics(killed) if line.get("event") == "resumed"]
    assert resumed and resumed[0]["step"] >= 2
    a = load_file(clean / "model" / "model.safetensors")
    b = load_file(killed / "model" / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name


def test_help_documents_every_option_and_bad_data_names_the_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "training.ml.reward", "train", "--help"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    for option in ("--data", "--eval-data", "--out", "--base-model", "--epochs", "--batch-size",
                   "--lr", "--max-length", "--seed", "--config", "--strategy", "--resume"):  # fmt: skip
        assert option in done.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n{"prompt": 1}\n')
    failed = subprocess.run(
        [sys.executable, "-m", "training.ml.reward", "train", "--data", str(bad),
         "--out", str(tmp_path / "o")],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert failed.returncode == 2
    assert f"{bad}:2:" in failed.stderr


def test_config_file_sets_options_and_the_command_line_wins(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("epochs: 7\nlr: 1e-3\nhead_lr: 5e-4\nstrategy: feature\nbatch-size: 4\n")
    o = cli.options_of(
        ["train", "--config", str(config), "--data", "x", "--out", "y", "--lr", "2e-5"]
    )
    assert (o.epochs, o.lr, o.strategy, o.batch_size) == (7, 2e-5, "feature", 4)
    assert o.head_lr == 5e-4  # YAML's "5e-4" is text; it is read as the flag's float
    config.write_text("epochz: 7\n")
    with pytest.raises(SystemExit):
        cli.options_of(["train", "--config", str(config), "--data", "x", "--out", "y"])
