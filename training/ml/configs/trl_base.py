"""The options every TRL-backed trainer takes (SFT, DPO, GRPO), each trainer's config
adding its own."""

from dataclasses import dataclass

from training.ml.configs.base import option
from training.ml.configs.reward import PRECISIONS


@dataclass
class TRLRunConfig:
    """What a run of TRL's Trainer needs from PrefLab: the policy it starts from, where
    it writes, and the Trainer's shared hyper-parameters."""

    policy: str = option(
        "tiny", "causal LM folder, hub name, .gguf file, or 'tiny'", group="model",
        reason="'tiny' builds a 2-layer GPT-2 with a tokenizer trained on the data (CPU tests)",
    )  # fmt: skip
    out: str | None = option(
        None, "output folder", required=True, group="data",
        reason="the stream, checkpoints, summary and policy go there",
    )  # fmt: skip
    resume: bool = option(
        False, "continue from the latest checkpoint", group="data",
        reason="a killed run goes on from the newest checkpoint the Trainer finished",
    )  # fmt: skip
    epochs: float = option(1, "passes over the data", unit="epochs", min=0, exclusive_min=True)
    batch_size: int = option(8, "examples per step", unit="examples per process", min=1)
    lr: float = option(2e-5, "peak learning rate", unit="per step", min=0, exclusive_min=True)
    max_length: int = option(512, "tokens of prompt and response together", unit="tokens", min=1)
    warmup: float = option(
        0.1, "share of steps warming the rate up", unit="share of all steps", min=0, max=1
    )
    weight_decay: float = option(0.0, "AdamW weight decay", unit="per step, × lr", min=0)
    seed: int = option(0, "seed", unit="seed", min=0)
    log_every: int = option(5, "steps between metrics lines", unit="steps", min=1)
    save_every: int = option(200, "steps between checkpoints", unit="steps", min=1)
    max_steps: int = option(0, "stop after this many steps (0: no limit)", unit="steps", min=0)
    lora_r: int = option(
        0, "train a LoRA adapter of this rank (0: full fine-tuning)", unit="rank", min=0
    )
    lora_alpha: int = option(32, "LoRA alpha", unit="scale numerator (alpha / r)", min=1)
    precision: str = option(
        "auto", "auto: bf16 on GPUs that support it", choices=PRECISIONS,
        reason="bf16 halves memory and time on GPUs that have it",
    )  # fmt: skip
