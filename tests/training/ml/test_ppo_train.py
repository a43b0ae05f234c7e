"""PPO end to end on the CPU with a tiny GPT-2 policy (its tokenizer trained on the
prompts, warmed up on them as a language model) against a MiniLM reward model trained
here to prefer replies that say "good": a different tokenizer from the policy's, so the
responses go through text. Mean reward rises while KL stays bounded."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from tests.training.ml.policy_fixtures import GOOD, policy_prompts
from training.ml import ppo
from training.ml.policy import policy_load
from training.ml.ppo_rollout import Sampling, prompt_ids, sample
from training.ml.reward_score import RewardScorer

_prompts = policy_prompts


def _metrics(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]


def test_a_reward_model_with_another_tokenizer_scores_the_policys_text(reward_model, warm_policy):
    policy, tokenizer = policy_load(str(warm_policy))
    scorer = RewardScorer(reward_model, "cpu")
    assert type(scorer.tokenizer).__name__ != type(tokenizer).__name__
    prompts = _prompts()[:4]
    roll = sample(policy, tokenizer, prompts, prompt_ids(tokenizer, prompts, 64, False),
                  Sampling(max_new_tokens=12), "cpu")  # fmt: skip
    assert len(roll.texts) == 4 and roll.response.shape[0] == 4
    scored = scorer.score_pairs(list(zip(prompts, roll.texts, strict=True)))
    one_by_one = [scorer.score(p, [t])[0] for p, t in zip(prompts, roll.texts, strict=True)]
    assert scored == pytest.approx(one_by_one, abs=1e-5)
    good, plain = scorer.score_pairs([(prompts[0], f"cats {GOOD}"), (prompts[0], "cats")])
    assert good > plain  # the reward model learned its preference


def test_ppo_raises_the_reward_while_kl_stays_bounded(reward_model, warm_policy, tmp_path):
    out = tmp_path / "ppo"
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in _prompts()))
    code = ppo.main(["train", "--policy", str(warm_policy), "--reward-model", str(reward_model),
                     "--prompts", str(prompts), "--out", str(out), "--steps", "30",
                     "--batch-size", "16", "--mini-batch-size", "8", "--lr", "3e-4",
                     "--max-new-tokens", "12", "--temperature", "1.0", "--kl-coef", "0.05",
                     "--sample-every", "10", "--save-every", "10"])  # fmt: skip
    assert code == 0
    lines = _metrics(out)
    steps = [x for x in lines if "reward_mean" in x]
    assert [x["step"] for x in steps] == list(range(1, 31))
    last = sum(x["reward_mean"] for x in steps[-5:]) / 5
    assert last > steps[0]["reward_mean"] + 1.5, [x["reward_mean"] for x in steps]
    assert all(x["kl"] < 10 for x in steps), [x["kl"] for x in steps]  # nats per response
    for name in ("reward_minus_kl", "entropy", "policy_clipfrac", "value_clipfrac", "approx_kl",
                 "value_loss", "response_length", "eos_rate", "generate_s", "train_s"):  # fmt: skip
        assert name in steps[-1], name
    samples = [x for x in lines if x.get("event") == "samples"]
    assert samples and samples[-1]["samples"][0]["response"] is not None
    policy, tokenizer = policy_load(str(out / "model"))
    reply = sample(policy, tokenizer, ["Tell me about cats."],
                   prompt_ids(tokenizer, ["Tell me about cats."], 64, False),
                   Sampling(max_new_tokens=8), "cpu")  # fmt: skip
    assert reply.response.shape == (1, reply.response.shape[1]) and reply.texts[0] is not None


def test_a_run_resumed_from_a_checkpoint_ends_with_the_uninterrupted_weights(
    reward_model, warm_policy, tmp_path
):
    """A run stopped after its step-4 checkpoint (its folder holds just that) and
    resumed ends where the uninterrupted run ends: weights, optimizer, KL coefficient,
    score moments, prompt order and the sampling RNG all come back."""
    from safetensors.torch import load_file

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(_prompts()) + "\n")
    options = ["--policy", str(warm_policy), "--reward-model", str(reward_model),
               "--prompts", str(prompts), "--steps", "6", "--batch-size", "8",
               "--mini-batch-size", "4", "--lr", "3e-4", "--max-new-tokens", "8",
               "--save-every", "2", "--sample-every", "0", "--kl-target", "1"]  # fmt: skip
    clean = tmp_path / "clean"
    assert ppo.main(["train", *options, "--out", str(clean)]) == 0
    stopped = tmp_path / "stopped"
    (stopped / "checkpoints").mkdir(parents=True)
    shutil.copytree(clean / "checkpoints" / "step-4", stopped / "checkpoints" / "step-4")
    assert ppo.main(["train", *options, "--out", str(stopped), "--resume"]) == 0
    resumed = [x for x in _metrics(stopped) if x.get("event") == "resumed"]
    assert resumed and resumed[0]["step"] == 4
    assert [x["step"] for x in _metrics(stopped) if "reward_mean" in x] == [5, 6]
    a = load_file(clean / "model" / "model.safetensors")
    b = load_file(stopped / "model" / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-6, rtol=0)


def test_help_documents_the_options_and_bad_prompts_name_the_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        ppo.main(["train", "--help"])
    shown = capsys.readouterr().out
    for flag in ("--policy", "--reward-model", "--prompts", "--kl-target", "--missing-eos-penalty",
                 "--lora-r", "--resume"):  # fmt: skip
        assert flag in shown
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "fine"}\n{"question": "no prompt"}\n')
    code = ppo.main(["train", "--reward-model", "x", "--prompts", str(bad), "--out",
                     str(tmp_path / "o")])  # fmt: skip
    assert code == 2 and f"{bad}:2: prompt: missing" in capsys.readouterr().err


def test_prompts_come_from_sft_conversations_too(tmp_path):
    from training.ml.prompt_data import prompts_load

    rows = [
        {
            "messages": [
                {"role": "user", "content": "Hi?"},
                {"role": "assistant", "content": "Hello"},
            ]
        },
        {"messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hey"}]},
        {"prompt": "Plain text?", "chosen": "a", "rejected": "b"},
    ]
    path = tmp_path / "sft.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert prompts_load([path]) == [[{"role": "user", "content": "Hi?"}], "Plain text?"]


def test_two_processes_under_accelerate_launch_share_each_batch(reward_model, warm_policy,
                                                                 tmp_path):  # fmt: skip
    """``accelerate launch`` with the shipped DDP config (gloo on the CPU, NCCL on GPUs):
    each process samples and trains half of every batch, DDP averages the gradients, the
    main process alone writes the stream, checkpoints and the policy."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(_prompts()) + "\n")
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
         str(root / "training" / "accelerate" / "multi_gpu.yaml"), "--num_processes", "2",
         "-m", "training.ml.ppo", "train", "--policy", str(warm_policy), "--reward-model",
         str(reward_model), "--prompts", str(prompts), "--out", str(out), "--steps", "4",
         "--batch-size", "8", "--mini-batch-size", "4", "--max-new-tokens", "8", "--lr", "3e-4",
         "--save-every", "2", "--sample-every", "2"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    printed = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(printed) == 1  # the main process reports; the other only trains
    lines = _metrics(out)
    assert lines[0]["event"] == "start" and lines[0]["processes"] == 2
    steps = [x for x in lines if "reward_mean" in x]
    assert [x["step"] for x in steps] == [1, 2, 3, 4]  # once each, not once per process
    assert all(x["kl"] is not None and x["samples_per_s"] > 0 for x in steps)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-2", "step-4"]
    assert json.loads((out / "summary.json").read_text())["processes"] == 2
    trained, _ = policy_load(str(out / "model"))
    start, _ = policy_load(str(warm_policy))
    moved = [not torch.equal(a, b) for a, b in zip(trained.parameters(), start.parameters(),
                                                   strict=True)]  # fmt: skip
    assert any(moved)
