"""PPO's critic: a copy of the policy's transformer body with a scalar head on every
position, predicting the return from each state of a response.

It starts from the policy's weights (InstructGPT starts it from the reward model; here
the reward model may speak another tokenizer, so the policy is the body that fits) and
trains apart from it, so value errors never reach the policy's representation.
"""

import copy

import torch
from torch import nn

from training.ml.policy import position_ids_of


class ValueModel(nn.Module):
    def __init__(self, body: nn.Module, hidden_size: int):
        super().__init__()
        self.body = body
        self.head = nn.Linear(hidden_size, 1)
        nn.init.normal_(self.head.weight, std=1 / (hidden_size + 1) ** 0.5)
        nn.init.zeros_(self.head.bias)

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
