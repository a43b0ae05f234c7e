"""Policy optimisation against a registered reward model by group-relative sampling,
through TRL's GRPOTrainer (or its RLOOTrainer).

    python -m training.ml.grpo train --policy PATH|tiny --reward-model DIR --prompts FILE
        --out DIR [--estimator grpo|rloo] [--num-generations G] [--max-new-tokens N]
        [--temperature T] [--beta B] [--batch-size B] [--lr X] [--config run.yaml] [--resume]

FILE holds prompts (a snapshot's files, TRL-style JSONL, or .txt with one per line). Each
step samples G responses to each of batch-size / G prompts (--batch-size counts responses,
so it must be a multiple of G) and scores them with the reward model, which may use
another tokenizer: responses are decoded and re-encoded. GRPO takes a response's
advantage as its score against its group's mean, in units of the group's deviation; RLOO
against the mean of the other responses to the same prompt, with the KL penalty in the
reward. ``--beta`` weighs the KL to the frozen reference: the starting policy, or the base
with the LoRA adapter disabled. Prompts are conversations through the policy's chat
template when its tokenizer has one, else text (conversations in HH's turn style, the
assistant's turn next). ``--max-length`` is not used: TRL keeps prompts whole and stops
responses at ``--max-new-tokens``.

TRL trains; DIR/metrics.jsonl gets the mean reward and its deviation, KL per token,
entropy, clip fractions, response length and truncation rate, and every
``--sample-every`` steps an event with sample prompts, responses and scores; checkpoints
go under DIR/checkpoints/ (resumable), a tiny or GGUF starting policy under DIR/start/
(TRL reloads its reference from a folder), and the final policy in DIR/model/.
"""

import argparse
import sys
import uuid
from pathlib import Path

from training.ml.configs.base import config_defaults
from training.ml.configs.grpo import ESTIMATORS, GRPORunConfig  # noqa: F401 - the web tier reads them here
from training.ml.trl_runs import (
    finish,
    lora_config,
    main_log,
    resume_point,
    stream_callback,
    trainer_arguments,
    trl_options,
)

# The trainer's own defaults (the web tier shows and checks them): every option but the
# files of a run.
DEFAULTS = config_defaults(GRPORunConfig, without=("prompts", "out", "resume"))
METRIC_NAMES = {
    "loss": "loss",
    "learning_rate": "lr",
    "grad_norm": "grad_norm",
    "reward": "reward_mean",
    "reward_std": "reward_std",
    "frac_reward_zero_std": "flat_group_rate",  # groups whose responses all scored the same
    "kl": "kl",  # per token, to the reference
    "entropy": "entropy",
    "clip_ratio/region_mean": "policy_clipfrac",
    "clip_ratio/low_mean": "clipfrac_low",
    "clip_ratio/high_mean": "clipfrac_high",
    "completions/mean_length": "response_length",
    "completions/clipped_ratio": "truncated_rate",  # stopped by --max-new-tokens, not EOS
    "step_time": "step_s",
}


def options_of(argv: list[str]) -> argparse.Namespace:
    return trl_options("python -m training.ml.grpo", __doc__, "optimise a policy against a "
                       "reward model", GRPORunConfig, argv)  # fmt: skip


def prompt_rows(prompts: list, chat: bool) -> list[dict]:
    """Dataset rows: ``prompt`` as the policy reads it (a conversation for a chat template,
    else text) and ``prompt_text`` as the reward model reads it."""
    from training.ml.prompt_data import prompt_text

    rows = []
    for prompt in prompts:
        text = prompt_text(prompt)
        if chat:
            policy_prompt = (
                prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
            )
        else:
            policy_prompt = text + ("\n\nAssistant:" if isinstance(prompt, list) else "")
        rows.append({"prompt": policy_prompt, "prompt_text": text})
    return rows


def _start(o, texts: list[str], out: Path):
    """(model, tokenizer) to train. With a KL term TRL loads the reference again from the
    model's folder, so a tiny policy (built here) or a GGUF file (dequantised) is written
    to OUT/start first and the run starts from there; a resumed run finds it."""
    from training.ml.policy import TINY, policy_save
    from training.ml.trl_runs import is_main_process, policy_start, wait_for_everyone

    if o.policy != TINY and not o.policy.endswith(".gguf"):
        return policy_start(o.policy, texts, o.seed)
    start = out / "start"
    if is_main_process() and not start.exists():  # the others wait, then read it
        model, tokenizer = policy_start(o.policy, texts, o.seed)
        tmp = out / f".tmp-start-{uuid.uuid4().hex}"
        policy_save(model, tokenizer, tmp)
        tmp.rename(start)
    wait_for_everyone()
    return policy_start(str(start), texts, o.seed)


def reward_function(scorer, log, o: argparse.Namespace):
    """The reward function TRL calls with each generation batch: the reward model's score
    of every (prompt, response), and now and then a sample table in the stream (the first
    response to each prompt first)."""
    from training.ml.preference_data import _text

    def reward_model(prompts, completions, prompt_text, trainer_state, **kwargs) -> list[float]:
        scores = scorer.score_pairs(list(zip(prompt_text, completions, strict=True)))
        step = trainer_state.global_step + 1  # the step these responses train
        due = o.sample_every and (step == 1 or step % o.sample_every == 0)
        if due and log:  # (the main process's own responses)
            order = sorted(range(len(scores)), key=lambda n: (n % o.num_generations, n))
            shown = [
                {"prompt": prompt_text[n], "score": scores[n],
                 "response": _text(completions[n], "response", completion=True)}
                for n in order[: o.samples_shown]
            ]  # fmt: skip
            log.write(step, event="samples", samples=shown)
        return scores

    return reward_model


def _trainer_classes(estimator: str):
    if estimator == "rloo":
        from trl import RLOOConfig, RLOOTrainer

        return RLOOConfig, RLOOTrainer
    from trl import GRPOConfig, GRPOTrainer

    return GRPOConfig, GRPOTrainer


def _check(o, prompts: list) -> None:
    """Enough prompts for a step (the options themselves are GRPORunConfig's to check)."""
    if len(prompts) < o.batch_size // o.num_generations:
        raise ValueError(f"{len(prompts)} prompts: a step takes batch-size / num-generations "
                         f"= {o.batch_size // o.num_generations}")  # fmt: skip


def _trainer_config(Config, arguments: dict, o: argparse.Namespace):
    """TRL's GRPOConfig or RLOOConfig of a run: the shared arguments and the sampling."""
    return Config(
        **arguments,
        num_generations=o.num_generations,
        max_completion_length=o.max_new_tokens,
        temperature=o.temperature,
        top_p=o.top_p,
        beta=o.beta,
        disable_dropout=True,  # dropout would make the reference and the sampler disagree
        use_vllm=False,  # transformers' generate: no vLLM server or colocated engine
    )


def train(o: argparse.Namespace) -> dict:
    import datasets
    import torch

    from training.ml.prompt_data import prompt_text, prompts_load
    from training.ml.reward_score import RewardScorer

    out = Path(o.out)
    prompts = prompts_load(o.prompts)
    _check(o, prompts)
    out.mkdir(parents=True, exist_ok=True)  # (every process: exist_ok)
    torch.manual_seed(o.seed)
    model, tokenizer = _start(o, [prompt_text(p) for p in prompts], out)
    chat = bool(getattr(tokenizer, "chat_template", None))
    rows = prompt_rows(prompts, chat)
    log = main_log(out)  # None in the other processes of a launch
    scorer = RewardScorer(o.reward_model)
    arguments = trainer_arguments(o, out, len(rows) * o.num_generations, False)
    arguments.pop("max_length")  # no such option: TRL keeps prompts whole
    Config, Trainer = _trainer_classes(o.estimator)
    trainer = Trainer(
        model=model,
        reward_funcs=reward_function(scorer, log, o),
        args=_trainer_config(Config, arguments, o),
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora_config(o),
        callbacks=[stream_callback(log, METRIC_NAMES)] if log else [],
    )
    result = trainer.train(resume_from_checkpoint=resume_point(out, o.resume, log))
    last = next((h for h in reversed(trainer.state.log_history) if "reward" in h), {})
    summary = {
        "policy": o.policy,
        "reward_model": o.reward_model,
        "estimator": o.estimator,
        "steps": result.global_step,
        "train_loss": result.training_loss,
        "prompts": len(rows),
        "chat_template": chat,
        "last_step": {
            ours: last[theirs] for theirs, ours in METRIC_NAMES.items() if theirs in last
        },
        "options": {k: v for k, v in vars(o).items() if k != "command"},
    }
    finish(trainer, tokenizer, out, log, summary, result.global_step)
    return summary


def main(argv: list[str] | None = None) -> int:
    from training.ml.trl_runs import trl_main

    return trl_main(argv, options_of, train, "last_step")


if __name__ == "__main__":
    sys.exit(main())
