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
import json
import random
import sys
import time
from pathlib import Path

DEFAULTS = {
    "policy": "tiny",
    "reward_model": None,
    "steps": 100,
    "batch_size": 16,
    "mini_batch_size": 8,
    "ppo_epochs": 4,
    "lr": 1e-5,
    "max_new_tokens": 48,
    "temperature": 0.7,
    "top_k": 0,
    "top_p": 1.0,
    "max_prompt_length": 256,
    "chat_template": "auto",
    "kl_coef": 0.05,
    "kl_target": 0.0,
    "kl_horizon": 10000,
    "kl_estimator": "k1",
    "gamma": 1.0,
    "lam": 0.95,
    "cliprange": 0.2,
    "cliprange_value": 0.2,
    "vf_coef": 0.1,
    "missing_eos_penalty": 1.0,
    "reward_norm": "running",
    "max_grad_norm": 1.0,
    "lora_r": 0,
    "lora_alpha": 32,
    "value_model": "separate",
    "seed": 0,
    "log_every": 1,
    "save_every": 50,
    "sample_every": 10,
    "samples_shown": 4,
    "precision": "auto",
}
VALUE_MODELS = ("separate", "shared")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.ml.ppo",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="fine-tune a policy with PPO")
    a = t.add_argument
    a("--policy", help="causal LM folder, hub name, .gguf file, or 'tiny'")
    a("--reward-model", help="a trained reward model folder (training.ml.reward's DIR/model)")
    a("--prompts", action="append", help="prompts: JSONL rows with 'prompt', or .txt (repeat)")
    a("--out", help="output folder")
    a("--config", help="YAML or JSON file of these options (command line wins)")
    a("--steps", type=int, help="PPO steps (one rollout batch each)")
    a("--batch-size", type=int, help="prompts sampled per step")
    a("--mini-batch-size", type=int, help="rollouts per gradient step")
    a("--ppo-epochs", type=int, help="passes over each rollout batch")
    a("--lr", type=float, help="learning rate of policy and value model (decays linearly)")
    a("--max-new-tokens", type=int, help="longest response")
    a("--temperature", type=float, help="sampling temperature")
    a("--top-k", type=int, help="sample from the k likeliest tokens (0: all)")
    a("--top-p", type=float, help="nucleus sampling mass")
    a("--max-prompt-length", type=int, help="prompt tokens kept (the end)")
    a("--chat-template", choices=["auto", "none"], help="auto: use the tokenizer's template")
    a("--kl-coef", type=float, help="β of the per-token KL penalty (start value if adaptive)")
    a("--kl-target", type=float, help="adaptive β aiming at this KL per response (0: fixed)")
    a("--kl-horizon", type=int, help="samples over which adaptive β closes its error")
    a("--kl-estimator", choices=["k1", "k3"], help="per-token KL estimate in the penalty")
    a("--gamma", type=float, help="discount")
    a("--lam", type=float, help="GAE λ")
    a("--cliprange", type=float, help="policy ratio clip ε")
    a("--cliprange-value", type=float, help="value clip around the rollout's values")
    a("--vf-coef", type=float, help="weight of the value loss")
    a("--missing-eos-penalty", type=float, help="subtracted from scores of unended responses")
    a("--reward-norm", choices=["running", "none"], help="normalise scores by running moments")
    a("--max-grad-norm", type=float, help="gradient clipping")
    a("--lora-r", type=int, help="train a LoRA adapter of this rank (0: full fine-tuning)")
    a("--lora-alpha", type=int, help="LoRA alpha")
    a("--value-model", choices=VALUE_MODELS,
      help="the critic: a copy of the policy's body (separate) or a head on the policy's "
           "last hidden state (shared: one forward, value gradients reach the policy)")  # fmt: skip
    a("--seed", type=int, help="seed of sampling, prompt order and initialisation")
    a("--log-every", type=int, help="steps between metrics lines")
    a("--save-every", type=int, help="steps between checkpoints (0: only at the end)")
    a("--sample-every", type=int, help="steps between sample tables in the stream (0: none)")
    a("--samples-shown", type=int, help="prompts and responses per sample table")
    a("--precision", choices=["auto", "fp32", "bf16"], help="auto: bf16 on GPUs")
    a("--resume", action="store_true", help="continue from the latest checkpoint")
    return parser


def options_of(argv: list[str]) -> argparse.Namespace:
    from training.ml.cli_options import options_merge

    parser = _parser()
    args = parser.parse_args(argv)
    extra = {"prompts": None, "out": None, "resume": False}
    return options_merge(
        parser, args, DEFAULTS, extra=extra, required=("reward_model", "prompts", "out"),
        lists=("prompts",),
    )  # fmt: skip


def _prompt_batches(count: int, batch: int, seed: int):
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


def train(o: argparse.Namespace) -> dict:
    import torch
    from transformers import get_linear_schedule_with_warmup

    from training.ml.checkpoints import checkpoint_latest, checkpoint_load, checkpoint_save
    from training.ml.distributed import parallel_start
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
    from training.ml.ppo_rollout import Sampling, logprobs_of, prompt_ids, rollout_fill, sample
    from training.ml.precision import autocast_for
    from training.ml.prompt_data import prompt_text, prompts_load
    from training.ml.reward_score import RewardScorer
    from training.ml.trl_runs import publish

    if o.value_model not in VALUE_MODELS:
        raise ValueError(f"value_model: one of {', '.join(VALUE_MODELS)}, got {o.value_model!r}")
    out = Path(o.out)
    par = parallel_start()
    if o.batch_size % par.world or o.mini_batch_size % par.world:
        raise ValueError(f"batch_size and mini_batch_size: must divide among {par.world} processes")
    local_batch, local_mini = o.batch_size // par.world, o.mini_batch_size // par.world
    if par.is_main:
        out.mkdir(parents=True, exist_ok=True)
    par.barrier()
    random.seed(o.seed)
    torch.manual_seed(o.seed)  # the same initial weights on every process
    device = par.device
    autocast, precision = autocast_for(device.type, o.precision)
    prompts = prompts_load(o.prompts)
    if par.is_main:  # a tiny policy's tokenizer is trained once and kept for the others
        policy, tokenizer, reference, value = models_of(o, prompts, device, out)
    par.barrier()
    if not par.is_main:
        policy, tokenizer, reference, value = models_of(o, prompts, device, out)
    scorer = RewardScorer(o.reward_model, device)
    chat = o.chat_template == "auto" and bool(getattr(tokenizer, "chat_template", None))
    ids = prompt_ids(tokenizer, prompts, o.max_prompt_length, chat)
    texts = [prompt_text(p) for p in prompts]
    how = Sampling(o.max_new_tokens, o.temperature, o.top_k, o.top_p)

    both = PolicyAndValue(policy, value)
    params = [p for p in both.parameters() if p.requires_grad]
    optimizer = adamw_for(params, o.lr)
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, o.steps)
    kl = KLController(o.kl_coef, o.kl_target or None, o.kl_horizon)
    moments = RunningMoments()
    step = 0
    log = MetricsLog(out) if par.is_main else None
    latest = checkpoint_latest(out) if o.resume else None
    if latest:
        state = checkpoint_load(latest, both, optimizer, scheduler)
        step, kl.value = state["step"], state["kl_coef"]
        moments.load_state_dict(state["moments"])  # (and the RNG: sampling continues)
        if par.world > 1:  # one saved RNG state: each process continues from its own seed
            torch.manual_seed(o.seed + 7919 * step + par.rank)
        if log:
            log.write(step, event="resumed", checkpoint=latest.name)
    elif par.world > 1:
        torch.manual_seed(o.seed + par.rank)  # each process samples its own responses
    model = par.wrap(both)  # DDP when there are several processes
    trained = sum(p.numel() for p in params)
    fused = optimizer.param_groups[0]["fused"]  # a resumed run keeps its checkpoint's kind
    if log:
        log.write(step, event="start", total_steps=o.steps, prompts=len(prompts),
                  device=str(device), processes=par.world, precision=precision,
                  chat_template=chat, trainable_parameters=trained, policy=o.policy,
                  reward_model=o.reward_model, value_model=o.value_model,
                  optimizer="fused AdamW" if fused else "AdamW")  # fmt: skip
    batches = _prompt_batches(len(prompts), o.batch_size, o.seed)
    for _ in range(step):  # the prompts a resumed run already used
        next(batches)
    started_run, steps_this_run = time.perf_counter(), 0

    def save() -> None:
        par.barrier()
        if par.is_main:
            state = {"step": step, "kl_coef": kl.value, "moments": moments.state_dict()}
            checkpoint_save(out, both, optimizer, scheduler, state)
        par.barrier()

    while step < o.steps:
        _, _, every = next(batches)
        chosen = every[par.rank :: par.world]  # this process's share of the batch
        t0 = time.perf_counter()
        with autocast():
            roll = sample(policy, tokenizer, [prompts[i] for i in chosen],
                          [ids[i] for i in chosen], how, device)  # fmt: skip
        t_gen = time.perf_counter() - t0
        both.eval()
        with autocast():
            rollout_fill(roll, both, reference, scorer, [texts[i] for i in chosen], how)
        raw = roll.scores
        penalised = raw - o.missing_eos_penalty * (~roll.ended).float()
        if o.reward_norm == "running":  # the same moments on every process: all scores
            moments.update(par.gather(penalised))
            scores = (penalised - moments.mean) / moments.std
        else:
            scores = penalised
        mask = roll.mask.float()
        rewards, kl_tokens = token_rewards(scores, roll.logprobs, roll.ref_logprobs, mask,
                                           kl.value, o.kl_estimator)  # fmt: skip
        advantages, returns = gae(rewards, roll.values, mask, o.gamma, o.lam)
        advantages = masked_whiten(advantages, mask)

        t1 = time.perf_counter()
        both.train()
        stats: dict[str, list[float]] = {}
        for _ in range(o.ppo_epochs):
            order = torch.randperm(local_batch, device=mask.device)
            for start in range(0, local_batch, local_mini):
                rows = order[start : start + local_mini]
                mb = roll.select(rows)
                args = (mb["query"], mb["query_mask"], mb["response"], mb["mask"])
                with autocast():
                    logits, new_values = model(*args, o.temperature)
                new_logprobs = logprobs_of(logits, mb["response"])
                m = mb["mask"].float()
                pg, pg_stats = policy_loss(new_logprobs, mb["logprobs"], advantages[rows], m,
                                           o.cliprange)  # fmt: skip
                vf, vf_stats = value_loss(new_values, mb["values"], returns[rows], m,
                                          o.cliprange_value)  # fmt: skip
                loss = pg + o.vf_coef * vf
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, o.max_grad_norm)
                optimizer.step()
                with torch.no_grad():
                    entropy = float(masked_mean(entropy_of(logits.detach()), m))
                measured = {**pg_stats, **vf_stats, "entropy": entropy}
                measured["policy_loss"] = float(pg.detach())
                measured["value_loss"] = float(vf.detach())
                for name, v in measured.items():
                    stats.setdefault(name, []).append(v)
        scheduler.step()
        t_train = time.perf_counter() - t1
        step += 1
        steps_this_run += 1
        kl_per_response = par.gather(kl_tokens.sum(1))  # the whole batch, every process
        mean_kl = float(kl_per_response.mean())
        kl.update(mean_kl, o.batch_size)
        elapsed = time.perf_counter() - started_run
        raw, lengths = par.gather(raw), par.gather(roll.mask.sum(1).float())
        ended = par.gather(roll.ended.float())
        stats = {name: par.sum([sum(v) / len(v)])[0] / par.world for name, v in stats.items()}
        if log and (step % o.log_every == 0 or step == o.steps):
            step_s = time.perf_counter() - t0
            log.write(
                step,
                reward_mean=float(raw.mean()),
                reward_std=float(raw.std()) if raw.numel() > 1 else 0.0,
                reward_minus_kl=float((raw - kl.value * kl_per_response).mean()),
                kl=mean_kl,
                kl_coef=kl.value,
                response_length=float(lengths.mean()),
                eos_rate=float(ended.mean()),
                **stats,
                lr=scheduler.get_last_lr()[0],
                generate_s=t_gen,
                score_s=roll.timings.get("score_s"),
                train_s=t_train,
                samples_per_s=o.batch_size / step_s,
                progress=step / o.steps,
                eta_s=(o.steps - step) * elapsed / steps_this_run,
                total_steps=o.steps,
            )
        if log and o.sample_every and (step % o.sample_every == 0 or step == 1):
            shown = [
                {"prompt": texts[i], "response": roll.texts[n], "score": float(raw[n])}
                for n, i in enumerate(chosen[: o.samples_shown])
            ]
            log.write(step, event="samples", samples=shown)
        if o.save_every and step % o.save_every == 0:
            save()
    save()
    if not par.is_main:
        par.close()
        return {}
    final = publish(policy, tokenizer, out)
    summary = {
        "policy": o.policy,
        "reward_model": o.reward_model,
        "steps": step,
        "device": str(device),
        "processes": par.world,
        "precision": precision,
        "options": {k: v for k, v in vars(o).items() if k != "command"},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    log.write(step, event="finished", model=str(final))
    log.close()
    par.close()
    return summary


def main(argv: list[str] | None = None) -> int:
    from training.ml.cli_options import cli_run

    def run(o):
        summary = train(o)  # empty in the processes other than the main one
        return {"model": str(Path(o.out) / "model")} if summary else None

    return cli_run(argv, options_of, {"train": run})


if __name__ == "__main__":
    sys.exit(main())
