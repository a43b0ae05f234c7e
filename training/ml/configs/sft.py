"""The SFT trainer's options (``python -m training.ml.sft train``)."""

from dataclasses import dataclass

from training.ml.configs.base import option, option_like
from training.ml.configs.trl_base import TRLRunConfig


@dataclass
class SFTRunConfig(TRLRunConfig):
    """Supervised fine-tuning on demonstrations (TRL's SFTTrainer); the loss covers the
    completion only."""

    epochs: float = option_like(TRLRunConfig, "epochs", 3)
    warmup: float = option_like(TRLRunConfig, "warmup", 0.03)
    data: list[str] | None = option(
        None, "sft or prompt/completion JSONL (repeat)", required=True, group="data",
        reason="a snapshot's sft file: conversations ending with the demonstrated answer",
    )  # fmt: skip
    eval_data: list[str] | None = option(
        None, "held-out demonstrations (repeat)", group="data",
        reason="held-out loss and perplexity at the end of every epoch",
    )  # fmt: skip
