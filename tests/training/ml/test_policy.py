"""Policies: the tiny GPT-2 and its trained tokenizer, left-padded sampling whose
log-probabilities a plain forward reproduces, the response mask, save and load."""

import torch

from training.ml.policy import policy_load, policy_save, position_ids_of, tiny_policy
from training.ml.ppo_rollout import (
    Sampling,
    logits_of,
    logprobs_of,
    prompt_ids,
    response_mask,
    sample,
)

TEXTS = ["The cat sat on the mat.", "A good day for a walk.", "Rain again, and tea."] * 4


def test_the_tiny_tokenizer_round_trips_any_text_and_pads_left():
    _, tokenizer = tiny_policy(TEXTS)
    for text in ["The cat sat.", "unseen wörds ✓"]:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text
    assert tokenizer.padding_side == "left"
    assert tokenizer.pad_token_id != tokenizer.eos_token_id


def test_response_mask_keeps_tokens_up_to_the_first_eos():
    eos = 9
    response = torch.tensor([[1, 2, eos, 3, eos], [1, 2, 3, 4, 5]])
    mask, ended = response_mask(response, eos)
    assert mask.tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert ended.tolist() == [True, False]


def test_position_ids_start_at_the_first_real_token():
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    assert position_ids_of(mask).tolist() == [[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]]


def test_sampled_log_probabilities_match_a_forward_over_the_padded_batch():
    """The scores ``generate`` sampled from (left padding, its own positions) are what
    ``logits_of`` recomputes, so PPO's ratio starts at exactly 1."""
    torch.manual_seed(0)
    policy, tokenizer = tiny_policy(TEXTS)
    policy.eval()
    prompts = ["The cat", "A good day for a long walk in the"]  # different lengths
    ids = prompt_ids(tokenizer, prompts, 64, chat=False)
    roll = sample(policy, tokenizer, prompts, ids, Sampling(max_new_tokens=6, temperature=1.0),
                  "cpu")  # fmt: skip
    with torch.no_grad():
        logits = logits_of(policy, roll.query, roll.query_mask, roll.response, roll.mask, 1.0)
    recomputed = logprobs_of(logits, roll.response)
    # The same rows scored one at a time, without any padding at all.
    for row in range(2):
        n = int(roll.mask[row].sum())
        full = torch.tensor([ids[row] + roll.response[row, :n].tolist()])
        with torch.no_grad():
            alone = torch.log_softmax(policy(full).logits[0, len(ids[row]) - 1 : -1], -1)
        expected = alone.gather(-1, full[0, len(ids[row]) :].unsqueeze(-1)).squeeze(-1)
        torch.testing.assert_close(recomputed[row, :n], expected, atol=1e-4, rtol=1e-4)


def test_a_saved_policy_loads_and_generates(tmp_path):
    policy, tokenizer = tiny_policy(TEXTS)
    policy_save(policy, tokenizer, tmp_path / "p")
    loaded, loaded_tokenizer = policy_load(str(tmp_path / "p"))
    assert loaded_tokenizer.padding_side == "left"
    for name, tensor in policy.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor)
    ids = prompt_ids(loaded_tokenizer, ["The cat"], 16, chat=False)
    roll = sample(loaded, loaded_tokenizer, ["The cat"], ids, Sampling(max_new_tokens=4), "cpu")
    assert roll.response.shape[0] == 1 and isinstance(roll.texts[0], str)


def test_conversation_prompts_become_text_without_a_chat_template():
    _, tokenizer = tiny_policy(TEXTS)
    conversation = [{"role": "user", "content": "The cat"}]
    (ids,) = prompt_ids(tokenizer, [conversation], 64, chat=False)
    assert tokenizer.decode(ids) == "\n\nHuman: The cat\n\nAssistant:"
