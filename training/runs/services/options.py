"""What a run of each kind takes: its hyper-parameters, read from the kind's typed config
(``training.runs.kinds``: defaults, types, choices and bounds), checked as the trainer's
command line checks them, and the trainer's data files from a snapshot.

The configs import no torch, so the web tier can show and check them without the
training stack installed.
"""

from training.ml.configs import ConfigError, config_check
from training.ml.configs.base import value_check
from training.runs.kinds import (
    LAUNCH_OPTIONS,
    RUN_KINDS,
    demonstration_data,
    evaluation_data,
    prompt_data,
    reward_data,
    run_kind,
)

__all__ = [
    "COMMAND",
    "TRAINER_MODULE",
    "demonstration_data",
    "evaluation_data",
    "hyperparameters_check",
    "prompt_data",
    "reward_data",
    "run_defaults",
    "trainer_options",
]

# The trainer module and its command per kind (the launcher's ``python -m`` line).
TRAINER_MODULE = {kind: spec.module for kind, spec in RUN_KINDS.items()}
COMMAND = {kind: spec.command for kind, spec in RUN_KINDS.items() if spec.command != "train"}
LAUNCH_NAMES = tuple(f.name for f in LAUNCH_OPTIONS)


def run_defaults(kind: str) -> dict:
    """The default of every option a run of ``kind`` may set, in its config's order."""
    return {f.name: f.default for f in run_kind(kind).options()}


def trainer_options(hyperparameters: dict) -> dict:
    """What goes into the trainer's config file: all but the launch options."""
    return {k: v for k, v in hyperparameters.items() if k not in LAUNCH_NAMES}


def hyperparameters_check(kind: str, given: dict) -> dict:
    """The defaults overlaid with ``given``, each value checked against the kind's config
    as the trainer's command line checks it (type, choices, bounds, then the rules
    across fields); a ValueError names the first bad field (``hyperparameters.<name>``)."""
    spec = run_kind(kind)
    if not isinstance(given, dict):
        raise ValueError("hyperparameters: expected an object")
    by_name = {f.name: f for f in spec.options()}
    out = {name: f.default for name, f in by_name.items()}
    try:
        for key, value in given.items():
            if key not in by_name:
                raise ConfigError(key, f"not an option of {kind} runs")
            checked = _json_check(by_name[key], value)
            # A whole number given for a float option (``"epochs": 2``) is kept as given.
            keep = by_name[key].type is float and type(value) in (int, float)
            out[key] = value if keep else checked
        config_check(spec.config, trainer_options(out))
    except ConfigError as exc:
        raise ValueError(f"hyperparameters.{exc.name}: {exc.message}") from None
    if kind != "eval":
        _launch_check(spec, out)
    return out


def _json_check(f, value):
    """As the trainer checks a value, but a JSON body says its numbers as numbers: a
    number as text, or a fraction for a whole number, is refused (the API's schema)."""
    if f.type in (int, float) and value is not None:
        whole = isinstance(value, int) and not isinstance(value, bool)
        if f.type is int and not whole:
            raise ConfigError(f.name, f"expected a whole number, got {value!r}")
        if not (whole or isinstance(value, float)):
            raise ConfigError(f.name, f"expected a number, got {value!r}")
    return value_check(f, value)


def _launch_check(spec, out: dict) -> None:
    if out["distributed"] != "ddp":
        if not spec.sharded:
            raise ValueError(
                f"hyperparameters.distributed: {spec.kind} runs are data parallel (ddp); "
                "ZeRO-3 and FSDP shard the TRL-backed runs (sft, dpo, grpo)"
            )
        if out.get("lora_r"):
            raise ValueError(
                "hyperparameters.distributed: LoRA runs use ddp (the adapter is small)"
            )
        if out["gpus"] < 2:
            raise ValueError(
                f"hyperparameters.distributed: {out['distributed']} shards over several GPUs; "
                "set gpus above 1 (one GPU trains unsharded)"
            )
    if spec.kind == "ppo" and out["mini_batch_size"] % out["gpus"]:
        raise ValueError("hyperparameters.gpus: must divide mini_batch_size (and batch_size)")
