"""The reward model's training loop, in the shape of minGPT's ``Trainer.run``: a setup
that builds a ``RewardRun``, one optimizer ``step``, evaluation and checkpoints at the
ends of epochs, and a plain loop over epochs and their batches.

``training.ml.reward`` is the command line (it imports no torch, so the web tier can read
its options); it loads this module when a run starts. Under ``accelerate launch`` every
process runs the loop on its share of each epoch's batches; the main process alone
evaluates and writes the stream, the checkpoints and the model.
"""

import argparse
import json
import math
import random
import shutil
import time
import uuid
from dataclasses import asdict, astuple, dataclass, field, fields
from pathlib import Path

import torch
from transformers import get_linear_schedule_with_warmup

from training.ml.batching import PASS_OVERHEAD_TOKENS, batch_plan, collate, length_split
from training.ml.checkpoints import checkpoint_latest, checkpoint_load, checkpoint_save
from training.ml.distributed import Parallel, parallel_start
from training.ml.encoding import Encoded, Truncation, encode
from training.ml.losses import kwise_bt_loss, pair_accuracy, plackett_luce_loss
from training.ml.metrics_log import MetricsLog
from training.ml.precision import autocast_for
from training.ml.preference_data import examples_load
from training.ml.reward_eval import evaluation
from training.ml.reward_model import (
    RewardModel,
    RewardSpec,
    default_base_model,
    reward_model_build,
    reward_model_save,
    tokenizer_load,
    trainable_parameters,
)

EVAL_LOGGED = ("loss", "pairwise_accuracy", "ece", "reward_mean", "reward_std", "n_pairs")


class Scorer:
    """Rewards of a batch of examples: through the whole model, or (feature strategy)
    through the head alone over features computed once with the frozen backbone.
    Training goes through ``engine`` (the DDP wrapper under several processes, so the
    backward pass averages gradients); evaluation, on the main process alone, through
    the bare model."""

    def __init__(self, reward, pad_id, device, autocast, engine=None):
        self.reward, self.pad_id, self.device, self.autocast = reward, pad_id, device, autocast
        self.engine = engine or reward
        self.cache: dict[str, list] = {}
        self.pass_overhead = PASS_OVERHEAD_TOKENS.get(torch.device(device).type, 8192)

    def precompute(self, name: str, examples, batch_size: int) -> None:
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


class _Silent:
    """The metrics stream of a process other than the main one: nothing is written."""

    def write(self, step: int, **metrics) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class Window:
    """What the steps since the last metrics line add up to, on this process."""

    batches: int = 0
    right: int = 0
    pairs: int = 0
    seqs: int = 0
    tokens: int = 0
    padded: int = 0
    loss: float = 0.0
    steps: int = 0  # steps of this run (not of a resumed one's past), for the rate
    started: float = field(default_factory=time.perf_counter)

    def summed(self, par: Parallel) -> dict:
        """The counts summed over every process."""
        names = [f.name for f in fields(self)][:7]
        return dict(zip(names, par.sum(list(astuple(self))[:7]), strict=True))


@dataclass
class RewardRun:
    """Everything a reward run holds between steps."""

    o: argparse.Namespace
    out: Path
    par: Parallel
    spec: RewardSpec
    tokenizer: object
    truncation: Truncation
    train_set: list[Encoded]
    eval_set: list[Encoded]
    pairs: int  # ordered pairs of the training rankings (ties give none)
    reward: RewardModel
    scorer: Scorer
    optimizer: torch.optim.Optimizer
    scheduler: object
    total: int  # optimizer steps of the whole run
    precision: str
    log: MetricsLog | _Silent
    step: int = 0
    epoch: int = 0
    done_in_epoch: int = 0  # batches of the current epoch already trained
    last_eval: dict = field(default_factory=dict)
    window: Window = field(default_factory=Window)


def train(o: argparse.Namespace) -> dict | None:
    """Train, and return the run's summary (None in a process other than the main one
    of several)."""
    run = run_setup(o)
    run.reward.train()
    while run.step < run.total:
        plan = run.par.shard(batch_plan(run.train_set, o.batch_size, o.seed + run.epoch))
        for indices in plan[run.done_in_epoch :][: run.total - run.step]:
            train_step(run, indices)
            if run.step % o.log_every == 0 or run.step == run.total:
                log_window(run, len(plan))
            if o.save_every and run.step % o.save_every == 0:
                save(run)
        if run.done_in_epoch == len(plan):  # the epoch ended: evaluate and keep it
            run.epoch, run.done_in_epoch = run.epoch + 1, 0
            evaluate_and_log(run)
            save(run)
    if not run.last_eval or run.done_in_epoch:  # stopped mid-epoch (or nothing to evaluate)
        evaluate_and_log(run)
    save(run)
    return run_finish(run)


def train_step(run: RewardRun, indices: list[int]) -> None:
    """One optimizer step on a batch of examples, counted into the logging window."""
    scores, batch = run.scorer("train", run.train_set, indices)
    loss = _loss(run.o.loss, scores, batch, run.train_set, indices)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in run.reward.parameters() if p.requires_grad], 1.0)
    run.optimizer.step()
    run.scheduler.step()
    run.step += 1
    run.done_in_epoch += 1
    right, n = pair_accuracy(scores.detach(), batch["pairs"].to(scores.device))
    w = run.window
    w.steps += 1
    w.loss += float(loss.detach())
    w.batches += 1
    w.right += right
    w.pairs += n
    w.seqs += batch["inputs"]["input_ids"].shape[0]
    w.tokens += batch["tokens"]
    w.padded += batch["padded"]


def log_window(run: RewardRun, batches_in_epoch: int) -> None:
    """One metrics line of the window's steps (summed over processes); a new window."""
    w = run.window
    elapsed = time.perf_counter() - w.started
    rate = w.steps / elapsed if elapsed else 0.0
    s = w.summed(run.par)
    run.log.write(
        run.step,
        epoch=round(run.epoch + run.done_in_epoch / batches_in_epoch, 4),
        loss=s["loss"] / s["batches"],
        accuracy=s["right"] / s["pairs"] if s["pairs"] else None,
        lr=run.scheduler.get_last_lr()[0],
        seqs_per_s=s["seqs"] / elapsed if elapsed else None,
        padding=1 - s["tokens"] / s["padded"] if s["padded"] else 0.0,
        progress=run.step / run.total,
        eta_s=(run.total - run.step) / rate if rate else None,
        total_steps=run.total,
    )
    run.window = Window()


def evaluate_and_log(run: RewardRun) -> None:
    """Evaluate on the held-out set, on the main process (the others wait at the next
    barrier), and log the figures."""
    if not run.eval_set or not run.par.is_main:
        run.last_eval = {}
        return
    scores = eval_scores(run.scorer, "eval", run.eval_set, run.o.eval_batch_size)
    run.last_eval = evaluation(run.eval_set, scores)
    run.reward.train()
    run.log.write(run.step, **{f"eval_{k}": run.last_eval[k] for k in EVAL_LOGGED})


def save(run: RewardRun) -> None:
    """A checkpoint of the model, optimizer, scheduler and place in the data."""
    if run.par.is_main:
        state = {"step": run.step, "epoch": run.epoch, "batch": run.done_in_epoch}
        checkpoint_save(run.out, run.reward, run.optimizer, run.scheduler, state)
    run.par.barrier()


def eval_scores(scorer: Scorer, name: str, examples, batch_size: int) -> list:
    """Every response's reward, per example, through the bare model."""
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
    if kind == "plackett_luce":
        chosen = [examples[i] for i in indices]
        return plackett_luce_loss(scores, [e.tiers for e in chosen], [e.weight for e in chosen])
    return kwise_bt_loss(scores, batch["pairs"].to(scores.device))


def run_setup(o: argparse.Namespace) -> RewardRun:
    """The data, model, optimizer and schedule of a run (resumed from its latest
    checkpoint with ``--resume``), with the stream's start line written."""
    out = Path(o.out)
    out.mkdir(parents=True, exist_ok=True)
    par = parallel_start()
    random.seed(o.seed)
    torch.manual_seed(o.seed)
    spec = RewardSpec(
        base_model=o.base_model or default_base_model(),
        strategy=o.strategy,
        pooling=o.pooling,
        top_layers=o.top_layers,
        lora_r=o.lora_r,
        lora_alpha=o.lora_alpha,
        dropout=bool(o.dropout),
    )
    spec.check()
    tokenizer = tokenizer_load(spec.base_model)
    truncation = Truncation()
    train_set = encode(examples_load(o.data), tokenizer, o.max_length, truncation)
    eval_set = encode(examples_load(o.eval_data), tokenizer, o.max_length) if o.eval_data else []
    if not train_set:
        raise SystemExit(f"{', '.join(o.data)}: no ranked examples with two tiers or more")
    autocast, precision = autocast_for(par.device, o.precision)
    reward = reward_model_build(spec, tokenizer).to(par.device)
    # Several processes start from the same weights (the seed); DDP checks that.
    scorer = Scorer(reward, tokenizer.pad_token_id, par.device, autocast, par.wrap(reward))
    if o.strategy == "feature":
        scorer.precompute("train", train_set, o.eval_batch_size)
        if eval_set and par.is_main:
            scorer.precompute("eval", eval_set, o.eval_batch_size)
    optimizer = _optimizer(reward, o)
    total = _total_steps(o, par, train_set)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total * o.warmup), total)
    run = RewardRun(
        o, out, par, spec, tokenizer, truncation, train_set, eval_set, _pairs(train_set),
        reward, scorer, optimizer, scheduler, total, precision,
        MetricsLog(out) if par.is_main else _Silent(),
    )  # fmt: skip
    if o.resume:
        _resume(run)
    _log_start(run)
    return run


def _pairs(examples: list[Encoded]) -> int:
    return sum(
        len(u) * len(v) for e in examples for n, u in enumerate(e.tiers) for v in e.tiers[n + 1 :]
    )


def _total_steps(o, par: Parallel, train_set: list) -> int:
    per_epoch = len(par.shard(batch_plan(train_set, o.batch_size, o.seed)))
    if not per_epoch:
        raise ValueError(f"{par.world} processes need {par.world} batches or more per epoch")
    total = math.ceil(per_epoch * o.epochs)
    return min(total, o.max_steps) if o.max_steps else total


def _optimizer(reward, o):
    head_ids = {id(p) for p in reward.head_parameters()}
    params = [p for p in reward.parameters() if p.requires_grad]
    head = [p for p in params if id(p) in head_ids]
    body = [p for p in params if id(p) not in head_ids]
    groups = [{"params": body, "lr": o.lr}]
    if head:
        groups.append({"params": head, "lr": o.head_lr or o.lr})
    return torch.optim.AdamW([g for g in groups if g["params"]], weight_decay=o.weight_decay)


def _resume(run: RewardRun) -> None:
    latest = checkpoint_latest(run.out)
    if latest:
        state = checkpoint_load(latest, run.reward, run.optimizer, run.scheduler)
        run.step, run.epoch, run.done_in_epoch = state["step"], state["epoch"], state["batch"]
        run.log.write(run.step, event="resumed", checkpoint=latest.name)


def _log_start(run: RewardRun) -> None:
    trained, everything = trainable_parameters(run.reward)
    run.log.write(
        run.step,
        event="start",
        total_steps=run.total,
        examples=len(run.train_set),
        pairs=run.pairs,
        eval_examples=len(run.eval_set),
        device=str(run.par.device),
        processes=run.par.world,
        precision=run.precision,
        trainable_parameters=trained,
        parameters=everything,
        **run.truncation.as_dict(),
    )
    run.window = Window()


def run_finish(run: RewardRun) -> dict | None:
    """The model, its card and the summary (main process); None in the others."""
    if not run.par.is_main:
        run.par.close()
        return None
    o = run.o
    summary = {
        "base_model": run.spec.base_model,
        "spec": asdict(run.spec),
        "options": {k: v for k, v in vars(o).items() if k != "command"},
        "steps": run.step,
        "train": {"examples": len(run.train_set), "pairs": run.pairs},
        "truncation": run.truncation.as_dict(),
        "device": str(run.par.device),
        "processes": run.par.world,
        "precision": run.precision,
        "eval": run.last_eval,
    }
    final = _publish_model(run, {"max_length": o.max_length})
    (final / "README.md").write_text(_model_card(o, summary), encoding="utf-8")
    (run.out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    run.log.write(run.step, event="finished", model=str(final))
    run.log.close()
    run.par.close()
    return summary


def _publish_model(run: RewardRun, extra: dict) -> Path:
    """The model in OUT/model, whole or not at all (written, then renamed)."""
    tmp = run.out / f".tmp-model-{uuid.uuid4().hex}"
    reward_model_save(run.reward, run.tokenizer, tmp, run.spec, **extra)
    final = run.out / "model"
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
