"""GRPO and RLOO through TRL's trainers on the CPU: a tiny GPT-2 policy warmed up on
text that sometimes says "good", against a MiniLM reward model (another tokenizer) that
prefers replies saying it. The mean reward rises, the reference is the starting policy,
the saved policy loads and generates, a resumed run ends with the uninterrupted run's
weights, and bad prompts name their line."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.training.ml.policy_fixtures import policy_prompts
from training.ml import grpo
from training.ml.policy import policy_load
from training.ml.ppo_rollout import Sampling, prompt_ids, sample


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from more threads, and on a shared CPU OpenMP's spinning
    workers made these runs ten times slower (3.5 minutes against 20 seconds)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _metrics(out) -> list[dict]:
    return [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]


def _prompts_file(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in policy_prompts()))
    return path


def _rise(steps: list[dict]) -> tuple[float, float]:
    """(mean reward of the first 3 steps, of the last 5)."""
    rewards = [x["reward_mean"] for x in steps]
    return sum(rewards[:3]) / 3, sum(rewards[-5:]) / 5


def test_grpo_raises_the_reward_and_the_saved_policy_generates(
    reward_model,
    warm_policy,
    tmp_path,
):
    # given
    out = tmp_path / "grpo"
    options = ["--policy", str(warm_policy), "--reward-model", str(reward_model),
               "--prompts", str(_prompts_file(tmp_path)), "--out", str(out),
               "--max-steps", "24", "--batch-size", "16", "--num-generations", "4",
               "--lr", "1e-3", "--warmup", "0", "--max-new-tokens", "12", "--beta", "0.04",
               "--sample-every", "10"]  # fmt: skip
    # when
    code = grpo.main(["train", *options])
    # then
    assert code == 0
    lines = _metrics(out)
    steps = [x for x in lines if "reward_mean" in x]
    assert [x["step"] for x in steps] == list(range(1, 25))
    # 16 responses a step scoring about -2.5 without "good" and +3.5 with it: a rise of
    # 1.5 is the share saying it going up by a quarter over 80 responses, far past noise.
    first, last = _rise(steps)
    assert last > first + 1.5 and last > 2.0, [x["reward_mean"] for x in steps]
    assert steps[0]["kl"] == pytest.approx(0.0, abs=1e-6)  # the reference is the start
    assert steps[-1]["kl"] > 0
    for name in ("loss", "lr", "reward_std", "entropy", "policy_clipfrac", "response_length",
                 "truncated_rate", "progress", "eta_s"):  # fmt: skip
        assert name in steps[-1], name
    samples = [x for x in lines if x.get("event") == "samples"]
    assert [x["step"] for x in samples] == [1, 10, 20]
    assert {"prompt", "response", "score"} <= samples[-1]["samples"][0].keys()
    assert lines[0]["event"] == "start" and lines[-1]["event"] == "finished"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 24 and summary["estimator"] == "grpo"
    assert summary["last_step"]["reward_mean"] == steps[-1]["reward_mean"]

    policy, tokenizer = policy_load(str(out / "model"))
    prompt = ["Tell me about cats."]
    reply = sample(policy, tokenizer, prompt, prompt_ids(tokenizer, prompt, 64, False),
                   Sampling(max_new_tokens=8), "cpu")  # fmt: skip
    assert reply.response.shape[0] == 1 and reply.texts[0] is not None


def test_rloo_trains_too(reward_model, warm_policy, tmp_path):
    # given
    out = tmp_path / "rloo"
    options = ["--policy", str(warm_policy), "--reward-model", str(reward_model),
               "--prompts", str(_prompts_file(tmp_path)), "--out", str(out),
               "--estimator", "rloo", "--max-steps", "16", "--batch-size", "16",
               "--num-generations", "4", "--lr", "1e-3", "--warmup", "0",
               "--max-new-tokens", "12", "--sample-every", "0"]  # fmt: skip
    # when
    code = grpo.main(["train", *options])
    # then
    assert code == 0
    steps = [x for x in _metrics(out) if "reward_mean" in x]
    first, last = _rise(steps)
    assert last > first + 1.5, [x["reward_mean"] for x in steps]
    assert json.loads((out / "summary.json").read_text())["estimator"] == "rloo"


def test_a_tiny_lora_policy_starts_from_its_own_folder_and_reads_conversations(
    reward_model,
    tmp_path,
):
    """A tiny policy (built here, no chat template) is written to OUT/start, which TRL
    needs to load anything by name; with LoRA the reference is the adapter-free base.
    Conversations reach it as HH-style text."""
    # given
    rows = [{"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": "ok"}]}
            for p in policy_prompts()]  # fmt: skip
    prompts = tmp_path / "sft.jsonl"
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    # when
    code = grpo.main(["train", "--reward-model", str(reward_model), "--prompts", str(prompts),
                      "--out", str(out), "--max-steps", "2", "--batch-size", "4",
                      "--num-generations", "2", "--max-new-tokens", "6", "--lora-r", "4",
                      "--sample-every", "1"])  # fmt: skip
    # then
    assert code == 0
    assert (out / "start" / "model.safetensors").exists()
    assert (out / "model" / "model.safetensors").exists()  # LoRA merged in
    shown = [x for x in _metrics(out) if x.get("event") == "samples"][0]["samples"]
    assert shown[0]["prompt"].startswith("\n\nHuman: ")
    assert json.loads((out / "summary.json").read_text())["chat_template"] is False


def test_a_run_resumed_from_a_checkpoint_ends_with_the_uninterrupted_weights(
    reward_model,
    warm_policy,
    tmp_path,
):
    """Stopped after checkpoint-4 and resumed: the Trainer brings back weights, optimizer,
    schedule, prompt order and the sampling RNG, so the run ends where a clean one does."""
    # given
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(policy_prompts()) + "\n")
    options = ["--policy", str(warm_policy), "--reward-model", str(reward_model),
               "--prompts", str(prompts), "--max-steps", "6", "--batch-size", "8",
               "--num-generations", "4", "--lr", "1e-3", "--max-new-tokens", "8",
               "--save-every", "2", "--sample-every", "0"]  # fmt: skip
    clean = tmp_path / "clean"
    assert grpo.main(["train", *options, "--out", str(clean)]) == 0
    stopped = tmp_path / "stopped"
    shutil.copytree(clean / "checkpoints" / "checkpoint-4",
                    stopped / "checkpoints" / "checkpoint-4")  # fmt: skip
    # when
    assert grpo.main(["train", *options, "--out", str(stopped), "--resume"]) == 0
    # then
    lines = _metrics(stopped)
    assert [x["checkpoint"] for x in lines if x.get("event") == "resumed"] == ["checkpoint-4"]
    assert [x["step"] for x in lines if "reward_mean" in x] == [5, 6]
    clean_rewards = [x["reward_mean"] for x in _metrics(clean) if "reward_mean" in x]
    assert [x["reward_mean"] for x in lines if "reward_mean" in x] == clean_rewards[4:]
    a = load_file(clean / "model" / "model.safetensors")
    b = load_file(stopped / "model" / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-6, rtol=0)


def test_help_lists_the_options_and_bad_input_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        grpo.main(["train", "--help"])
    shown = capsys.readouterr().out
    for flag in ("--policy", "--reward-model", "--prompts", "--estimator", "--num-generations",
                 "--max-new-tokens", "--temperature", "--beta", "--sample-every", "--lora-r",
                 "--config", "--resume"):  # fmt: skip
        assert flag in shown, flag

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "fine"}\n{"question": "no prompt"}\n')
    code = grpo.main(["train", "--reward-model", "x", "--prompts", str(bad),
                      "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 2 and f"{bad}:2: prompt: missing" in capsys.readouterr().err

    code = grpo.main(["train", "--reward-model", "x", "--prompts", str(_prompts_file(tmp_path)),
                      "--out", str(tmp_path / "o"), "--batch-size", "6",
                      "--num-generations", "4"])  # fmt: skip
    assert code == 2 and "multiple of --num-generations" in capsys.readouterr().err


def test_the_web_tier_reads_the_defaults_without_the_ml_stack():
    import subprocess
    import sys

    code = ("import sys; from training.ml.grpo import DEFAULTS, METRIC_NAMES; "
            "assert 'torch' not in sys.modules and 'trl' not in sys.modules; "
            "assert METRIC_NAMES['reward'] == 'reward_mean' and DEFAULTS['estimator'] == 'grpo'")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3])
