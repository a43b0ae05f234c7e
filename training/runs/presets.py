"""What the launch page offers beside the run-kind registry (``training.runs.kinds``): a
line per kind for the kind picker, and named presets, each a dict of config values per
kind that fills the kind's form (``?preset=quick``), so a first run needs no tuning.

A preset only names options the kind's config has; what it leaves out keeps the config's
default. The values stay inside each option's bounds (tests/training check both).
"""

from dataclasses import dataclass, field

from training.runs.kinds import RUN_KINDS
from training.runs.models import RunKind

# What each kind trains, and on which of the snapshot's files (the picker's one line).
KIND_LINES = {
    RunKind.REWARD: "Trains a reward model that scores responses, on the snapshot's "
    "ranked (listwise or pairwise) preferences.",
    RunKind.SFT: "Fine-tunes a policy on the snapshot's sft demonstrations (best and "
    "rewritten responses).",
    RunKind.DPO: "Trains a policy directly on the snapshot's preference pairs, no reward "
    "model needed.",
    RunKind.PPO: "Trains a policy on the snapshot's prompts, scored by a registered reward "
    "model (PPO with a KL penalty).",
    RunKind.GRPO: "Trains a policy on the snapshot's prompts with group-relative advantages "
    "(GRPO / RLOO), scored by a registered reward model.",
    RunKind.EVAL: "Judges a registered policy against a reference on the snapshot's "
    "held-out prompts: win rate, reward, perplexity.",
}


@dataclass(frozen=True)
class Preset:
    """A named set of option values per kind; a kind it does not list takes its defaults."""

    key: str
    label: str
    help: str
    values: dict[str, dict] = field(default_factory=dict)

    def for_kind(self, kind: str) -> dict:
        """The preset's values for ``kind``, only the options the kind has."""
        names = set(RUN_KINDS[kind].option_names())
        return {k: v for k, v in self.values.get(kind, {}).items() if k in names}


_QUICK_TRAINING = {"max_steps": 20, "log_every": 1, "gpus": 1, "precision": "auto"}

PRESETS = {
    preset.key: preset
    for preset in (
        Preset(
            "quick",
            "Quick CPU demo",
            "a few minutes on a laptop CPU: short sequences, few steps, one process",
            {
                # A head on frozen features, at a head's rate, for a few epochs: on the
                # demo's 231 pairs held-out accuracy 0.67 (12 pairs), training accuracy
                # 0.67 -> 0.80, in 12 s on 2 CPU cores. The head alone at the
                # backbone's 5e-5 for 20 steps learned nothing (0.33-0.5, flat loss).
                RunKind.REWARD: {"strategy": "feature", "epochs": 5, "batch_size": 8,
                                 "max_length": 64, "lr": 5e-5, "head_lr": 3e-3,
                                 "warmup": 0.05, **_QUICK_TRAINING, "max_steps": 0,
                                 "log_every": 5},
                RunKind.SFT: {"epochs": 1, "batch_size": 4, "max_length": 128,
                              **_QUICK_TRAINING},
                RunKind.DPO: {"epochs": 1, "batch_size": 4, "max_length": 128,
                              **_QUICK_TRAINING},
                RunKind.PPO: {"steps": 5, "batch_size": 4, "mini_batch_size": 2,
                              "max_new_tokens": 16, "sample_every": 1, "log_every": 1,
                              "gpus": 1},
                RunKind.GRPO: {"batch_size": 4, "num_generations": 2, "max_new_tokens": 16,
                               **_QUICK_TRAINING},
                RunKind.EVAL: {"max_new_tokens": 16, "max_prompts": 16, "bootstrap": 200},
            },
        ),
        Preset(
            "full",
            "Full run",
            "the trainer's defaults: the settings a real run starts from",
        ),
    )
}  # fmt: skip


def preset_values(kind: str, key: str | None) -> dict:
    """The form's initial values for ``kind`` under preset ``key`` (unknown or none: {})."""
    preset = PRESETS.get(key or "")
    return preset.for_kind(kind) if preset else {}
