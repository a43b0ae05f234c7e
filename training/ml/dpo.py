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
import sys
from pathlib import Path

from training.ml.configs.base import config_defaults
from training.ml.configs.dpo import LOSS_TYPES, DPORunConfig  # noqa: F401 - the web tier reads them here
from training.ml.trl_runs import (
    finish,
    lora_config,
    main_log,
    policy_start,
    resume_point,
    stream_callback,
    trainer_arguments,
    trl_options,
)

# The trainer's own defaults (the web tier shows and checks them): every option but the
# files of a run.
DEFAULTS = config_defaults(DPORunConfig, without=("data", "eval_data", "out", "resume"))
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


def options_of(argv: list[str]) -> argparse.Namespace:
    return trl_options("python -m training.ml.dpo", __doc__, "optimise a policy on "
                       "preference pairs", DPORunConfig, argv)  # fmt: skip


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

    out = Path(o.out)
    out.mkdir(parents=True, exist_ok=True)  # (every process: exist_ok)
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
    log = main_log(out)  # None in the other processes of a launch
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
        callbacks=[stream_callback(log, METRIC_NAMES)] if log else [],
    )
    result = trainer.train(resume_from_checkpoint=resume_point(out, o.resume, log))
    evaluation = trainer.evaluate() if eval_rows else {}
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
    finish(trainer, tokenizer, out, log, summary, result.global_step)
    return summary


def main(argv: list[str] | None = None) -> int:
    from training.ml.trl_runs import trl_main

    return trl_main(argv, options_of, train, "eval")


if __name__ == "__main__":
    sys.exit(main())
