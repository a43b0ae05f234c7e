"""Token ids for (prompt, response) pairs, truncated on purpose and counted.

Each response is encoded once with its prompt as a text pair in the tokenizer's own
template ([CLS] prompt [SEP] response [SEP] for BERT, plain concatenation for GPT-2).
When the pair is too long the prompt loses its beginning (the last turns matter most)
and the response keeps at least half of the budget, losing its end; every cut is
counted so a run can report it instead of dropping the example.
"""

from dataclasses import dataclass, field

from training.ml.preference_data import Ranked


@dataclass
class PairTemplate:
    """Where a tokenizer puts its special tokens around a text pair, learned from the
    tokenizer itself (transformers 5 no longer exposes the template as a method)."""

    prefix: list[int]
    middle: list[int]
    suffix: list[int]
    types: tuple[int, int] | None  # token type of the first and the second segment

    @classmethod
    def of(cls, tokenizer) -> "PairTemplate":
        a = tokenizer("a", add_special_tokens=False)["input_ids"]
        b = tokenizer("b", add_special_tokens=False)["input_ids"]
        both = tokenizer("a", "b")
        ids = both["input_ids"]
        if len(a) == 1 and len(b) == 1 and a[0] in ids and b[0] in ids:
            i, j = ids.index(a[0]), ids.index(b[0], ids.index(a[0]) + 1)
            types = None
            if "token_type_ids" in both:
                tt = both["token_type_ids"]
                types = (tt[i], tt[j])
            return cls(ids[:i], ids[i + 1 : j], ids[j + 1 :], types)
        return cls([], [], [], None)

    @property
    def specials(self) -> int:
        return len(self.prefix) + len(self.middle) + len(self.suffix)

    def join(self, prompt: list[int], response: list[int]) -> tuple[list[int], list[int] | None]:
        ids = self.prefix + prompt + self.middle + response + self.suffix
        if self.types is None:
            return ids, None
        first = len(self.prefix) + len(prompt) + len(self.middle)
        return ids, [self.types[0]] * first + [self.types[1]] * (len(ids) - first)


@dataclass
class Encoded:
    """One ranked example as token ids: every response once."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    tiers: list[list[int]]
    weight: float
    margin: float
    group: str = ""
    models: list[str] = field(default_factory=list)

    @property
    def length(self) -> int:
        return max(len(ids) for ids in self.input_ids)


@dataclass
class Truncation:
    sequences: int = 0
    prompts_cut: int = 0
    responses_cut: int = 0

    def as_dict(self) -> dict:
        return {
            "sequences": self.sequences,
            "prompts_truncated": self.prompts_cut,
            "responses_truncated": self.responses_cut,
        }


def _fit(prompt: list[int], response: list[int], budget: int, counts: Truncation):
    if len(prompt) + len(response) <= budget:
        return prompt, response
    keep_response = min(len(response), max(budget - len(prompt), budget // 2))
    keep_prompt = budget - keep_response
    if keep_response < len(response):
        counts.responses_cut += 1
    if keep_prompt < len(prompt):
        counts.prompts_cut += 1
    return prompt[len(prompt) - keep_prompt :] if keep_prompt else [], response[:keep_response]


def encode(
    examples: list[Ranked], tokenizer, max_length: int, truncation: Truncation | None = None
) -> list[Encoded]:
    """Token ids of every example; ``truncation`` (when given) counts what was cut."""
    counts = truncation if truncation is not None else Truncation()
    template = PairTemplate.of(tokenizer)
    budget = max_length - template.specials
    if budget < 8:
        raise ValueError(f"max_length {max_length} leaves no room for text")
    prompts = tokenizer([e.prompt for e in examples], add_special_tokens=False)["input_ids"]
    flat = [r for e in examples for r in e.responses]
    responses = tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
    out, at = [], 0
    for example, prompt in zip(examples, prompts, strict=True):
        ids, types = [], []
        for _ in example.responses:
            p, r = _fit(prompt, responses[at], budget, counts)
            at += 1
            joined, tt = template.join(p, r)
            ids.append(joined)
            types.append(tt)
            counts.sequences += 1
        out.append(
            Encoded(
                input_ids=ids,
                token_type_ids=None if template.types is None else types,
                tiers=example.tiers,
                weight=example.weight,
                margin=example.margin,
                group=example.group,
                models=example.models,
            )
        )
    return out
