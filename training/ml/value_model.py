"""PPO's critic: a scalar head on every position of a transformer body, predicting the
return from each state of a response.

Two shapes (``--value-model``): ``separate``, a copy of the policy's body with its own head,
which trains apart from the policy, so value errors never reach the policy's
representation (InstructGPT's choice; it starts the critic from the reward model, but here
the reward model may speak another tokenizer, so the policy is the body that fits); and
``shared``, a head on the policy's own last hidden state: one forward gives logits and
values, half the weights and optimizer state, and the value loss trains the policy's body
too (its LoRA adapter only, with ``--lora-r``).
"""

import copy

import torch
from torch import nn

from training.ml.policy import position_ids_of


def value_head(hidden_size: int) -> nn.Linear:
    """A fresh ``Linear(hidden_size, 1)``: small weights, zero bias."""
    head = nn.Linear(hidden_size, 1)
    nn.init.normal_(head.weight, std=1 / (hidden_size + 1) ** 0.5)
    nn.init.zeros_(head.bias)
    return head


class ValueModel(nn.Module):
    def __init__(self, body: nn.Module, hidden_size: int):
        super().__init__()
        self.body = body
        self.head = value_head(hidden_size)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.body(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids_of(attention_mask),
        )
        return self.head(out.last_hidden_state).squeeze(-1).float()


def value_model_of(policy: nn.Module) -> ValueModel:
    """A critic from the (unwrapped) policy: its body copied, a fresh head."""
    body = copy.deepcopy(policy.base_model)
    return ValueModel(body, policy.config.hidden_size)
