"""The DPO trainer's options (``python -m training.ml.dpo train``)."""

from dataclasses import dataclass

from training.ml.configs.base import option, option_like
from training.ml.configs.trl_base import TRLRunConfig

LOSS_TYPES = ("sigmoid", "ipo", "hinge", "robust")


@dataclass
class DPORunConfig(TRLRunConfig):
    """Direct preference optimisation on preference pairs (TRL's DPOTrainer), against
    the starting policy as the frozen reference."""

    lr: float = option_like(TRLRunConfig, "lr", 5e-7)
    data: list[str] | None = option(
        None, "pairwise, listwise or TRL-style JSONL (repeat)", required=True, group="data",
        reason="every ordered pair of a ranking becomes a DPO pair (ties give none)",
    )  # fmt: skip
    eval_data: list[str] | None = option(
        None, "held-out preferences (repeat)", group="data",
        reason="held-out loss, margin and accuracy at the end of every epoch",
    )  # fmt: skip
    beta: float = option(
        0.1, "strength of the pull towards the reference", unit="β, per nat of log-ratio",
        min=0, exclusive_min=True,
    )  # fmt: skip
    loss_type: str = option(
        "sigmoid", "DPO's sigmoid loss, or IPO, hinge, robust", choices=LOSS_TYPES,
        reason="IPO and hinge resist overfitting deterministic preferences; robust, label noise",
    )  # fmt: skip
