"""The TRL side of ``benchmarks/ppo.py``: TRL 1.12.0's ``trl.experimental.ppo.PPOTrainer``
on the policy, reward model and prompt token ids that the benchmark built, timed step by
step. Runs in the benchmark's own virtual environment (``.bench/trl112-venv``), so it
imports nothing from PrefLab or Django.

TRL does not time its phases, so this script wraps three of the trainer module's own
functions (looked up by name at call time inside ``PPOTrainer.train``):
``batch_generation`` (sampling: generation seconds), ``get_reward`` on the reward model
(scoring seconds) and ``forward`` on the policy-and-value wrapper (its first call in a
step starts the PPO epochs: training seconds run from there to the step's end); and its
``gc.collect()`` calls (two full collections a step, in its rollout and at its end). Each
step end (a callback) appends one JSON line to ``--out``/steps.jsonl.
"""

import argparse
import gc
import json
import platform
import sys
import time
from pathlib import Path
from types import SimpleNamespace


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--policy", required=True, help="causal LM folder (with its tokenizer)")
    p.add_argument("--reward-model", required=True, help="sequence classifier folder")
    p.add_argument("--prompt-ids", required=True, help="JSONL rows with 'input_ids'")
    p.add_argument("--out", required=True, help="folder for steps.jsonl and TRL's output")
    p.add_argument("--steps", type=int, required=True, help="PPO steps (rollout batches)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--mini-batch-size", type=int, default=8)
    p.add_argument("--ppo-epochs", type=int, default=4)
    p.add_argument("--max-new-tokens", type=int, default=48)
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--kl-coef", type=float, default=0.05)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--missing-eos-penalty", type=float, default=1.0)
    p.add_argument("--optim", default="adamw_torch", help="the Trainer's optimizer name")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


class Clock:
    """Per-step seconds of generation, scoring and training, and the step's end."""

    def __init__(self, out: Path):
        self.path = out / "steps.jsonl"
        self.path.write_text("")
        self.generate_s = self.score_s = self.gc_s = 0.0
        self.train_started: float | None = None
        self.last_end = time.perf_counter()

    def step_end(self, step: int, batch_size: int) -> None:
        now = time.perf_counter()
        row = {
            "step": step,
            "time": time.time(),
            "step_s": now - self.last_end,
            "generate_s": self.generate_s,
            "score_s": self.score_s,
            "train_s": now - self.train_started if self.train_started else None,
            "gc_s": self.gc_s,
            "samples_per_s": batch_size / (now - self.last_end),
        }
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        self.generate_s = self.score_s = self.gc_s = 0.0
        self.train_started = None
        self.last_end = time.perf_counter()


def instrument(clock: Clock, module, reward_model, wrapper_type) -> None:
    """Wrap the trainer module's generation, reward and forward helpers with timers."""
    generate, get_reward, forward = module.batch_generation, module.get_reward, module.forward

    def timed_generation(*args, **kwargs):
        started = time.perf_counter()
        try:
            return generate(*args, **kwargs)
        finally:
            clock.generate_s += time.perf_counter() - started

    def timed_reward(model, *args, **kwargs):
        started = time.perf_counter()
        try:
            return get_reward(model, *args, **kwargs)
        finally:
            if model is reward_model:
                clock.score_s += time.perf_counter() - started

    def timed_forward(model, *args, **kwargs):
        if isinstance(model, wrapper_type) and clock.train_started is None:
            clock.train_started = time.perf_counter()
        return forward(model, *args, **kwargs)

    def timed_collect(*args):
        started = time.perf_counter()
        try:
            return gc.collect(*args)
        finally:
            clock.gc_s += time.perf_counter() - started

    module.batch_generation, module.get_reward = timed_generation, timed_reward
    module.forward = timed_forward
    module.gc = SimpleNamespace(collect=timed_collect)  # the trainer calls gc.collect()


def main(argv=None) -> int:
    args = parse_args(argv)
    import datasets
    import torch
    import transformers
    import trl
    from transformers import (
        AutoModelForCausalLM,
        AutoModelForSequenceClassification,
        AutoTokenizer,
        TrainerCallback,
    )
    from trl.experimental.ppo import PPOConfig, PPOTrainer
    from trl.experimental.ppo import ppo_trainer as module

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(args.policy, padding_side="left")
    policy = AutoModelForCausalLM.from_pretrained(args.policy)
    # The critic as TRL's examples build it: a sequence classifier over the policy's body
    # (a fresh one-output head), the same body PrefLab's value model copies.
    value = AutoModelForSequenceClassification.from_pretrained(args.policy, num_labels=1)
    reward = AutoModelForSequenceClassification.from_pretrained(args.reward_model, num_labels=1)
    for model in (value, reward):
        model.config.pad_token_id = tokenizer.pad_token_id
    rows = [json.loads(line) for line in Path(args.prompt_ids).read_text().splitlines()]
    train = datasets.Dataset.from_list([{"input_ids": r["input_ids"]} for r in rows])
    config = PPOConfig(
        output_dir=str(out / "trl"), per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=1, num_mini_batches=args.batch_size // args.mini_batch_size,
        num_ppo_epochs=args.ppo_epochs, total_episodes=args.steps * args.batch_size,
        local_rollout_forward_batch_size=args.batch_size, response_length=args.max_new_tokens,
        temperature=args.temperature, kl_coef=args.kl_coef, kl_estimator="k1",
        missing_eos_penalty=args.missing_eos_penalty, stop_token="eos",
        learning_rate=args.lr, lr_scheduler_type="linear", warmup_steps=0,
        optim=args.optim, weight_decay=0.01, adam_epsilon=1e-5,
        bf16=False, fp16=False, gradient_checkpointing=False, use_cpu=not torch.cuda.is_available(),
        num_sample_generations=0, report_to="none", save_strategy="no", logging_steps=1,
        disable_tqdm=True, seed=args.seed, dataloader_num_workers=0,
    )  # fmt: skip
    clock = Clock(out)

    class StepClock(TrainerCallback):
        def on_step_end(self, _args, state, control, **kwargs):
            clock.step_end(state.global_step, args.batch_size)

    trainer = PPOTrainer(
        args=config, processing_class=tokenizer, model=policy, ref_model=None,
        reward_model=reward, train_dataset=train, value_model=value,
        eval_dataset=train.select(range(min(len(train), args.batch_size))),
        callbacks=[StepClock()],
    )  # fmt: skip
    instrument(clock, module, trainer.reward_model, module.PolicyAndValueWrapper)
    started = time.perf_counter()
    clock.last_end = started
    trainer.train()
    trained = [p for p in trainer.model.parameters() if p.requires_grad]
    facts = {
        "train_s": time.perf_counter() - started,
        "trl": trl.__version__,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "trainable_parameters": sum(p.numel() for p in trained),
    }
    (out / "facts.json").write_text(json.dumps(facts, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
