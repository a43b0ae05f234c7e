"""Seeded tiny trainings whose metrics stream must not change: reward models (the full
backbone with a K-wise loss over two epochs with held-out evaluation; a frozen backbone's
features with Plackett–Luce over ties, stopped mid-epoch) and PPO (a separate value
model with an adaptive KL coefficient; a shared value head with k3 KL and raw scores).

The expected figures are in ``pinned_metrics.json`` beside this file, recorded from the
trainers before their loops were rewritten: a rewrite that changes what is computed, in
what order, or what is logged fails here. Timings are left out (they are measured, not
computed). To record them again after a change *meant* to move them, run this file with
``PREFLAB_PIN_RECORD=1`` and say why in the commit.

Every training here runs in a child process on portable numeric paths
(``PORTABLE_NUMERICS``): float sums follow the CPU (AVX-512 or AVX2 kernels, MKL's code
path for the CPU, the thread count each add in their own order), enough to move a mean
near zero in its third digit from one machine to the next. With ATen's vectorized kernels
off, MKL on its compatible path, oneDNN capped at SSE4.1 and one thread, the figures are
the same on every x86-64 machine. Checked when the pins were recorded again: the trainers
of da38f66 (before their loops were rewritten) give byte-identical figures under it."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.training.ml.policy_fixtures import GOOD, SUBJECTS, policy_prompts

PINNED = Path(__file__).with_name("pinned_metrics.json")
ROOT = Path(__file__).resolve().parents[3]
PORTABLE_NUMERICS = {
    "ATEN_CPU_CAPABILITY": "default",
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
RECORD = os.environ.get("PREFLAB_PIN_RECORD") == "1"
# Measured, not computed: they differ from one run to the next.
TIMINGS = {"time", "seqs_per_s", "eta_s", "generate_s", "score_s", "train_s", "samples_per_s"}


def _placeless(value):
    """``value`` with each absolute path cut to its last name (runs happen in temporary
    folders, the base model in the checkout's own virtualenv)."""
    if isinstance(value, dict):
        return {k: _placeless(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeless(v) for v in value]
    if isinstance(value, str) and value.startswith("/"):
        return Path(value).name
    return value


def _stream(out: Path) -> list[dict]:
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return [_placeless({k: v for k, v in x.items() if k not in TIMINGS}) for x in lines]


def _summary(out: Path) -> dict:
    return _placeless(json.loads((out / "summary.json").read_text()))


def _in_child(code: str, *args: str) -> None:
    """Run ``code`` in a fresh Python on the portable numeric paths (they are read when
    torch loads, so they cannot be set in this process)."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, **PORTABLE_NUMERICS},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


def _train(trainer: str, args: list[str]) -> None:
    """``training.ml.<trainer>``'s command line, in a child process."""
    _in_child(
        f"import sys; from training.ml import {trainer} as cli; sys.exit(cli.main(sys.argv[1:]))",
        *args,
    )


@pytest.fixture(scope="module")
def warm_policy(tmp_path_factory) -> Path:
    """The policy fixtures' warm policy, warmed up on the portable numeric paths too."""
    folder = tmp_path_factory.mktemp("policy") / "warm"
    _in_child(
        "import sys; from pathlib import Path; "
        "from tests.training.ml.policy_fixtures import warm_policy_save; "
        "warm_policy_save(Path(sys.argv[1]))",
        str(folder),
    )
    return folder


def _same(observed, recorded, where: str = "") -> None:
    """Compare nested JSON values, floats approximately, naming the first difference."""
    if isinstance(recorded, dict):
        assert isinstance(observed, dict) and observed.keys() == recorded.keys(), where
        for key in recorded:
            _same(observed[key], recorded[key], f"{where}.{key}")
    elif isinstance(recorded, list):
        assert isinstance(observed, list) and len(observed) == len(recorded), where
        for n, (a, b) in enumerate(zip(observed, recorded, strict=True)):
            _same(a, b, f"{where}[{n}]")
    elif isinstance(recorded, float) and not isinstance(observed, bool):
        assert observed == pytest.approx(recorded, rel=1e-5, abs=1e-7), where
    else:
        assert observed == recorded, where


def _check(name: str, observed: dict) -> None:
    """``observed`` equals the figures recorded under ``name`` (floats to 1e-5 relative)."""
    recorded = json.loads(PINNED.read_text()) if PINNED.exists() else {}
    if RECORD:
        recorded[name] = observed
        PINNED.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        return
    assert name in recorded, f"{name}: nothing recorded (run with PREFLAB_PIN_RECORD=1)"
    _same(observed, recorded[name], name)


def _good_pairs(path: Path, seed: int, times: int) -> Path:
    """Replies saying "good" beat the others (the policy fixtures' preference)."""
    rng = random.Random(seed)
    rows = []
    for prompt in policy_prompts() * times:
        other = " ".join(rng.sample(SUBJECTS, 3))
        rows.append({"prompt": prompt, "chosen": f"{other} {GOOD}", "rejected": other})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _ranked_lists(path: Path) -> Path:
    """Listwise rows of four responses with a tie in the middle tier."""
    rng = random.Random(3)
    rows = []
    for prompt in policy_prompts():
        a, b, c = (" ".join(rng.sample(SUBJECTS, 2)) for _ in range(3))
        responses = [f"{a} {GOOD}", b, f"{c} good", "no"]
        rows.append({"prompt": prompt, "responses": responses, "ranking": [[0], [1, 2], [3]]})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def reward_run(tmp_path_factory) -> Path:
    """The full MiniLM, K-wise loss, two epochs, a held-out file evaluated per epoch,
    metrics every 2 steps (windows of two batches), a checkpoint every 4 steps."""
    work = tmp_path_factory.mktemp("pinned-rm")
    train, held = _good_pairs(work / "train.jsonl", 0, 2), _good_pairs(work / "eval.jsonl", 1, 1)
    out = work / "out"
    _train("reward", ["train", "--data", str(train), "--eval-data", str(held),
                            "--out", str(out), "--epochs", "2", "--batch-size", "16",
                            "--max-length", "32", "--lr", "1e-4", "--log-every", "2",
                            "--save-every", "4", "--warmup", "0.2"])  # fmt: skip
    return out


def test_a_full_reward_run_logs_the_recorded_metrics(reward_run):
    _check(
        "reward_full_kwise",
        {
            "stream": _stream(reward_run),
            "summary": _summary(reward_run),
            "checkpoints": sorted(p.name for p in (reward_run / "checkpoints").iterdir()),
        },
    )


def test_a_feature_reward_run_stopped_mid_epoch_logs_the_recorded_metrics(tmp_path):
    data = _ranked_lists(tmp_path / "lists.jsonl")
    out = tmp_path / "out"
    _train("reward", ["train", "--data", str(data), "--eval-data", str(data),
                            "--out", str(out), "--strategy", "feature", "--loss",
                            "plackett_luce", "--epochs", "3", "--batch-size", "12",
                            "--max-length", "32", "--lr", "1e-3", "--head-lr", "3e-3",
                            "--log-every", "3", "--max-steps", "7", "--save-every", "0",
                            "--seed", "5"])  # fmt: skip
    _check(
        "reward_feature_plackett_luce",
        {
            "stream": _stream(out),
            "summary": _summary(out),
            "checkpoints": sorted(p.name for p in (out / "checkpoints").iterdir()),
        },
    )


def _prompts(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in policy_prompts()))
    return path


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("ppo_separate_adaptive_kl", ["--steps", "4", "--kl-target", "2", "--sample-every", "2",
                                      "--save-every", "2"]),
        ("ppo_shared_k3_raw", ["--steps", "3", "--value-model", "shared", "--kl-estimator", "k3",
                               "--reward-norm", "none", "--ppo-epochs", "2", "--log-every", "2",
                               "--sample-every", "0", "--save-every", "0"]),
    ],
)  # fmt: skip
def test_a_ppo_run_logs_the_recorded_metrics(reward_run, warm_policy, tmp_path, name, options):
    out = tmp_path / "out"
    _train("ppo", ["train", "--policy", str(warm_policy), "--reward-model",
                     str(reward_run / "model"), "--prompts", str(_prompts(tmp_path)),
                     "--out", str(out), "--batch-size", "8", "--mini-batch-size", "4",
                     "--lr", "3e-4", "--max-new-tokens", "8", "--temperature", "1.0",
                     "--samples-shown", "2", *options])  # fmt: skip
    _check(
        name,
        {
            "stream": _stream(out),
            "summary": _summary(out),
            "checkpoints": sorted(p.name for p in (out / "checkpoints").iterdir()),
        },
    )
