"""The modules a PPO run trains and keeps: the policy, its frozen reference, its critic
(a separate value model or a head on the policy: ``--value-model``), the two as one
module, and their optimizer."""

import copy
from pathlib import Path

import torch
from torch import nn

from training.ml.ppo_rollout import logits_and_values, logits_of, values_of
from training.ml.value_model import ValueModel, value_head, value_model_of


class PolicyAndValue(nn.Module):
    """The policy and its critic as one module: a checkpoint holds both, and one forward
    gives the logits and the values, which is what DDP needs to average every gradient
    (it syncs what a forward through its wrapper used). ``value`` is a ``ValueModel``
    (its own forward) or a head on the policy's last hidden state (the same forward)."""

    def __init__(self, policy: nn.Module, value: nn.Module):
        super().__init__()
        self.policy, self.value = policy, value

    @property
    def shared(self) -> bool:
        return not isinstance(self.value, ValueModel)

    def forward(self, query, query_mask, response, mask, temperature: float):
        args = (query, query_mask, response, mask)
        if self.shared:
            return logits_and_values(self.policy, self.value, *args, temperature)
        return logits_of(self.policy, *args, temperature), values_of(self.value, *args)


def models_of(o, prompts: list, device, out: Path):
    """(policy, tokenizer, reference, critic): the reference is a frozen copy, or the
    policy with its LoRA adapter disabled; the critic a ``ValueModel`` or, with
    ``o.value_model == "shared"``, a head for the policy's last hidden state. A tiny
    policy's tokenizer is kept in OUT/tiny-tokenizer, so a resumed run speaks the same
    vocabulary."""
    from transformers import AutoTokenizer

    from training.ml.policy import TINY, policy_load, tiny_policy
    from training.ml.prompt_data import prompt_text

    if o.policy == TINY:
        kept = out / "tiny-tokenizer"
        tokenizer = AutoTokenizer.from_pretrained(kept) if kept.exists() else None
        policy, tokenizer = tiny_policy(
            [prompt_text(p) for p in prompts], seed=o.seed, tokenizer=tokenizer
        )
        if not kept.exists():
            tokenizer.save_pretrained(kept)
    else:
        policy, tokenizer = policy_load(o.policy)
    for module in policy.modules():  # dropout would make the first ratio differ from 1
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    if o.value_model == "shared":
        value = value_head(policy.config.hidden_size)
    else:
        value = value_model_of(policy)
    if o.lora_r:
        from peft import LoraConfig, TaskType, get_peft_model

        config = LoraConfig(task_type=TaskType.CAUSAL_LM, r=o.lora_r, lora_alpha=o.lora_alpha)
        policy = get_peft_model(policy, config)
        reference = policy.disable_adapter
    else:
        reference = copy.deepcopy(policy).eval().to(device)
        reference.requires_grad_(False)
    return policy.to(device), tokenizer, reference, value.to(device)


def adamw_for(params: list[nn.Parameter], lr: float) -> torch.optim.AdamW:
    """AdamW (eps 1e-5), fused into one kernel per step where every parameter's device
    and dtype allow it (CPU and CUDA floats in torch 2.13), else torch's default."""
    try:
        for device, dtype in {(p.device, p.dtype) for p in params}:
            # A kernel missing for a device or dtype may only show at the first step.
            probe = torch.zeros(1, device=device, dtype=dtype, requires_grad=True)
            probe.grad = torch.zeros_like(probe)
            torch.optim.AdamW([probe], fused=True).step()
        return torch.optim.AdamW(params, lr=lr, eps=1e-5, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.AdamW(params, lr=lr, eps=1e-5)
