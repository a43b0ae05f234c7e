"""One PPO rollout: sample responses to a batch of prompts, and everything the update
needs about them (log-probabilities under the policy and the reference, values, the
reward model's scores).

The reward model keeps its own tokenizer: responses are decoded to text (cut at EOS)
and re-encoded with the reward model's pair template, so any registered reward model
scores any policy (TRL's PPO required them to share a vocabulary).
"""

import time
from dataclasses import dataclass, field

import torch

from training.ml.policy import position_ids_of
from training.ml.prompt_data import prompt_text


@dataclass
class Sampling:
    max_new_tokens: int = 48
    temperature: float = 0.7
    top_k: int = 0
    top_p: float = 1.0


@dataclass
class Rollout:
    prompts: list[str]
    query: torch.Tensor  # [B, P] left-padded prompt ids
    query_mask: torch.Tensor
    response: torch.Tensor  # [B, R] sampled ids; padding after EOS
    mask: torch.Tensor  # [B, R] 1 on response tokens up to and including EOS
    ended: torch.Tensor  # [B] bool: the response produced EOS
    texts: list[str]
    logprobs: torch.Tensor | None = None
    ref_logprobs: torch.Tensor | None = None
    values: torch.Tensor | None = None
    scores: torch.Tensor | None = None
    timings: dict = field(default_factory=dict)

    def select(self, rows: torch.Tensor) -> dict:
        """Tensors of some rows, for a minibatch."""
        names = ("query", "query_mask", "response", "mask", "logprobs", "values")
        return {n: getattr(self, n)[rows] for n in names}


def prompt_ids(tokenizer, prompts: list, max_length: int, chat: bool) -> list[list[int]]:
    """Token ids of each prompt (through the tokenizer's chat template when ``chat``),
    keeping the end of prompts longer than ``max_length``."""
    out = []
    for prompt in prompts:
        if chat:
            messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
            ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "input_ids"):
                ids = ids["input_ids"]
        else:  # a conversation becomes its text in HH's turn style, the assistant's turn next
            text = prompt_text(prompt) + ("\n\nAssistant:" if isinstance(prompt, list) else "")
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            bos = tokenizer.bos_token_id
            if bos is not None and bos != tokenizer.eos_token_id:  # models trained with BOS
                ids = [bos, *ids]
        out.append(list(ids)[-max_length:])
    return out


def _left_pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for n, row in enumerate(rows):
        if row:
            ids[n, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[n, width - len(row) :] = 1
    return ids, mask


def response_mask(response: torch.Tensor, eos_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mask of tokens up to and including the first EOS, whether there was one)."""
    is_eos = response == eos_id
    ended = is_eos.any(1)
    after_eos = (is_eos.long().cumsum(1) - is_eos.long()) > 0
    return (~after_eos).long(), ended


@torch.no_grad()
def sample(policy, tokenizer, prompts: list, ids: list[list[int]], how: Sampling, device):
    """Responses to ``prompts`` (their token ids given), sampled in one batch (greedy
    when the temperature is 0)."""
    query, query_mask = _left_pad(ids, tokenizer.pad_token_id)
    query, query_mask = query.to(device), query_mask.to(device)
    was_training = policy.training
    policy.eval()
    if how.temperature > 0:  # top_k 0 turns off the model's default (GPT-2's is 50)
        chosen = {"do_sample": True, "temperature": how.temperature, "top_k": how.top_k,
                  "top_p": how.top_p}  # fmt: skip
    else:  # greedy (evaluation); sampling settings a model's config carries are dropped
        chosen = {"do_sample": False, "temperature": None, "top_k": None, "top_p": None}
    out = policy.generate(
        input_ids=query,
        attention_mask=query_mask,
        max_new_tokens=how.max_new_tokens,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **chosen,
    )
    policy.train(was_training)
    response = out[:, query.shape[1] :]
    mask, ended = response_mask(response, tokenizer.eos_token_id)
    response = response.masked_fill(mask == 0, tokenizer.pad_token_id)
    texts = [
        tokenizer.decode(row[: int(m.sum())], skip_special_tokens=True).strip()
        for row, m in zip(response.tolist(), mask, strict=True)
    ]
    return Rollout(prompts, query, query_mask, response, mask, ended, texts)


def logits_of(model, query, query_mask, response, mask, temperature: float) -> torch.Tensor:
    """The model's next-token logits at each response position (scaled by the sampling
    temperature, so log-probabilities match the distribution that was sampled)."""
    full = torch.cat([query, response], 1)
    attention = torch.cat([query_mask, mask], 1)
    out = model(
        input_ids=full,
        attention_mask=attention,
        position_ids=position_ids_of(attention),
        logits_to_keep=response.shape[1] + 1,
    )
    return out.logits[:, :-1].float() / max(temperature, 1e-7)


def logits_and_values(policy, head, query, query_mask, response, mask, temperature: float):
    """(``logits_of``, values) from one forward of the policy: ``head`` reads the policy's
    last hidden state at the positions that predict the response tokens, as ``values_of``
    reads a separate critic's."""
    # What the LM head reads is the last hidden state after the final norm, already cut
    # to the last R + 1 positions by logits_to_keep; ``output_hidden_states`` would keep
    # every layer's states of the whole sequence alive instead.
    read = []
    hook = policy.get_output_embeddings().register_forward_pre_hook(
        lambda _, inputs: read.append(inputs[0])
    )
    try:
        logits = logits_of(policy, query, query_mask, response, mask, temperature)
    finally:
        hook.remove()
    return logits, head(read[0][:, :-1]).squeeze(-1).float()


def logprobs_of(logits: torch.Tensor, response: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(logits, -1).gather(-1, response.unsqueeze(-1)).squeeze(-1)


def values_of(value_model, query, query_mask, response, mask) -> torch.Tensor:
    """V(state before each response token): the critic at the positions that predict
    the response tokens."""
    full = torch.cat([query, response], 1)
    attention = torch.cat([query_mask, mask], 1)
    values = value_model(full, attention)
    return values[:, query.shape[1] - 1 : -1]


@torch.no_grad()
def rollout_fill(roll: Rollout, both, reference, scorer, prompt_texts, how):
    """Log-probabilities, reference log-probabilities, values and scores of a rollout;
    ``both`` is the policy and its critic as one (``ppo_models.PolicyAndValue``: logits
    and values from one call), ``reference`` a model, or a context manager factory that
    turns the policy into its reference (LoRA with the adapter disabled)."""
    started = time.perf_counter()
    args = (roll.query, roll.query_mask, roll.response, roll.mask)
    logits, roll.values = both(*args, how.temperature)
    roll.logprobs = logprobs_of(logits, roll.response)
    del logits  # [B, R, vocabulary]: gone before the reference makes its own
    if callable(reference) and not isinstance(reference, torch.nn.Module):
        with reference():
            ref_logits = logits_of(both.policy, *args, how.temperature)
    else:
        ref_logits = logits_of(reference, *args, how.temperature)
    roll.ref_logprobs = logprobs_of(ref_logits, roll.response)
    roll.timings["forward_s"] = time.perf_counter() - started
    started = time.perf_counter()
    roll.scores = torch.tensor(
        scorer.score_pairs(list(zip(prompt_texts, roll.texts, strict=True))),
        dtype=torch.float32,
        device=roll.logprobs.device,
    )
    roll.timings["score_s"] = time.perf_counter() - started
    return roll
