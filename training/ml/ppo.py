"""Fine-tune a policy with PPO against a reward model (RLHF as in InstructGPT).

    python -m training.ml.ppo train --policy PATH|tiny --reward-model DIR --prompts FILE
        --out DIR [--steps N] [--batch-size B] [--lr X] [--kl-coef B] [--config run.yaml]
        [--resume]

Each step samples a response to each of B prompts, scores it with the reward model
(which may use another tokenizer: responses are decoded and re-encoded), pays a per-token
KL penalty against the frozen reference (a copy of the starting policy, or the policy
with its LoRA adapter disabled), estimates advantages with GAE, whitens them, and runs
several epochs of clipped PPO updates of the policy and its value model in minibatches
(``--value-model``: a copy of the policy's body with a scalar head, or ``shared``, a head
on the policy's own last hidden state). Responses that never reach EOS lose
``--missing-eos-penalty``; scores are normalised by their running mean and deviation;
the KL coefficient is fixed or adaptive (``--kl-target``). ``--policy tiny`` builds a
2-layer GPT-2 with a tokenizer trained on the prompts, so the whole loop runs on a CPU.

Writes DIR/metrics.jsonl (per step: reward_mean, reward_minus_kl, kl, entropy, clip
fractions, approx_kl, value_loss, response_length, eos_rate, generation and training
seconds; every ``--sample-every`` steps an event with sample prompts and responses),
checkpoints under DIR/checkpoints/ (policy, value model or head, optimizer), and the
final policy alone, a plain causal LM, in DIR/model/.
"""

import argparse
import sys
from pathlib import Path

DEFAULTS = {
    "policy": "tiny",
    "reward_model": None,
    "steps": 100,
    "batch_size": 16,
    "mini_batch_size": 8,
    "ppo_epochs": 4,
    "lr": 1e-5,
    "max_new_tokens": 48,
    "temperature": 0.7,
    "top_k": 0,
    "top_p": 1.0,
    "max_prompt_length": 256,
    "chat_template": "auto",
    "kl_coef": 0.05,
    "kl_target": 0.0,
    "kl_horizon": 10000,
    "kl_estimator": "k1",
    "gamma": 1.0,
    "lam": 0.95,
    "cliprange": 0.2,
    "cliprange_value": 0.2,
    "vf_coef": 0.1,
    "missing_eos_penalty": 1.0,
    "reward_norm": "running",
    "max_grad_norm": 1.0,
    "lora_r": 0,
    "lora_alpha": 32,
    "value_model": "separate",
    "seed": 0,
    "log_every": 1,
    "save_every": 50,
    "sample_every": 10,
    "samples_shown": 4,
    "precision": "auto",
}
VALUE_MODELS = ("separate", "shared")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.ml.ppo",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="fine-tune a policy with PPO")
    a = t.add_argument
    a("--policy", help="causal LM folder, hub name, .gguf file, or 'tiny'")
    a("--reward-model", help="a trained reward model folder (training.ml.reward's DIR/model)")
    a("--prompts", action="append", help="prompts: JSONL rows with 'prompt', or .txt (repeat)")
    a("--out", help="output folder")
    a("--config", help="YAML or JSON file of these options (command line wins)")
    a("--steps", type=int, help="PPO steps (one rollout batch each)")
    a("--batch-size", type=int, help="prompts sampled per step")
    a("--mini-batch-size", type=int, help="rollouts per gradient step")
    a("--ppo-epochs", type=int, help="passes over each rollout batch")
    a("--lr", type=float, help="learning rate of policy and value model (decays linearly)")
    a("--max-new-tokens", type=int, help="longest response")
    a("--temperature", type=float, help="sampling temperature")
    a("--top-k", type=int, help="sample from the k likeliest tokens (0: all)")
    a("--top-p", type=float, help="nucleus sampling mass")
    a("--max-prompt-length", type=int, help="prompt tokens kept (the end)")
    a("--chat-template", choices=["auto", "none"], help="auto: use the tokenizer's template")
    a("--kl-coef", type=float, help="β of the per-token KL penalty (start value if adaptive)")
    a("--kl-target", type=float, help="adaptive β aiming at this KL per response (0: fixed)")
    a("--kl-horizon", type=int, help="samples over which adaptive β closes its error")
    a("--kl-estimator", choices=["k1", "k3"], help="per-token KL estimate in the penalty")
    a("--gamma", type=float, help="discount")
    a("--lam", type=float, help="GAE λ")
    a("--cliprange", type=float, help="policy ratio clip ε")
    a("--cliprange-value", type=float, help="value clip around the rollout's values")
    a("--vf-coef", type=float, help="weight of the value loss")
    a("--missing-eos-penalty", type=float, help="subtracted from scores of unended responses")
    a("--reward-norm", choices=["running", "none"], help="normalise scores by running moments")
    a("--max-grad-norm", type=float, help="gradient clipping")
    a("--lora-r", type=int, help="train a LoRA adapter of this rank (0: full fine-tuning)")
    a("--lora-alpha", type=int, help="LoRA alpha")
    a("--value-model", choices=VALUE_MODELS,
      help="the critic: a copy of the policy's body (separate) or a head on the policy's "
           "last hidden state (shared: one forward, value gradients reach the policy)")  # fmt: skip
    a("--seed", type=int, help="seed of sampling, prompt order and initialisation")
    a("--log-every", type=int, help="steps between metrics lines")
    a("--save-every", type=int, help="steps between checkpoints (0: only at the end)")
    a("--sample-every", type=int, help="steps between sample tables in the stream (0: none)")
    a("--samples-shown", type=int, help="prompts and responses per sample table")
    a("--precision", choices=["auto", "fp32", "bf16"], help="auto: bf16 on GPUs")
    a("--resume", action="store_true", help="continue from the latest checkpoint")
    return parser


def options_of(argv: list[str]) -> argparse.Namespace:
    from training.ml.cli_options import options_merge

    parser = _parser()
    args = parser.parse_args(argv)
    extra = {"prompts": None, "out": None, "resume": False}
    return options_merge(
        parser, args, DEFAULTS, extra=extra, required=("reward_model", "prompts", "out"),
        lists=("prompts",),
    )  # fmt: skip


def train(o: argparse.Namespace) -> dict:
    """Train, and return the run's summary (empty in the processes other than the main
    one). The loop is ``training.ml.ppo_trainer``'s, loaded here with torch."""
    from training.ml.ppo_trainer import train as ppo_train

    return ppo_train(o)


def main(argv: list[str] | None = None) -> int:
    from training.ml.cli_options import cli_run

    def run(o):
        summary = train(o)  # empty in the processes other than the main one
        return {"model": str(Path(o.out) / "model")} if summary else None

    return cli_run(argv, options_of, {"train": run})


if __name__ == "__main__":
    sys.exit(main())
