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
import json
import math
import sys
from pathlib import Path

DEFAULTS = {
    "policy": "tiny",
    "epochs": 3,
    "batch_size": 8,
    "lr": 2e-5,
    "max_length": 512,
    "warmup": 0.03,
    "weight_decay": 0.0,
    "seed": 0,
    "log_every": 5,
    "save_every": 200,
    "max_steps": 0,
    "lora_r": 0,
    "lora_alpha": 32,
    "precision": "auto",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.ml.sft",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="fine-tune a policy on demonstrations")
    a = t.add_argument
    a("--policy", help="causal LM folder, hub name, .gguf file, or 'tiny'")
    a("--data", action="append", help="sft or prompt/completion JSONL (repeat)")
    a("--eval-data", action="append", help="held-out demonstrations (repeat)")
    a("--out", help="output folder")
    a("--config", help="YAML or JSON file of these options (command line wins)")
    a("--epochs", type=float, help="passes over the demonstrations")
    a("--batch-size", type=int, help="demonstrations per step")
    a("--lr", type=float, help="peak learning rate")
    a("--max-length", type=int, help="tokens per demonstration (longer ones are cut)")
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


def demonstrations_load(paths: list, chat: bool, eos: str) -> list[dict]:
    """Prompt-completion rows: conversational when ``chat``, else HH-style text with the
    completion ending in EOS. Errors name the file and line."""
    from training.ml.preference_data import DataError, _text

    rows = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{where}: not JSON ({exc.msg})") from None
                if isinstance(row, dict) and isinstance(row.get("messages"), list):
                    messages = row["messages"]
                    _text(messages, f"{where}: messages")
                    if len(messages) < 2 or messages[-1].get("role") != "assistant":
                        raise DataError(f"{where}: messages: must end with an assistant turn")
                    prompt, completion = messages[:-1], messages[-1]["content"]
                elif isinstance(row, dict) and "prompt" in row and "completion" in row:
                    prompt = row["prompt"]
                    completion = _text(row["completion"], f"{where}: completion", completion=True)
                else:
                    raise DataError(f"{where}: expected messages, or prompt and completion")
                if chat:
                    if isinstance(prompt, str):
                        prompt = [{"role": "user", "content": prompt}]
                    answer = [{"role": "assistant", "content": completion}]
                    rows.append({"prompt": prompt, "completion": answer})
                else:
                    text = _text(prompt, f"{where}: prompt")
                    if isinstance(prompt, list):
                        text += "\n\nAssistant:"
                    rows.append({"prompt": text, "completion": f" {completion}{eos}"})
    return rows


def train(o: argparse.Namespace) -> dict:
    import datasets
    import torch
    from trl import SFTConfig, SFTTrainer

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
    texts = [r["prompt"] + r["completion"] for r in demonstrations_load(o.data, False, "")]
    model, tokenizer = policy_start(o.policy, texts, o.seed)
    chat = bool(getattr(tokenizer, "chat_template", None))
    train_rows = demonstrations_load(o.data, chat, tokenizer.eos_token)
    eval_rows = demonstrations_load(o.eval_data, chat, tokenizer.eos_token) if o.eval_data else []
    config = SFTConfig(**trainer_arguments(o, out, len(train_rows), bool(eval_rows)))
    log = MetricsLog(out)
    names = {"loss": "loss", "learning_rate": "lr", "eval_loss": "eval_loss"}
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=datasets.Dataset.from_list(train_rows),
        eval_dataset=datasets.Dataset.from_list(eval_rows) if eval_rows else None,
        processing_class=tokenizer,
        peft_config=lora_config(o),
        callbacks=[stream_callback(log, names)],
    )
    result = trainer.train(resume_from_checkpoint=resume_point(out, o.resume, log))
    evaluation = trainer.evaluate() if eval_rows else {}
    final = publish(trainer.model, tokenizer, out)
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
