"""The policy evaluation's options (``python -m training.ml.policy_eval evaluate``)."""

from dataclasses import dataclass

from training.ml.configs.base import option
from training.ml.configs.ppo import CHAT_TEMPLATES


@dataclass
class EvalRunConfig:
    """A policy judged on held-out prompts: the reward model's scores of its answers,
    its win rate against a reference, perplexity of and overlap with demonstrations."""

    policy: str | None = option(
        None, "the policy: a folder, hub name or .gguf file", required=True, group="model",
        reason="the policy under evaluation",
    )  # fmt: skip
    reference: str | None = option(
        None, "the policy to compare with (e.g. the one training started from)", group="model",
        reason="gives the win rate; empty: the policy is judged alone",
    )  # fmt: skip
    reward_model: str | None = option(
        None, "a trained reward model folder (the judge)", required=True, group="model",
        reason="it scores every answer",
    )  # fmt: skip
    prompts: list[str] | None = option(
        None, "held-out prompts: JSONL rows with 'prompt', or .txt", group="data",
        reason="prompts the policy never trained on (this or --demonstrations is required)",
    )  # fmt: skip
    demonstrations: list[str] | None = option(
        None, "held-out sft or prompt/completion JSONL", group="data",
        reason="written answers for perplexity and overlap; their prompts are answered too",
    )  # fmt: skip
    out: str | None = option(
        None, "output folder", required=True, group="data",
        reason="the summary, answers and stream go there",
    )  # fmt: skip
    max_new_tokens: int = option(64, "longest answer", unit="tokens", min=1)
    temperature: float = option(
        0.0, "0: greedy; else sample at this temperature", unit="× logits⁻¹", min=0
    )
    top_p: float = option(
        1.0, "nucleus sampling mass (when sampling)", unit="probability mass", min=0, max=1,
        exclusive_min=True,
    )  # fmt: skip
    batch_size: int = option(16, "prompts answered per batch", unit="prompts", min=1)
    max_prompts: int = option(0, "evaluate on the first N prompts (0: all)", unit="prompts", min=0)
    max_prompt_length: int = option(256, "prompt tokens kept (the end)", unit="tokens", min=1)
    chat_template: str = option(
        "auto", "auto: use the tokenizer's template", choices=CHAT_TEMPLATES,
        reason="chat policies answer best in the format they were tuned on",
    )  # fmt: skip
    seed: int = option(0, "seed of sampling and of the bootstrap", unit="seed", min=0)
    samples_shown: int = option(
        8, "answers shown in the stream's sample table", unit="answers", min=0
    )
    bootstrap: int = option(1000, "resamples for the win rate's interval", unit="resamples", min=1)
