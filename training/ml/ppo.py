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

from training.ml.configs.base import config_defaults, config_options, config_parser
from training.ml.configs.ppo import VALUE_MODELS, PPORunConfig  # noqa: F401 - the web tier reads them here

# The trainer's own defaults (the web tier shows and checks them): every option but the
# files of a run.
DEFAULTS = config_defaults(PPORunConfig, without=("prompts", "out", "resume"))


def options_of(argv: list[str]) -> argparse.Namespace:
    """Defaults < the YAML config < the command line; unknown config keys are errors,
    values out of their choices or bounds a ConfigError naming the field."""
    parser = config_parser("python -m training.ml.ppo", __doc__,
                           {"train": ("fine-tune a policy with PPO", PPORunConfig)})  # fmt: skip
    return config_options(PPORunConfig, parser, parser.parse_args(argv))


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
