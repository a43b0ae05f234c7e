"""The GRPO/RLOO trainer's options (``python -m training.ml.grpo train``)."""

from dataclasses import dataclass

from training.ml.configs.base import ConfigError, option, option_like
from training.ml.configs.trl_base import TRLRunConfig

ESTIMATORS = ("grpo", "rloo")


@dataclass
class GRPORunConfig(TRLRunConfig):
    """Policy optimisation by group-relative sampling against a reward model (TRL's
    GRPOTrainer or RLOOTrainer)."""

    batch_size: int = option_like(
        TRLRunConfig, "batch_size", 16, help="responses per step (a multiple of "
        "--num-generations)", unit="responses per process",
    )  # fmt: skip
    lr: float = option_like(TRLRunConfig, "lr", 1e-6)
    max_length: int = option_like(
        TRLRunConfig, "max_length", 512, tunable=False,
        help="not used: TRL keeps prompts whole and stops responses at --max-new-tokens",
    )  # fmt: skip
    log_every: int = option_like(TRLRunConfig, "log_every", 1)
    save_every: int = option_like(TRLRunConfig, "save_every", 50)
    reward_model: str | None = option(
        None, "a trained reward model folder (training.ml.reward's DIR/model)",
        required=True, group="model", reason="it scores every sampled response",
    )  # fmt: skip
    prompts: list[str] | None = option(
        None, "prompts: JSONL rows with 'prompt', or .txt (repeat)", required=True,
        group="data", reason="what the policy answers, a group of responses each",
    )  # fmt: skip
    estimator: str = option(
        "grpo", "advantage against the group (grpo) or the others", choices=ESTIMATORS,
        reason="RLOO leaves each response out of its own baseline, with the KL in the reward",
    )  # fmt: skip
    num_generations: int = option(
        4, "responses sampled per prompt (G, at least 2)", unit="responses per prompt", min=2
    )
    max_new_tokens: int = option(64, "longest response", unit="tokens", min=1)
    temperature: float = option(
        1.0, "sampling temperature", unit="× logits⁻¹", min=0, exclusive_min=True
    )
    top_p: float = option(
        1.0, "nucleus sampling mass", unit="probability mass", min=0, max=1, exclusive_min=True
    )
    beta: float = option(
        0.04, "weight of the KL to the reference (0: no reference)", unit="per nat of KL", min=0
    )
    sample_every: int = option(
        10, "steps between sample tables in the stream (0: none)", unit="steps", min=0
    )
    samples_shown: int = option(
        4, "responses per sample table", unit="responses", min=1, tunable=False
    )

    def check(self) -> None:
        if self.batch_size % self.num_generations:
            raise ConfigError(
                "batch_size",
                "counts responses, so it must be a multiple of --num-generations "
                f"({self.num_generations}), got {self.batch_size}",
            )
