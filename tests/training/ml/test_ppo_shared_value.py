"""PPO with ``--value-model shared`` (the critic a head on the policy's last hidden
state) on the tiny setup of ``test_ppo_train``: the reward rises, a resumed run ends as
the uninterrupted one (head and optimizer state included), two DDP processes train it,
and the published policy is a plain causal LM while the head stays in the checkpoints."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.training.ml.policy_fixtures import policy_prompts
from training.ml import ppo
from training.ml.policy import policy_load
from training.ml.ppo_rollout import Sampling, prompt_ids, sample

ROOT = Path(__file__).resolve().parents[3]


def _metrics(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]


def _prompts_file(folder: Path) -> Path:
    path = folder / "prompts.txt"
    path.write_text("\n".join(policy_prompts()) + "\n")
    return path


@pytest.fixture(scope="module")
def shared_run(reward_model, warm_policy, tmp_path_factory) -> Path:
    """The separate-critic learning test's 30 steps, the critic chosen in the YAML config."""
    work = tmp_path_factory.mktemp("shared")
    config = work / "run.yaml"
    config.write_text("value_model: shared\nsave_every: 10\n")
    code = ppo.main(["train", "--policy", str(warm_policy), "--reward-model", str(reward_model),
                     "--prompts", str(_prompts_file(work)), "--out", str(work / "ppo"),
                     "--config", str(config), "--steps", "30", "--batch-size", "16",
                     "--mini-batch-size", "8", "--lr", "3e-4", "--max-new-tokens", "12",
                     "--temperature", "1.0", "--kl-coef", "0.05", "--sample-every", "10"])  # fmt: skip
    assert code == 0
    return work / "ppo"


def test_ppo_with_a_shared_value_head_raises_the_reward(shared_run, warm_policy):
    lines = _metrics(shared_run)
    start = lines[0]
    assert start["event"] == "start" and start["value_model"] == "shared"
    assert start["optimizer"] == "fused AdamW"
    policy, _ = policy_load(str(warm_policy))
    hidden = policy.config.hidden_size
    assert start["trainable_parameters"] == sum(p.numel() for p in policy.parameters()) + hidden + 1
    steps = [x for x in lines if "reward_mean" in x]
    assert [x["step"] for x in steps] == list(range(1, 31))
    last = sum(x["reward_mean"] for x in steps[-5:]) / 5
    assert last > steps[0]["reward_mean"] + 1.5, [x["reward_mean"] for x in steps]
    assert all(x["kl"] < 10 for x in steps), [x["kl"] for x in steps]
    assert steps[-1]["value_loss"] < steps[0]["value_loss"], [x["value_loss"] for x in steps]


def test_the_published_policy_is_a_plain_causal_lm_and_the_head_stays_in_the_checkpoint(
    shared_run,
):
    from transformers import AutoModelForCausalLM

    # given the run's final checkpoint and its published policy
    checkpoint = load_file(shared_run / "checkpoints" / "step-30" / "model.safetensors")
    published = load_file(shared_run / "model" / "model.safetensors")
    # when the policy is loaded as any transformers user would
    model, info = AutoModelForCausalLM.from_pretrained(shared_run / "model",
                                                       output_loading_info=True)  # fmt: skip
    # then it has every weight it expects and nothing else, and they are the trained ones
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert not info["mismatched_keys"]
    assert {k for k in checkpoint if not k.startswith("policy.")} == {"value.weight", "value.bias"}
    assert checkpoint["value.weight"].shape == (1, model.config.hidden_size)
    state = model.state_dict()
    assert published.keys() <= state.keys()
    trained = {
        k.removeprefix("policy."): v for k, v in checkpoint.items() if k.startswith("policy.")
    }
    assert trained.keys() <= state.keys()  # (either of two tied weights is saved)
    for name, tensor in trained.items():
        torch.testing.assert_close(state[name], tensor, atol=0, rtol=0)
    _, tokenizer = policy_load(str(shared_run / "model"))
    reply = sample(model, tokenizer, ["Tell me about cats."],
                   prompt_ids(tokenizer, ["Tell me about cats."], 64, False),
                   Sampling(max_new_tokens=8), "cpu")  # fmt: skip
    assert reply.response.shape[0] == 1 and reply.texts[0] is not None


def test_a_shared_head_run_resumed_from_a_checkpoint_ends_as_the_uninterrupted_one(
    reward_model, warm_policy, tmp_path
):
    # given an uninterrupted run, and a run that stopped after its step-4 checkpoint
    options = ["--policy", str(warm_policy), "--reward-model", str(reward_model),
               "--prompts", str(_prompts_file(tmp_path)), "--steps", "6", "--batch-size", "8",
               "--mini-batch-size", "4", "--lr", "3e-4", "--max-new-tokens", "8",
               "--save-every", "2", "--sample-every", "0", "--kl-target", "1",
               "--value-model", "shared"]  # fmt: skip
    clean, stopped = tmp_path / "clean", tmp_path / "stopped"
    assert ppo.main(["train", *options, "--out", str(clean)]) == 0
    (stopped / "checkpoints").mkdir(parents=True)
    shutil.copytree(clean / "checkpoints" / "step-4", stopped / "checkpoints" / "step-4")
    # when it resumes
    assert ppo.main(["train", *options, "--out", str(stopped), "--resume"]) == 0
    # then it ends with the same policy, head and optimizer state
    assert [x["step"] for x in _metrics(stopped) if "reward_mean" in x] == [5, 6]
    for name in ("checkpoints/step-6/model.safetensors", "model/model.safetensors"):
        a, b = load_file(clean / name), load_file(stopped / name)
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=0)
    start = load_file(clean / "checkpoints" / "step-4" / "model.safetensors")
    end = load_file(clean / "checkpoints" / "step-6" / "model.safetensors")
    assert not torch.equal(start["value.weight"], end["value.weight"])  # the head trains
    a = torch.load(clean / "checkpoints" / "step-6" / "optimizer.pt")["optimizer"]
    b = torch.load(stopped / "checkpoints" / "step-6" / "optimizer.pt")["optimizer"]
    assert a["state"].keys() == b["state"].keys() and a["param_groups"][0]["fused"]
    for n, state in a["state"].items():
        for key in ("step", "exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(state[key], b["state"][n][key], atol=1e-6, rtol=0)


def test_two_processes_under_accelerate_launch_train_a_shared_head(reward_model, warm_policy,
                                                                   tmp_path):  # fmt: skip
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
         str(ROOT / "training" / "accelerate" / "multi_gpu.yaml"), "--num_processes", "2",
         "-m", "training.ml.ppo", "train", "--policy", str(warm_policy), "--reward-model",
         str(reward_model), "--prompts", str(_prompts_file(tmp_path)), "--out", str(out),
         "--steps", "2", "--batch-size", "8", "--mini-batch-size", "4", "--max-new-tokens", "8",
         "--lr", "3e-4", "--save-every", "0", "--sample-every", "0", "--value-model", "shared"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = _metrics(out)
    assert lines[0]["processes"] == 2 and lines[0]["value_model"] == "shared"
    assert [x["step"] for x in lines if "reward_mean" in x] == [1, 2]
    checkpoint = load_file(out / "checkpoints" / "step-2" / "model.safetensors")
    assert checkpoint["value.weight"].abs().sum() > 0
    trained, _ = policy_load(str(out / "model"))
    start, _ = policy_load(str(warm_policy))
    assert any(not torch.equal(a, b) for a, b in zip(trained.parameters(), start.parameters(),
                                                     strict=True))  # fmt: skip


def test_the_value_model_option_is_checked_from_the_command_line_and_the_config(tmp_path, capsys):
    base = ["train", "--reward-model", "rm", "--prompts", "p.txt", "--out", str(tmp_path / "o")]
    assert ppo.options_of(base).value_model == "separate"
    assert ppo.options_of([*base, "--value-model", "shared"]).value_model == "shared"
    with pytest.raises(SystemExit):
        ppo.options_of([*base, "--value-model", "both"])
    config = tmp_path / "run.yaml"
    config.write_text("value_model: both\n")
    assert ppo.main([*base, "--config", str(config)]) == 2
    assert "value_model: one of separate, shared" in capsys.readouterr().err


def test_a_ppo_run_launched_from_the_web_takes_the_value_model(tmp_path):
    from training.runs.services.options import hyperparameters_check, run_defaults, trainer_options

    # given
    assert run_defaults("ppo")["value_model"] == "separate"
    # when
    checked = hyperparameters_check("ppo", {"value_model": "shared"})
    # then the trainer reads it from the config file the launcher writes
    config = tmp_path / "run.json"
    config.write_text(json.dumps(trainer_options(checked)))
    o = ppo.options_of(["train", "--config", str(config), "--reward-model", "rm",
                        "--prompts", "p.txt", "--out", str(tmp_path / "o")])  # fmt: skip
    assert o.value_model == "shared"
    with pytest.raises(ValueError, match="value_model: one of separate, shared"):
        hyperparameters_check("ppo", {"value_model": "both"})
