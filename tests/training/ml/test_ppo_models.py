"""The modules a PPO run trains: the fused AdamW, and the critic as a separate value
model or as a head on the policy (``--value-model shared``), checked on a tiny GPT-2."""

import pytest
import torch

from tests.training.ml.policy_fixtures import policy_prompts
from training.ml.policy import position_ids_of, tiny_policy
from training.ml.ppo_models import PolicyAndValue, adamw_for
from training.ml.ppo_rollout import Sampling, logits_of, prompt_ids, sample
from training.ml.value_model import value_head, value_model_of


def _rollout(policy, tokenizer):
    prompts = ["Tell me about cats.", "What is rain like? Tell me more."]  # two lengths
    ids = prompt_ids(tokenizer, prompts, 64, chat=False)
    roll = sample(policy, tokenizer, prompts, ids, Sampling(max_new_tokens=6, temperature=1.0),
                  "cpu")  # fmt: skip
    return roll.query, roll.query_mask, roll.response, roll.mask


def test_adamw_fuses_where_it_can_and_steps_as_the_default_would():
    # given
    torch.manual_seed(0)
    weights = [torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.randn(3))]
    copies = [torch.nn.Parameter(w.detach().clone()) for w in weights]
    start = [w.detach().clone() for w in weights]
    grads = [[torch.randn_like(w) for w in weights] for _ in range(3)]
    # when
    fused = adamw_for(weights, 1e-2)
    plain = torch.optim.AdamW(copies, lr=1e-2, eps=1e-5)
    for step in grads:
        for params, optimizer in ((weights, fused), (copies, plain)):
            for p, g in zip(params, step, strict=True):
                p.grad = g.clone()
            optimizer.step()
    # then
    assert fused.defaults["fused"] is True and fused.defaults["eps"] == 1e-5
    for a, b in zip(weights, copies, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    assert all(not torch.equal(w, s) for w, s in zip(weights, start, strict=True))
    # a device without a fused kernel (meta tensors) gets torch's default
    on_meta = torch.nn.Parameter(torch.zeros(2, device="meta"))
    assert not adamw_for([on_meta], 1e-2).defaults["fused"]


def test_a_shared_head_reads_the_policys_last_hidden_state_in_the_logits_forward():
    # given
    policy, tokenizer = tiny_policy(policy_prompts(), seed=0)
    policy.eval()
    head = value_head(policy.config.hidden_size)
    query, query_mask, response, mask = _rollout(policy, tokenizer)
    # when
    with torch.no_grad():
        logits, values = PolicyAndValue(policy, head)(query, query_mask, response, mask, 0.7)
    # then
    with torch.no_grad():
        expected_logits = logits_of(policy, query, query_mask, response, mask, 0.7)
        full, attention = torch.cat([query, response], 1), torch.cat([query_mask, mask], 1)
        hidden = policy.base_model(input_ids=full, attention_mask=attention,
                                   position_ids=position_ids_of(attention)).last_hidden_state  # fmt: skip
        expected_values = head(hidden).squeeze(-1)[:, query.shape[1] - 1 : -1]
    assert values.shape == response.shape
    torch.testing.assert_close(logits, expected_logits)
    torch.testing.assert_close(values, expected_values, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("critic", ["separate", "shared", "shared with LoRA"])
def test_value_gradients_reach_the_policy_only_through_a_shared_head(critic):
    """Separate: the value loss trains the critic alone. Shared: it trains the head and
    the policy's body, or only the LoRA adapter's matrices when there is one."""
    # given
    policy, tokenizer = tiny_policy(policy_prompts(), seed=0)
    query, query_mask, response, mask = _rollout(policy, tokenizer)
    if critic == "separate":
        value = value_model_of(policy)
    else:
        value = value_head(policy.config.hidden_size)
    if critic == "shared with LoRA":
        from peft import LoraConfig, TaskType, get_peft_model

        policy = get_peft_model(policy, LoraConfig(task_type=TaskType.CAUSAL_LM, r=4,
                                                   lora_alpha=8))  # fmt: skip
        with torch.no_grad():  # B starts at zero, which would hide A's gradient
            for name, p in policy.named_parameters():
                if "lora_B" in name:
                    p.normal_(std=0.1)
    both = PolicyAndValue(policy, value)
    # when
    _, values = both(query, query_mask, response, mask, 1.0)
    (values**2).mean().backward()  # a value loss alone
    # then
    moved = {n for n, p in both.named_parameters() if p.grad is not None and p.grad.any()}
    trainable = {n for n, p in both.named_parameters() if p.requires_grad}
    policy_moved = {n for n in moved if n.startswith("policy.")}
    assert {n for n in moved if n.startswith("value.")}, moved
    if critic == "separate":
        assert not policy_moved
        assert {n for n in trainable if n.startswith("value.")} == moved
    elif critic == "shared":
        body = {n for n in trainable if n.startswith("policy.transformer.")}
        assert body and policy_moved == body  # every weight of the body (lm_head is wte)
        assert moved == trainable
    else:
        adapter = {n for n in trainable if "lora_" in n}
        assert adapter and policy_moved == adapter
        assert trainable == adapter | {"value.weight", "value.bias"}
