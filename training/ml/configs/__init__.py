"""One typed config per trainer: each field's default, help, unit or reason, choices
and bounds, from which the trainer's command line, its YAML files and (in the platform)
the API's checks, the launch forms and the run page are derived.

No torch and no Django here: the web process imports these.

    >>> from training.ml.configs import RewardRunConfig, config_fields
    >>> next(f for f in config_fields(RewardRunConfig) if f.name == "lr").bounds()
    '> 0'
"""

from training.ml.configs.base import (
    ConfigError,
    ConfigField,
    config_check,
    config_defaults,
    config_field,
    config_fields,
    config_load,
)
from training.ml.configs.dpo import DPORunConfig
from training.ml.configs.grpo import GRPORunConfig
from training.ml.configs.policy_eval import EvalRunConfig
from training.ml.configs.ppo import PPORunConfig
from training.ml.configs.reward import RewardRunConfig
from training.ml.configs.sft import SFTRunConfig

# Each trainer module (``python -m training.ml.<name>``) and its config.
TRAINER_CONFIGS = {
    "reward": RewardRunConfig,
    "ppo": PPORunConfig,
    "sft": SFTRunConfig,
    "dpo": DPORunConfig,
    "grpo": GRPORunConfig,
    "policy_eval": EvalRunConfig,
}

__all__ = [
    "TRAINER_CONFIGS",
    "ConfigError",
    "ConfigField",
    "DPORunConfig",
    "EvalRunConfig",
    "GRPORunConfig",
    "PPORunConfig",
    "RewardRunConfig",
    "SFTRunConfig",
    "config_check",
    "config_defaults",
    "config_field",
    "config_fields",
    "config_load",
]
