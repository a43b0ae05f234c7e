"""The PPO trainer's options (``python -m training.ml.ppo train``)."""

from dataclasses import dataclass

from training.ml.configs.base import ConfigError, option
from training.ml.configs.reward import PRECISIONS

VALUE_MODELS = ("separate", "shared")
CHAT_TEMPLATES = ("auto", "none")
KL_ESTIMATORS = ("k1", "k3")
REWARD_NORMS = ("running", "none")


@dataclass
class PPORunConfig:
    """PPO against a reward model (InstructGPT's RLHF): sample, score, a per-token KL
    penalty against the frozen reference, GAE advantages, clipped updates."""

    policy: str = option(
        "tiny", "causal LM folder, hub name, .gguf file, or 'tiny'", group="model",
        reason="'tiny' builds a 2-layer GPT-2 with a tokenizer trained on the prompts (CPU)",
    )  # fmt: skip
    reward_model: str | None = option(
        None, "a trained reward model folder (training.ml.reward's DIR/model)",
        required=True, group="model", reason="it scores every sampled response",
    )  # fmt: skip
    prompts: list[str] | None = option(
        None, "prompts: JSONL rows with 'prompt', or .txt (repeat)", required=True,
        group="data", reason="what the policy answers, one response each per step",
    )  # fmt: skip
    out: str | None = option(
        None, "output folder", required=True, group="data",
        reason="the stream, checkpoints, summary and policy go there",
    )  # fmt: skip
    resume: bool = option(
        False, "continue from the latest checkpoint", group="data",
        reason="a killed run goes on with its weights, optimizer, KL coefficient and RNG",
    )  # fmt: skip
    steps: int = option(100, "PPO steps (one rollout batch each)", unit="steps", min=1)
    batch_size: int = option(16, "prompts sampled per step", unit="prompts", min=1)
    mini_batch_size: int = option(8, "rollouts per gradient step", unit="rollouts", min=1)
    ppo_epochs: int = option(4, "passes over each rollout batch", unit="passes", min=1)
    lr: float = option(
        1e-5, "learning rate of policy and value model (decays linearly)", unit="per step",
        min=0, exclusive_min=True,
    )  # fmt: skip
    max_new_tokens: int = option(48, "longest response", unit="tokens", min=1)
    temperature: float = option(
        0.7, "sampling temperature", unit="× logits⁻¹", min=0, exclusive_min=True
    )
    top_k: int = option(0, "sample from the k likeliest tokens (0: all)", unit="tokens", min=0)
    top_p: float = option(
        1.0, "nucleus sampling mass", unit="probability mass", min=0, max=1, exclusive_min=True
    )
    max_prompt_length: int = option(256, "prompt tokens kept (the end)", unit="tokens", min=1)
    chat_template: str = option(
        "auto", "auto: use the tokenizer's template", choices=CHAT_TEMPLATES,
        reason="chat policies answer best in the format they were tuned on",
    )  # fmt: skip
    kl_coef: float = option(
        0.05, "β of the per-token KL penalty (start value if adaptive)", unit="per nat", min=0
    )
    kl_target: float = option(
        0.0, "adaptive β aiming at this KL per response (0: fixed)", unit="nats per response",
        min=0,
    )  # fmt: skip
    kl_horizon: int = option(
        10000, "samples over which adaptive β closes its error", unit="samples", min=1,
        tunable=False,
    )  # fmt: skip
    kl_estimator: str = option(
        "k1", "per-token KL estimate in the penalty", choices=KL_ESTIMATORS,
        reason="k1 is unbiased, log p - log q; k3 never negative, with less variance",
    )  # fmt: skip
    gamma: float = option(1.0, "discount", unit="per token", min=0, max=1)
    lam: float = option(0.95, "GAE λ", unit="per token", min=0, max=1)
    cliprange: float = option(0.2, "policy ratio clip ε", unit="ratio", min=0, exclusive_min=True)
    cliprange_value: float = option(
        0.2, "value clip around the rollout's values", unit="reward units", min=0,
        exclusive_min=True,
    )  # fmt: skip
    vf_coef: float = option(0.1, "weight of the value loss", unit="× value loss", min=0)
    missing_eos_penalty: float = option(
        1.0, "subtracted from scores of unended responses", unit="reward units", min=0
    )
    reward_norm: str = option(
        "running", "normalise scores by running moments", choices=REWARD_NORMS,
        reason="keeps advantages on one scale while the reward drifts",
    )  # fmt: skip
    max_grad_norm: float = option(
        1.0, "gradient clipping", unit="L2 norm", min=0, exclusive_min=True
    )
    lora_r: int = option(
        0, "train a LoRA adapter of this rank (0: full fine-tuning)", unit="rank", min=0
    )
    lora_alpha: int = option(32, "LoRA alpha", unit="scale numerator (alpha / r)", min=1)
    value_model: str = option(
        "separate", "the critic: a copy of the policy's body (separate) or a head on the "
        "policy's last hidden state (shared: one forward, value gradients reach the policy)",
        choices=VALUE_MODELS, reason="shared halves memory and time; separate learns apart",
    )  # fmt: skip
    seed: int = option(0, "seed of sampling, prompt order and initialisation", unit="seed", min=0)
    log_every: int = option(1, "steps between metrics lines", unit="steps", min=1)
    save_every: int = option(
        50, "steps between checkpoints (0: only at the end)", unit="steps", min=0
    )
    sample_every: int = option(
        10, "steps between sample tables in the stream (0: none)", unit="steps", min=0
    )
    samples_shown: int = option(
        4, "prompts and responses per sample table", unit="prompts", min=1, tunable=False
    )
    precision: str = option(
        "auto", "auto: bf16 on GPUs", choices=PRECISIONS,
        reason="bf16 autocast halves memory and time on GPUs that have it",
    )  # fmt: skip

    def check(self) -> None:
        if self.batch_size % self.mini_batch_size:
            raise ConfigError("mini_batch_size", f"must divide batch_size ({self.batch_size}), "
                              f"got {self.mini_batch_size}")  # fmt: skip
