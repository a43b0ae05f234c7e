"""SFT through TRL's SFTTrainer on a snapshot-style ``sft`` file: the loss falls, the
held-out perplexity is reported, the saved policy loads and generates, bad rows name
their line."""

import json
import subprocess
import sys
from pathlib import Path

from training.ml import sft
from training.ml.policy import policy_load
from training.ml.ppo_rollout import Sampling, prompt_ids, sample

ROOT = Path(__file__).resolve().parents[3]
TOPICS = ["cats", "tea", "rain", "maps", "snow", "bread", "music", "trains"]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _demonstrations():
    return [
        {"messages": [{"role": "user", "content": f"Say something about {t}."},
                      {"role": "assistant", "content": f"Here is a fact about {t}."}],
         "source": "best"}
        for t in TOPICS
    ] * 4  # fmt: skip


def test_sft_lowers_the_loss_and_the_saved_policy_generates(tmp_path):
    data = _write(tmp_path / "sft.jsonl", _demonstrations())
    held = _write(tmp_path / "held.jsonl", _demonstrations()[:8])
    out = tmp_path / "run"
    code = sft.main(["train", "--policy", "tiny", "--data", str(data), "--eval-data", str(held),
                     "--out", str(out), "--epochs", "8", "--batch-size", "8", "--lr", "3e-3",
                     "--log-every", "2", "--max-length", "64"])  # fmt: skip
    assert code == 0
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [x["loss"] for x in lines if "loss" in x and "event" not in x]
    assert len(losses) >= 5 and losses[-1] < losses[0] / 2, losses
    perplexities = [x["eval_perplexity"] for x in lines if "eval_perplexity" in x]
    assert len(perplexities) >= 8 and perplexities[-1] < perplexities[0]
    assert lines[0]["event"] == "start" and lines[-1]["event"] == "finished"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["eval"]["perplexity"] > 1 and summary["examples"] == 32

    policy, tokenizer = policy_load(str(out / "model"))
    prompt = [{"role": "user", "content": "Say something about tea."}]
    ids = prompt_ids(tokenizer, [prompt], 64, chat=False)
    roll = sample(policy, tokenizer, [prompt], ids, Sampling(max_new_tokens=10, temperature=0.3),
                  "cpu")  # fmt: skip
    assert "fact" in roll.texts[0] or "Here" in roll.texts[0], roll.texts  # it learned the form


def test_bad_demonstrations_name_the_line(tmp_path, capsys):
    bad = _write(tmp_path / "bad.jsonl", [_demonstrations()[0], {"messages": [
        {"role": "user", "content": "no answer"}]}])  # fmt: skip
    code = sft.main(["train", "--data", str(bad), "--out", str(tmp_path / "o")])
    assert code == 2
    assert f"{bad}:2: messages: must end with an assistant turn" in capsys.readouterr().err


def test_a_resumed_run_skips_a_checkpoint_cut_off_mid_save_and_ends_where_a_clean_one_does(
    tmp_path,
):
    """Stopped after checkpoint-4 while writing checkpoint-8 (no trainer_state.json
    yet): the resume starts from checkpoint-4, drops the partial folder, and ends with the
    uninterrupted run's weights."""
    import shutil

    import torch
    from safetensors.torch import load_file

    data = _write(tmp_path / "sft.jsonl", _demonstrations())
    options = ["--data", str(data), "--max-steps", "8", "--batch-size", "8", "--lr", "3e-3",
               "--save-every", "4", "--max-length", "64"]  # fmt: skip
    clean = tmp_path / "clean"
    assert sft.main(["train", *options, "--out", str(clean)]) == 0
    stopped = tmp_path / "stopped"
    shutil.copytree(clean / "checkpoints" / "checkpoint-4",
                    stopped / "checkpoints" / "checkpoint-4")  # fmt: skip
    partial = stopped / "checkpoints" / "checkpoint-8"
    shutil.copytree(clean / "checkpoints" / "checkpoint-8", partial)
    (partial / "trainer_state.json").unlink()
    assert sft.main(["train", *options, "--out", str(stopped), "--resume"]) == 0
    lines = [json.loads(x) for x in (stopped / "metrics.jsonl").read_text().splitlines()]
    assert [x["checkpoint"] for x in lines if x.get("event") == "resumed"] == ["checkpoint-4"]
    a = load_file(clean / "model" / "model.safetensors")
    b = load_file(stopped / "model" / "model.safetensors")
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=0)


def test_two_processes_train_under_the_shipped_ddp_config(tmp_path):
    """``gpus: 2`` with the shipped DDP config, over gloo on the CPU: each step is logged
    once, by the main process, which alone saves the policy; it loads and generates.
    (The ZeRO-3 and FSDP configs need GPUs: transformers' Trainer runs a CPU launch as
    plain data parallel whatever the config says.)"""
    data = _write(tmp_path / "sft.jsonl", _demonstrations())
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
         str(ROOT / "training" / "accelerate" / "multi_gpu.yaml"), "--num_processes", "2",
         "-m", "training.ml.sft", "train", "--policy", "tiny", "--data", str(data),
         "--eval-data", str(data), "--out", str(out), "--epochs", "2", "--batch-size", "4",
         "--lr", "3e-3", "--log-every", "1", "--max-length", "64"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    # One JSON report (the Trainer's own log lines are Python dicts: {'loss': ...}).
    assert len([x for x in done.stdout.splitlines() if x.startswith('{"')]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["processes"] == 2
    assert summary["distributed"] == "MULTI_CPU"  # (MULTI_GPU on GPUs)
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [x["step"] for x in lines if "loss" in x and "event" not in x]
    # 32 rows, 4 per process and step, 2 processes, 2 epochs: 8 steps, each logged once.
    assert steps == list(range(1, 9))
    policy, tokenizer = policy_load(str(out / "model"))
    prompt = [{"role": "user", "content": "Say something about tea."}]
    roll = sample(policy, tokenizer, [prompt], prompt_ids(tokenizer, [prompt], 64, chat=False),
                  Sampling(max_new_tokens=6), "cpu")  # fmt: skip
    assert roll.response.shape[0] == 1


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has stopped; nobody may reap it here


def _ranks_of(out: Path, agent: int) -> list[int]:
    ranks = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == agent:
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if "training.ml.sft" in command and str(out) in command:
            ranks.append(int(entry.name))
    return ranks


def test_the_ranks_die_with_a_killed_launch(tmp_path):
    """torch elastic starts each rank in a session of its own: the platform's SIGKILL of
    the launch's group reaches the agent only. Each rank asks the kernel to follow it."""
    import os
    import signal
    import time

    data = _write(tmp_path / "sft.jsonl", _demonstrations())
    out = tmp_path / "run"
    agent = subprocess.Popen(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
         str(ROOT / "training" / "accelerate" / "multi_gpu.yaml"), "--num_processes", "2",
         "-m", "training.ml.sft", "train", "--policy", "tiny", "--data", str(data),
         "--out", str(out), "--epochs", "500", "--batch-size", "4", "--log-every", "1",
         "--max-length", "64"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while not (out / "metrics.jsonl").exists() or len(_ranks_of(out, agent.pid)) < 2:
            assert agent.poll() is None and time.monotonic() < deadline
            time.sleep(0.5)
        ranks = _ranks_of(out, agent.pid)
        os.killpg(agent.pid, signal.SIGKILL)  # what the launcher's group kill reaches
        agent.wait()
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in ranks) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in ranks), "ranks outlived their agent"
    finally:
        for pid in _ranks_of(out, -1):
            os.kill(pid, signal.SIGKILL)
