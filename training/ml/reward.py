"""Train and evaluate reward models on ranked preference data.

    python -m training.ml.reward train --data FILE [--data FILE ...] [--eval-data FILE]
        --out DIR [--base-model PATH] [--strategy full|layerwise|feature|lora]
        [--epochs N] [--batch-size B] [--lr X] [--max-length L] [--seed S]
        [--loss kwise|plackett_luce] [--config run.yaml] [--resume]
    python -m training.ml.reward evaluate --model DIR --data FILE

FILE is a snapshot's listwise or pairwise JSONL, or any TRL-style prompt/chosen/rejected
JSONL. Each response is encoded once; every ordered pair of a ranking (ties give none)
adds a Bradley–Terry term weighted by the annotation's weight and shifted by its margin
(InstructGPT's K-wise loss), or the ranking's Plackett–Luce likelihood is used.
Training appends one JSON object per logging step to DIR/metrics.jsonl, saves
checkpoints under DIR/checkpoints/ (resumable), and writes the final model to DIR/model/
with its tokenizer, a model card and DIR/summary.json.

Under ``accelerate launch --num_processes N`` (several GPUs, or CPU processes over gloo)
each process trains every N-th batch and DDP averages the gradients; the main process
alone evaluates and writes the stream, checkpoints and model (``training.ml.distributed``).
"""

import argparse
import sys
from pathlib import Path

from training.ml.configs.base import config_defaults, config_options, config_parser
from training.ml.configs.reward import RewardRunConfig

# The trainer's own defaults (the web tier shows and checks them): every option but the
# files of a run.
DEFAULTS = config_defaults(RewardRunConfig, without=("data", "eval_data", "out", "resume"))


def _parser() -> argparse.ArgumentParser:
    parser = config_parser(
        "python -m training.ml.reward",
        __doc__,
        {
            "train": ("train a reward model", RewardRunConfig),
            "evaluate": ("print a JSON evaluation of a model on a file", None),
        },
    )
    e = parser.commands["evaluate"]
    e.add_argument("--model", required=True, help="a trained model folder (DIR/model)")
    e.add_argument("--data", action="append", required=True, help="listwise or pairwise JSONL")
    e.add_argument("--batch-size", type=int, default=64)
    e.add_argument("--max-length", type=int, help="default: the model's training length")
    return parser


def options_of(argv: list[str]) -> argparse.Namespace:
    """Defaults < the YAML config < the command line; unknown config keys are errors,
    values out of their choices or bounds a ConfigError naming the field."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "train":
        return args
    return config_options(RewardRunConfig, parser, args)


def train(o: argparse.Namespace) -> dict | None:
    """Train, and return the run's summary (None in a process other than the main one
    of several). The loop is ``training.ml.reward_trainer``'s, loaded here with torch."""
    from training.ml.reward_trainer import train as reward_train

    return reward_train(o)


def __getattr__(name: str):
    # ``Scorer`` lived here; it is the trainer's, and importing it loads torch.
    if name == "Scorer":
        from training.ml.reward_trainer import Scorer

        return Scorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def evaluate(args: argparse.Namespace) -> dict:
    import torch

    from training.ml.encoding import Truncation, encode
    from training.ml.preference_data import examples_load
    from training.ml.reward_eval import evaluation, scores_of
    from training.ml.reward_model import reward_model_load

    device = "cuda" if torch.cuda.is_available() else "cpu"
    reward, tokenizer, trained_length = reward_model_load(args.model, device)
    truncation = Truncation()
    examples = encode(
        examples_load(args.data), tokenizer, args.max_length or trained_length, truncation
    )
    scores = scores_of(reward, examples, tokenizer.pad_token_id, args.batch_size, device)
    return {**evaluation(examples, scores), "truncation": truncation.as_dict()}


def main(argv: list[str] | None = None) -> int:
    from training.ml.cli_options import cli_run

    def run(o):
        summary = train(o)  # None in a process other than the main one: it prints nothing
        return summary and {"model": str(Path(o.out) / "model"), "eval": summary["eval"]}

    return cli_run(argv, options_of, {"train": run, "evaluate": evaluate})


if __name__ == "__main__":
    sys.exit(main())
