"""What a run of each kind takes: its hyper-parameters (defaults from the trainer itself,
types checked field by field) and the trainer's data files from a snapshot.

The defaults are read from the trainer module (``training.ml.reward.DEFAULTS``), which
imports no torch at module level, so the web tier can show and check them without the
training stack installed.
"""

from django.core.files.storage import default_storage

from common.jobs import JobState
from training.datasets.models import DatasetSnapshot
from training.ml.dpo import DEFAULTS as DPO_DEFAULTS
from training.ml.dpo import LOSS_TYPES as DPO_LOSS_TYPES
from training.ml.grpo import DEFAULTS as GRPO_DEFAULTS
from training.ml.grpo import ESTIMATORS as GRPO_ESTIMATORS
from training.ml.policy_eval import DEFAULTS as EVAL_DEFAULTS
from training.ml.ppo import DEFAULTS as PPO_DEFAULTS
from training.ml.ppo import VALUE_MODELS as PPO_VALUE_MODELS
from training.ml.reward import DEFAULTS as REWARD_DEFAULTS
from training.ml.sft import DEFAULTS as SFT_DEFAULTS
from training.runs.models import RunKind

# Options the form and API may set, per kind (the rest of the trainer's options are the
# launcher's business: data, output folder, logging).
TUNABLE = {
    RunKind.REWARD: (
        "strategy",
        "pooling",
        "top_layers",
        "lora_r",
        "lora_alpha",
        "dropout",
        "epochs",
        "batch_size",
        "lr",
        "head_lr",
        "weight_decay",
        "warmup",
        "max_length",
        "seed",
        "loss",
        "log_every",
        "save_every",
        "max_steps",
        "precision",
        "gpus",
        "distributed",
    ),
    RunKind.PPO: (
        "steps",
        "batch_size",
        "mini_batch_size",
        "ppo_epochs",
        "lr",
        "max_new_tokens",
        "temperature",
        "top_k",
        "top_p",
        "max_prompt_length",
        "chat_template",
        "kl_coef",
        "kl_target",
        "kl_estimator",
        "gamma",
        "lam",
        "cliprange",
        "cliprange_value",
        "vf_coef",
        "missing_eos_penalty",
        "reward_norm",
        "max_grad_norm",
        "lora_r",
        "lora_alpha",
        "value_model",
        "seed",
        "log_every",
        "save_every",
        "sample_every",
        "precision",
        "gpus",
        "distributed",
    ),
}
TUNABLE[RunKind.SFT] = (
    "epochs", "batch_size", "lr", "max_length", "warmup", "weight_decay", "seed", "log_every",
    "save_every", "max_steps", "lora_r", "lora_alpha", "precision", "gpus", "distributed",
)  # fmt: skip
TUNABLE[RunKind.DPO] = ("beta", "loss_type", *TUNABLE[RunKind.SFT])
TUNABLE[RunKind.GRPO] = (
    "estimator", "num_generations", "max_new_tokens", "temperature", "top_p", "beta",
    "sample_every", *(k for k in TUNABLE[RunKind.SFT] if k != "max_length"),
)  # fmt: skip
TUNABLE[RunKind.EVAL] = (
    "max_new_tokens", "temperature", "top_p", "batch_size", "max_prompts", "max_prompt_length",
    "chat_template", "seed", "samples_shown", "bootstrap",
)  # fmt: skip
TRAINER_DEFAULTS = {
    RunKind.REWARD: REWARD_DEFAULTS,
    RunKind.PPO: PPO_DEFAULTS,
    RunKind.SFT: SFT_DEFAULTS,
    RunKind.DPO: DPO_DEFAULTS,
    RunKind.GRPO: GRPO_DEFAULTS,
    RunKind.EVAL: EVAL_DEFAULTS,
}
# Options that must be above zero, per kind.
POSITIVE = {
    RunKind.REWARD: ("epochs", "batch_size", "lr", "max_length", "log_every", "gpus"),
    RunKind.PPO: ("steps", "batch_size", "mini_batch_size", "ppo_epochs", "lr",
                  "max_new_tokens", "temperature", "log_every", "gpus"),
    RunKind.SFT: ("epochs", "batch_size", "lr", "max_length", "log_every", "gpus"),
    RunKind.DPO: ("beta", "epochs", "batch_size", "lr", "max_length", "log_every", "gpus"),
    RunKind.GRPO: ("num_generations", "max_new_tokens", "temperature", "epochs", "batch_size",
                   "lr", "log_every", "gpus"),
    RunKind.EVAL: ("max_new_tokens", "batch_size", "max_prompt_length", "bootstrap"),
}  # fmt: skip
# Options of the launch rather than the trainer: ``gpus`` > 1 starts the trainer under
# ``accelerate launch`` with that many processes and the config ``distributed`` names
# (see run_launcher.trainer_command).
LAUNCH_DEFAULTS = {"gpus": 1, "distributed": "ddp"}
# Kinds whose trainer is TRL's (transformers' Trainer), which shards under DeepSpeed
# ZeRO-3 and FSDP; PrefLab's own trainers (reward model, PPO) are data parallel (DDP).
SHARDED_KINDS = (RunKind.SFT, RunKind.DPO, RunKind.GRPO)
CHOICES = {
    "strategy": ("full", "layerwise", "feature", "lora"),
    "pooling": ("mean", "model"),
    "loss": ("kwise", "plackett_luce"),
    "precision": ("auto", "fp32", "bf16"),
    "chat_template": ("auto", "none"),
    "kl_estimator": ("k1", "k3"),
    "reward_norm": ("running", "none"),
    "loss_type": DPO_LOSS_TYPES,
    "distributed": ("ddp", "zero3", "fsdp"),
    "estimator": GRPO_ESTIMATORS,
    "value_model": PPO_VALUE_MODELS,
}
TRAINER_MODULE = {
    RunKind.REWARD: "training.ml.reward",
    RunKind.PPO: "training.ml.ppo",
    RunKind.SFT: "training.ml.sft",
    RunKind.DPO: "training.ml.dpo",
    RunKind.GRPO: "training.ml.grpo",
    RunKind.EVAL: "training.ml.policy_eval",
}
# The module's command: trainers ``train``, the evaluation ``evaluate``.
COMMAND = {RunKind.EVAL: "evaluate"}


def run_defaults(kind: str) -> dict:
    if kind not in TUNABLE:
        raise ValueError(f"kind: {kind!r} runs are not available yet")
    known = {**TRAINER_DEFAULTS[kind], **LAUNCH_DEFAULTS}
    return {k: known[k] for k in TUNABLE[kind]}


def trainer_options(hyperparameters: dict) -> dict:
    """What goes into the trainer's config file: all but the launch options."""
    return {k: v for k, v in hyperparameters.items() if k not in LAUNCH_DEFAULTS}


def hyperparameters_check(kind: str, given: dict) -> dict:
    """The defaults overlaid with ``given``; a ValueError names the first bad field."""
    defaults = run_defaults(kind)
    if not isinstance(given, dict):
        raise ValueError("hyperparameters: expected an object")
    out = dict(defaults)
    for key, value in given.items():
        if key not in defaults:
            raise ValueError(f"hyperparameters.{key}: not an option of {kind} runs")
        default = defaults[key]
        if value is None:
            if default is not None:
                raise ValueError(f"hyperparameters.{key}: may not be empty")
            out[key] = None
            continue
        if key in CHOICES:
            if value not in CHOICES[key]:
                raise ValueError(f"hyperparameters.{key}: one of {', '.join(CHOICES[key])}")
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"hyperparameters.{key}: expected true or false")
        elif isinstance(value, bool):
            raise ValueError(f"hyperparameters.{key}: expected a number")
        elif isinstance(default, int) and key not in ("epochs",):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"hyperparameters.{key}: expected a whole number >= 0")
        elif not isinstance(value, int | float) or value < 0:
            raise ValueError(f"hyperparameters.{key}: expected a number >= 0")
        out[key] = value
    for key in POSITIVE[kind]:
        if not out[key]:
            raise ValueError(f"hyperparameters.{key}: must be above 0")
    if out.get("distributed", "ddp") != "ddp":
        if kind not in SHARDED_KINDS:
            raise ValueError(
                f"hyperparameters.distributed: {kind} runs are data parallel (ddp); ZeRO-3 and "
                "FSDP shard the TRL-backed runs (sft, dpo, grpo)"
            )
        if out.get("lora_r"):
            raise ValueError(
                "hyperparameters.distributed: LoRA runs use ddp (the adapter is small)"
            )
        if int(out.get("gpus") or 1) < 2:
            raise ValueError(
                f"hyperparameters.distributed: {out['distributed']} shards over several GPUs; "
                "set gpus above 1 (one GPU trains unsharded)"
            )
    if kind == RunKind.GRPO:
        if out["num_generations"] < 2:
            raise ValueError("hyperparameters.num_generations: at least 2 responses per prompt")
        if out["batch_size"] % out["num_generations"]:
            raise ValueError("hyperparameters.batch_size: counts responses, so it must be a "
                             "multiple of num_generations")  # fmt: skip
    if kind == RunKind.PPO:
        if out["batch_size"] % out["mini_batch_size"]:
            raise ValueError("hyperparameters.mini_batch_size: must divide batch_size")
        if out["mini_batch_size"] % out["gpus"]:
            raise ValueError("hyperparameters.gpus: must divide mini_batch_size (and batch_size)")
    return out


def _file(snapshot: DatasetSnapshot, fmt: str, split: str) -> str | None:
    found = snapshot.files.filter(format=fmt, split=split, file_type="jsonl").first()
    return default_storage.path(f"{snapshot.path}/{found.name}") if found else None


def reward_data(snapshot: DatasetSnapshot) -> dict:
    """The snapshot's listwise JSONL (pairwise when it has no listwise) by role: train
    data, and the validation split (or test) to evaluate on."""
    if snapshot.state != JobState.SUCCEEDED:
        raise ValueError(f"snapshot: snapshot {snapshot.number} has not finished")
    for fmt in ("listwise", "pairwise"):
        train = _file(snapshot, fmt, "train")
        if train:
            evaluate = _file(snapshot, fmt, "validation") or _file(snapshot, fmt, "test")
            return {"data": [train], "eval_data": [evaluate] if evaluate else []}
    raise ValueError(
        f"snapshot: snapshot {snapshot.number} has no listwise or pairwise JSONL train split"
    )


def prompt_data(snapshot: DatasetSnapshot) -> dict:
    """The prompts a policy run answers: the snapshot's train split of its sft file, or
    of its listwise or pairwise file (each row has a ``prompt``)."""
    if snapshot.state != JobState.SUCCEEDED:
        raise ValueError(f"snapshot: snapshot {snapshot.number} has not finished")
    for fmt in ("sft", "listwise", "pairwise"):
        train = _file(snapshot, fmt, "train")
        if train:
            return {"prompts": [train]}
    raise ValueError(f"snapshot: snapshot {snapshot.number} has no JSONL train split with prompts")


def demonstration_data(snapshot: DatasetSnapshot) -> dict:
    """An SFT run's files: the snapshot's sft train split, and its validation (or test)
    split for held-out perplexity."""
    if snapshot.state != JobState.SUCCEEDED:
        raise ValueError(f"snapshot: snapshot {snapshot.number} has not finished")
    train = _file(snapshot, "sft", "train")
    if not train:
        raise ValueError(f"snapshot: snapshot {snapshot.number} has no sft JSONL train split")
    held = _file(snapshot, "sft", "validation") or _file(snapshot, "sft", "test")
    return {"data": [train], "eval_data": [held] if held else []}


def evaluation_data(snapshot: DatasetSnapshot) -> dict:
    """An evaluation's held-out files: the prompts of the snapshot's validation split
    (else test) of its sft, listwise or pairwise file, and the held-out sft split as
    written demonstrations. Training prompts are never used: a policy is judged on
    prompts it did not train on."""
    if snapshot.state != JobState.SUCCEEDED:
        raise ValueError(f"snapshot: snapshot {snapshot.number} has not finished")
    data = {}
    for split in ("validation", "test"):
        demonstrations = _file(snapshot, "sft", split)
        if demonstrations:
            data["demonstrations"] = [demonstrations]
        for fmt in ("listwise", "pairwise"):
            prompts = _file(snapshot, fmt, split)
            if prompts:
                data["prompts"] = [prompts]
                break
        if data:
            return data
    raise ValueError(
        f"snapshot: snapshot {snapshot.number} has no validation or test split to evaluate on "
        "(export one with a held-out share)"
    )
