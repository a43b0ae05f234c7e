"""PPO's training loop, in the shape of minGPT's ``Trainer.run``: a setup that builds a
``PPORun``, then per step a rollout (``experience``: sample, score, advantages), the
clipped updates (``optimise``), and what is logged and kept.

``training.ml.ppo`` is the command line (it imports no torch, so the web tier can read
its options); it loads this module when a run starts. Under ``accelerate launch`` each
process samples and trains its share of every batch; DDP averages the gradients and the
main process alone writes the stream, checkpoints and the policy.
"""

import argparse
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import get_linear_schedule_with_warmup

from training.ml.checkpoints import checkpoint_latest, checkpoint_load, checkpoint_save
from training.ml.configs.ppo import VALUE_MODELS
from training.ml.distributed import Parallel, parallel_start
from training.ml.metrics_log import MetricsLog
from training.ml.ppo_math import (
    KLController,
    RunningMoments,
    entropy_of,
    gae,
    masked_mean,
    masked_whiten,
    policy_loss,
    token_rewards,
    value_loss,
)
from training.ml.ppo_models import PolicyAndValue, adamw_for, models_of
from training.ml.ppo_rollout import (
    Rollout,
    Sampling,
    logprobs_of,
    prompt_ids,
    rollout_fill,
    sample,
)
from training.ml.precision import autocast_for
from training.ml.prompt_data import prompt_text, prompts_load
from training.ml.reward_score import RewardScorer
from training.ml.trl_runs import publish


@dataclass
class PPORun:
    """Everything a PPO run holds between steps."""

    o: argparse.Namespace
    out: Path
    par: Parallel
    prompts: list
    texts: list[str]  # the prompts as the reward model reads them
    ids: list[list[int]]  # the prompts as the policy reads them
    chat: bool  # prompts go through the tokenizer's chat template
    how: Sampling
    policy: torch.nn.Module
    tokenizer: object
    reference: torch.nn.Module | None
    both: PolicyAndValue
    model: torch.nn.Module  # ``both``, or DDP around it under several processes
    params: list
    scorer: RewardScorer
    optimizer: torch.optim.Optimizer
    scheduler: object
    kl: KLController
    moments: RunningMoments
    autocast: object
    precision: str
    log: MetricsLog | None  # None in the processes other than the main one
    batches: object  # ``prompt_batches``, advanced past the steps already taken
    step: int = 0
    steps_this_run: int = 0  # (not counting a resumed run's past), for the rate
    started: float = 0.0


@dataclass
class Experience:
    """One step's rollout on this process, with what the updates need."""

    chosen: list[int]  # indices of this process's prompts
    roll: Rollout
    mask: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    kl_tokens: torch.Tensor
    started: float
    generate_s: float


def train(o: argparse.Namespace) -> dict:
    """Train, and return the run's summary (empty in the processes other than the main
    one of several)."""
    run = run_setup(o)
    while run.step < o.steps:
        batch = experience(run)
        t1 = time.perf_counter()
        stats = optimise(run, batch)
        run.scheduler.step()
        train_s = time.perf_counter() - t1
        run.step += 1
        run.steps_this_run += 1
        figures = step_figures(run, batch, stats)
        if run.log and (run.step % o.log_every == 0 or run.step == o.steps):
            log_step(run, batch, figures, train_s)
        if run.log and o.sample_every and (run.step % o.sample_every == 0 or run.step == 1):
            log_samples(run, batch, figures["raw"])
        if o.save_every and run.step % o.save_every == 0:
            save(run)
    save(run)
    return run_finish(run)


def experience(run: PPORun) -> Experience:
    """Sample this process's share of the next batch of prompts, score the responses
    and estimate advantages (GAE, whitened) under the KL-penalised token rewards."""
    o = run.o
    _, _, every = next(run.batches)
    chosen = every[run.par.rank :: run.par.world]  # this process's share of the batch
    t0 = time.perf_counter()
    with run.autocast():
        roll = sample(run.policy, run.tokenizer, [run.prompts[i] for i in chosen],
                      [run.ids[i] for i in chosen], run.how, run.par.device)  # fmt: skip
    generate_s = time.perf_counter() - t0
    run.both.eval()
    with run.autocast():
        rollout_fill(roll, run.both, run.reference, run.scorer,
                     [run.texts[i] for i in chosen], run.how)  # fmt: skip
    penalised = roll.scores - o.missing_eos_penalty * (~roll.ended).float()
    if o.reward_norm == "running":  # the same moments on every process: all scores
        run.moments.update(run.par.gather(penalised))
        scores = (penalised - run.moments.mean) / run.moments.std
    else:
        scores = penalised
    mask = roll.mask.float()
    rewards, kl_tokens = token_rewards(scores, roll.logprobs, roll.ref_logprobs, mask,
                                       run.kl.value, o.kl_estimator)  # fmt: skip
    advantages, returns = gae(rewards, roll.values, mask, o.gamma, o.lam)
    advantages = masked_whiten(advantages, mask)
    return Experience(chosen, roll, mask, advantages, returns, kl_tokens, t0, generate_s)


def optimise(run: PPORun, batch: Experience) -> dict[str, list[float]]:
    """``ppo_epochs`` passes of clipped policy and value updates over shuffled
    minibatches of the rollout; the figures of every minibatch, by name."""
    o = run.o
    local_batch, local_mini = o.batch_size // run.par.world, o.mini_batch_size // run.par.world
    run.both.train()
    stats: dict[str, list[float]] = {}
    for _ in range(o.ppo_epochs):
        order = torch.randperm(local_batch, device=batch.mask.device)
        for start in range(0, local_batch, local_mini):
            measured = minibatch_step(run, batch, order[start : start + local_mini])
            for name, v in measured.items():
                stats.setdefault(name, []).append(v)
    return stats


def minibatch_step(run: PPORun, batch: Experience, rows: torch.Tensor) -> dict[str, float]:
    """One gradient step of the policy and value losses on some rows of the rollout."""
    o = run.o
    mb = batch.roll.select(rows)
    args = (mb["query"], mb["query_mask"], mb["response"], mb["mask"])
    with run.autocast():
        logits, new_values = run.model(*args, o.temperature)
    new_logprobs = logprobs_of(logits, mb["response"])
    m = mb["mask"].float()
    pg, pg_stats = policy_loss(new_logprobs, mb["logprobs"], batch.advantages[rows], m,
                               o.cliprange)  # fmt: skip
    vf, vf_stats = value_loss(new_values, mb["values"], batch.returns[rows], m,
                              o.cliprange_value)  # fmt: skip
    loss = pg + o.vf_coef * vf
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(run.params, o.max_grad_norm)
    run.optimizer.step()
    with torch.no_grad():
        entropy = float(masked_mean(entropy_of(logits.detach()), m))
    measured = {**pg_stats, **vf_stats, "entropy": entropy}
    measured["policy_loss"] = float(pg.detach())
    measured["value_loss"] = float(vf.detach())
    return measured


def step_figures(run: PPORun, batch: Experience, stats: dict[str, list[float]]) -> dict:
    """The step's figures over every process (each call below is collective, so every
    process makes them in this order), and the adaptive KL coefficient's update."""
    par = run.par
    kl_per_response = par.gather(batch.kl_tokens.sum(1))  # the whole batch, every process
    mean_kl = float(kl_per_response.mean())
    run.kl.update(mean_kl, run.o.batch_size)
    return {
        "kl_per_response": kl_per_response,
        "mean_kl": mean_kl,
        "raw": par.gather(batch.roll.scores),
        "lengths": par.gather(batch.roll.mask.sum(1).float()),
        "ended": par.gather(batch.roll.ended.float()),
        "stats": {name: par.sum([sum(v) / len(v)])[0] / par.world for name, v in stats.items()},
    }


def log_step(run: PPORun, batch: Experience, figures: dict, train_s: float) -> None:
    o, raw = run.o, figures["raw"]
    elapsed = time.perf_counter() - run.started
    step_s = time.perf_counter() - batch.started
    run.log.write(
        run.step,
        reward_mean=float(raw.mean()),
        reward_std=float(raw.std()) if raw.numel() > 1 else 0.0,
        reward_minus_kl=float((raw - run.kl.value * figures["kl_per_response"]).mean()),
        kl=figures["mean_kl"],
        kl_coef=run.kl.value,
        response_length=float(figures["lengths"].mean()),
        eos_rate=float(figures["ended"].mean()),
        **figures["stats"],
        lr=run.scheduler.get_last_lr()[0],
        generate_s=batch.generate_s,
        score_s=batch.roll.timings.get("score_s"),
        train_s=train_s,
        samples_per_s=o.batch_size / step_s,
        progress=run.step / o.steps,
        eta_s=(o.steps - run.step) * elapsed / run.steps_this_run,
        total_steps=o.steps,
    )


def log_samples(run: PPORun, batch: Experience, raw: torch.Tensor) -> None:
    """A table of the main process's first prompts, responses and scores."""
    shown = [
        {"prompt": run.texts[i], "response": batch.roll.texts[n], "score": float(raw[n])}
        for n, i in enumerate(batch.chosen[: run.o.samples_shown])
    ]
    run.log.write(run.step, event="samples", samples=shown)


def save(run: PPORun) -> None:
    """A checkpoint of the policy and critic, optimizer, KL coefficient and moments."""
    run.par.barrier()
    if run.par.is_main:
        state = {"step": run.step, "kl_coef": run.kl.value, "moments": run.moments.state_dict()}
        checkpoint_save(run.out, run.both, run.optimizer, run.scheduler, state)
    run.par.barrier()


def prompt_batches(count: int, batch: int, seed: int):
    """Endless seeded passes over the prompts: (pass, position, indices of a batch)."""
    epoch = 0
    while True:
        order = list(range(count))
        random.Random(seed + epoch).shuffle(order)
        for start in range(0, count - batch + 1 if count >= batch else 1, batch):
            chosen = order[start : start + batch]
            while len(chosen) < batch:  # fewer prompts than a batch: repeat them
                chosen += order[: batch - len(chosen)]
            yield epoch, start, chosen
        epoch += 1


def run_setup(o: argparse.Namespace) -> PPORun:
    """The models, prompts, optimizer and schedule of a run (resumed from its latest
    checkpoint with ``--resume``), with the stream's start line written."""
    par = _start(o)
    autocast, precision = autocast_for(par.device.type, o.precision)
    prompts = prompts_load(o.prompts)
    out = Path(o.out)
    if par.is_main:  # a tiny policy's tokenizer is trained once and kept for the others
        policy, tokenizer, reference, value = models_of(o, prompts, par.device, out)
    par.barrier()
    if not par.is_main:
        policy, tokenizer, reference, value = models_of(o, prompts, par.device, out)
    scorer = RewardScorer(o.reward_model, par.device)
    chat = o.chat_template == "auto" and bool(getattr(tokenizer, "chat_template", None))
    both = PolicyAndValue(policy, value)
    params = [p for p in both.parameters() if p.requires_grad]
    optimizer = adamw_for(params, o.lr)
    run = PPORun(
        o, out, par, prompts, [prompt_text(p) for p in prompts],
        prompt_ids(tokenizer, prompts, o.max_prompt_length, chat), chat,
        Sampling(o.max_new_tokens, o.temperature, o.top_k, o.top_p), policy, tokenizer,
        reference, both, both, params, scorer, optimizer,
        get_linear_schedule_with_warmup(optimizer, 0, o.steps),
        KLController(o.kl_coef, o.kl_target or None, o.kl_horizon), RunningMoments(),
        autocast, precision, MetricsLog(out) if par.is_main else None,
        prompt_batches(len(prompts), o.batch_size, o.seed),
    )  # fmt: skip
    _resume(run)
    run.model = par.wrap(both)  # DDP when there are several processes
    _log_start(run)
    for _ in range(run.step):  # the prompts a resumed run already used
        next(run.batches)
    run.started = time.perf_counter()
    return run


def _start(o: argparse.Namespace) -> Parallel:
    """Checks of the options against the processes, the output folder and the seeds."""
    if o.value_model not in VALUE_MODELS:
        raise ValueError(f"value_model: one of {', '.join(VALUE_MODELS)}, got {o.value_model!r}")
    par = parallel_start()
    if o.batch_size % par.world or o.mini_batch_size % par.world:
        raise ValueError(f"batch_size and mini_batch_size: must divide among {par.world} processes")
    if par.is_main:
        Path(o.out).mkdir(parents=True, exist_ok=True)
    par.barrier()
    random.seed(o.seed)
    torch.manual_seed(o.seed)  # the same initial weights on every process
    return par


def _resume(run: PPORun) -> None:
    """With ``--resume``, the latest checkpoint's weights, optimizer, KL coefficient,
    moments and RNG; each process of several then samples from its own seed."""
    o, par = run.o, run.par
    latest = checkpoint_latest(run.out) if o.resume else None
    if latest:
        state = checkpoint_load(latest, run.both, run.optimizer, run.scheduler)
        run.step, run.kl.value = state["step"], state["kl_coef"]
        run.moments.load_state_dict(state["moments"])  # (and the RNG: sampling continues)
        if par.world > 1:  # one saved RNG state: each process continues from its own seed
            torch.manual_seed(o.seed + 7919 * run.step + par.rank)
        if run.log:
            run.log.write(run.step, event="resumed", checkpoint=latest.name)
    elif par.world > 1:
        torch.manual_seed(o.seed + par.rank)  # each process samples its own responses


def _log_start(run: PPORun) -> None:
    if not run.log:
        return
    o = run.o
    fused = run.optimizer.param_groups[0]["fused"]  # a resumed run keeps its checkpoint's kind
    run.log.write(run.step, event="start", total_steps=o.steps, prompts=len(run.prompts),
                  device=str(run.par.device), processes=run.par.world, precision=run.precision,
                  chat_template=run.chat, trainable_parameters=sum(p.numel() for p in run.params),
                  policy=o.policy, reward_model=o.reward_model, value_model=o.value_model,
                  optimizer="fused AdamW" if fused else "AdamW")  # fmt: skip


def run_finish(run: PPORun) -> dict:
    """The policy and the summary (main process); an empty summary in the others."""
    if not run.par.is_main:
        run.par.close()
        return {}
    o = run.o
    final = publish(run.policy, run.tokenizer, run.out)
    summary = {
        "policy": o.policy,
        "reward_model": o.reward_model,
        "steps": run.step,
        "device": str(run.par.device),
        "processes": run.par.world,
        "precision": run.precision,
        "options": {k: v for k, v in vars(o).items() if k != "command"},
    }
    (run.out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    run.log.write(run.step, event="finished", model=str(final))
    run.log.close()
    run.par.close()
    return summary
