"""Direct preference optimisation of a policy on preference pairs, through TRL's
DPOTrainer.

    python -m training.ml.dpo train --policy PATH|tiny --data FILE [--eval-data FILE]
        --out DIR [--beta B] [--epochs N] [--batch-size B] [--lr X] [--config run.yaml]
        [--resume]

FILE is a snapshot's pairwise or listwise JSONL, or any TRL-style prompt/chosen/rejected
JSONL (every ordered pair of a ranking becomes a DPO pair; ties give none). The frozen
reference is the starting policy (TRL keeps the copy; with ``--lora-r`` it is the base
with the adapter disabled). TRL trains; DIR/metrics.jsonl gets loss, the implicit
rewards of chosen and rejected responses, their margin and accuracy, the policy's
log-probabilities of both, and the same on the held-out file per epoch; DIR/model/ is
the final policy.
"""

import argparse
import copy
import json
import sys
from pathlib import Path

DEFAULTS = {
    "policy": "tiny",
    "beta": 0.1,
    "loss_type": "sigmoid",
    "epochs": 1,
    "batch_size": 8,
    "lr": 5e-7,
    "max_length": 512,
    "warmup": 0.1,
    "weight_decay": 0.0,
    "seed": 0,
    "log_every": 5,
    "save_every": 200,
    "max_steps": 0,
    "lora_r": 0,
    "lora_alpha": 32,
    "precision": "auto",
}
LOSS_TYPES = ("sigmoid", "ipo", "hinge", "robust")
METRIC_NAMES = {
    "loss": "loss",
    "learning_rate": "lr",
    "rewards/chosen": "reward_chosen",
    "rewards/rejected": "reward_rejected",
    "rewards/margins": "margin",
    "rewards/accuracies": "accuracy",
    "logps/chosen": "logp_chosen",
    "logps/rejected": "logp_rejected",
    "eval_loss": "eval_loss",
    "eval_rewards/margins": "eval_margin",
    "eval_rewards/accuracies": "eval_accuracy",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.ml.dpo",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="optimise a policy on preference pairs")
    a = t.add_argument
    a("--policy", help="causal LM folder, hub name, .gguf file, or 'tiny'")
    a("--data", action="append", help="pairwise, listwise or TRL-style JSONL (repeat)")
    a("--eval-data", action="append", help="held-out preferences (repeat)")
    a("--out", help="output folder")
    a("--config", help="YAML or JSON file of these options (command line wins)")
    a("--beta", type=float, help="strength of the pull towards the reference")
    a("--loss-type", choices=LOSS_TYPES, help="DPO's sigmoid loss, or IPO, hinge, robust")
    a("--epochs", type=float, help="passes over the pairs")
    a("--batch-size", type=int, help="pairs per step")
    a("--lr", type=float, help="peak learning rate")
    a("--max-length", type=int, help="tokens of prompt and response together")
    a("--warmup", type=float, help="share of steps warming the rate up")
    a("--weight-decay", type=float, help="AdamW weight decay")
    a("--seed", type=int, help="seed")
    a("--log-every", type=int, help="steps between metrics lines")
    a("--save-every", type=int, help="steps between checkpoints")
    a("--max-steps", type=int, help="stop after this many steps (0: no limit)")
    a("--lora-r", type=int, help="train a LoRA adapter of this rank (0: full fine-tuning)")
    a("--lora-alpha", type=int, help="LoRA alpha")
    a("--precision", choices=["auto", "fp32", "bf16"], help="auto: bf16 on GPUs that support it")
    a("--resume", action="store_true", help="continue from the latest checkpoint")
    return parser


def options_of(argv: list[str]) -> argparse.Namespace:
    from training.ml.cli_options import options_merge

    parser = _parser()
    args = parser.parse_args(argv)
    extra = {"data": None, "eval_data": None, "out": None, "resume": False}
    return options_merge(
        parser, args, DEFAULTS, extra=extra, required=("data", "out"), lists=("data", "eval_data")
    )


def pairs_load(paths: list) -> list[dict]:
    """prompt / chosen / rejected rows: every ordered pair of every ranking."""
    from training.ml.preference_data import examples_load

    rows = []
    for example in examples_load(paths):
        for n, better in enumerate(example.tiers):
            for worse in example.tiers[n + 1 :]:
                rows.extend(
                    {"prompt": example.prompt, "chosen": " " + example.responses[a],
                     "rejected": " " + example.responses[b]}
                    for a in better
                    for b in worse
                )  # fmt: skip
    return rows


def train(o: argparse.Namespace) -> dict:
    import datasets
    import torch
    from trl import DPOConfig, DPOTrainer

    from training.ml.metrics_log import MetricsLog
    from training.ml.trl_runs import (
        lora_config,
        policy_start,
        publish,
        resume_point,
        stream_callback,
        trainer_arguments,
    )

    out = Path(o.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(o.seed)
    train_rows = pairs_load(o.data)
    if not train_rows:
        raise ValueError(f"{', '.join(o.data)}: no preference pairs")
    eval_rows = pairs_load(o.eval_data) if o.eval_data else []
    texts = [r["prompt"] + r["chosen"] + r["rejected"] for r in train_rows]
    model, tokenizer = policy_start(o.policy, texts, o.seed)
    config = DPOConfig(
        **trainer_arguments(o, out, len(train_rows), bool(eval_rows)),
        beta=o.beta,
        loss_type=[o.loss_type],
    )
    log = MetricsLog(out)
    # The reference: a frozen copy of the start (TRL would reload it by name, which a
    # policy built from a config does not have); with LoRA, the adapter-free base.
    reference = None if o.lora_r else copy.deepcopy(model).eval()
    trainer = DPOTrainer(
        model=model,
        ref_model=reference,
        args=config,
        train_dataset=datasets.Dataset.from_list(train_rows),
        eval_dataset=datasets.Dataset.from_list(eval_rows) if eval_rows else None,
        processing_class=tokenizer,
        peft_config=lora_config(o),
        callbacks=[stream_callback(log, METRIC_NAMES)],
    )
    result = trainer.train(resume_from_checkpoint=resume_point(out, o.resume, log))
    evaluation = trainer.evaluate() if eval_rows else {}
    final = publish(trainer.model, tokenizer, out)
    summary = {
        "policy": o.policy,
        "steps": result.global_step,
        "train_loss": result.training_loss,
        "pairs": len(train_rows),
        "eval": {
            "loss": evaluation.get("eval_loss"),
            "accuracy": evaluation.get("eval_rewards/accuracies"),
            "margin": evaluation.get("eval_rewards/margins"),
        },
        "options": {k: v for k, v in vars(o).items() if k != "command"},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    log.write(result.global_step, event="finished", model=str(final))
    log.close()
    return summary


def main(argv: list[str] | None = None) -> int:
    from training.ml.preference_data import DataError

    o = options_of(sys.argv[1:] if argv is None else argv)
    try:
        summary = train(o)
        print(json.dumps({"model": str(Path(o.out) / "model"), "eval": summary["eval"]}))
    except (DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
