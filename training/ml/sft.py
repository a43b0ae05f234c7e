"""Supervised fine-tuning of a policy on demonstrations, through TRL's SFTTrainer.

    python -m training.ml.sft train --policy PATH|tiny --data FILE [--eval-data FILE]
        --out DIR [--epochs N] [--batch-size B] [--lr X] [--max-length L] [--config run.yaml]
        [--resume]

FILE is a snapshot's ``sft`` JSONL (``messages`` ending with the demonstrated assistant
turn: best-ranked, written and rewritten responses) or any prompt/completion JSONL. Each
row becomes a prompt-completion pair, conversational when the tokenizer has a chat
template (TRL applies it) and HH-style text otherwise, and the loss covers the
completion only. TRL does the training; this module maps PrefLab's files and options
onto it and writes the platform's metrics stream (DIR/metrics.jsonl: loss, learning
rate, progress, and held-out loss and perplexity per epoch), checkpoints under
DIR/checkpoints/ (resumable) and the final policy in DIR/model/.
"""

import argparse
import math
import sys
from pathlib import Path

from training.ml.configs.base import config_defaults
from training.ml.configs.sft import SFTRunConfig
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
DEFAULTS = config_defaults(SFTRunConfig, without=("data", "eval_data", "out", "resume"))


def options_of(argv: list[str]) -> argparse.Namespace:
    return trl_options("python -m training.ml.sft", __doc__, "fine-tune a policy on "
                       "demonstrations", SFTRunConfig, argv)  # fmt: skip


def demonstration_pairs(paths: list) -> list[tuple]:
    """(prompt, completion) of every row: the prompt is text or the conversation before
    the demonstrated turn. Errors name the file and line."""
    from training.ml.preference_data import DataError, _text, jsonl_rows

    pairs = []
    for where, row in jsonl_rows(paths):
        if isinstance(row, dict) and isinstance(row.get("messages"), list):
            messages = row["messages"]
            _text(messages, f"{where}: messages")
            if len(messages) < 2 or messages[-1].get("role") != "assistant":
                raise DataError(f"{where}: messages: must end with an assistant turn")
            pairs.append((messages[:-1], messages[-1]["content"]))
        elif isinstance(row, dict) and "prompt" in row and "completion" in row:
            _text(row["prompt"], f"{where}: prompt")
            completion = _text(row["completion"], f"{where}: completion", completion=True)
            pairs.append((row["prompt"], completion))
        else:
            raise DataError(f"{where}: expected messages, or prompt and completion")
    return pairs


def demonstrations_load(paths: list, chat: bool, eos: str) -> list[dict]:
    """Prompt-completion rows: conversational when ``chat``, else HH-style text with the
    completion ending in EOS. Errors name the file and line."""
    from training.ml.preference_data import _text

    rows = []
    for prompt, completion in demonstration_pairs(paths):
        if chat:
            if isinstance(prompt, str):
                prompt = [{"role": "user", "content": prompt}]
            answer = [{"role": "assistant", "content": completion}]
            rows.append({"prompt": prompt, "completion": answer})
        else:
            text = _text(prompt, "prompt")
            if isinstance(prompt, list):
                text += "\n\nAssistant:"
            rows.append({"prompt": text, "completion": f" {completion}{eos}"})
    return rows


def train(o: argparse.Namespace) -> dict:
    import datasets
    import torch
    from trl import SFTConfig, SFTTrainer

    out = Path(o.out)
    out.mkdir(parents=True, exist_ok=True)  # (every process: exist_ok)
    torch.manual_seed(o.seed)
    texts = [r["prompt"] + r["completion"] for r in demonstrations_load(o.data, False, "")]
    model, tokenizer = policy_start(o.policy, texts, o.seed)
    chat = bool(getattr(tokenizer, "chat_template", None))
    train_rows = demonstrations_load(o.data, chat, tokenizer.eos_token)
    eval_rows = demonstrations_load(o.eval_data, chat, tokenizer.eos_token) if o.eval_data else []
    config = SFTConfig(**trainer_arguments(o, out, len(train_rows), bool(eval_rows)))
    log = main_log(out)  # None in the other processes of a launch
    names = {"loss": "loss", "learning_rate": "lr", "eval_loss": "eval_loss"}
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=datasets.Dataset.from_list(train_rows),
        eval_dataset=datasets.Dataset.from_list(eval_rows) if eval_rows else None,
        processing_class=tokenizer,
        peft_config=lora_config(o),
        callbacks=[stream_callback(log, names)] if log else [],
    )
    result = trainer.train(resume_from_checkpoint=resume_point(out, o.resume, log))
    evaluation = trainer.evaluate() if eval_rows else {}
    summary = {
        "policy": o.policy,
        "steps": result.global_step,
        "train_loss": result.training_loss,
        "eval": {
            "loss": evaluation.get("eval_loss"),
            "perplexity": math.exp(min(evaluation["eval_loss"], 50)) if evaluation else None,
        },
        "examples": len(train_rows),
        "chat_template": chat,
        "options": {k: v for k, v in vars(o).items() if k != "command"},
    }
    finish(trainer, tokenizer, out, log, summary, result.global_step)
    return summary


def main(argv: list[str] | None = None) -> int:
    from training.ml.trl_runs import trl_main

    return trl_main(argv, options_of, train, "eval")


if __name__ == "__main__":
    sys.exit(main())
