"""Encoding with the tokenizer's own pair template and counted truncation; batches
that keep examples whole, group lengths and follow the seed."""

import itertools
import random

import pytest
import torch

from training.ml.batching import batch_plan, collate, length_groups, length_split
from training.ml.encoding import PairTemplate, Truncation, encode
from training.ml.preference_data import Ranked
from training.ml.reward_model import default_base_model, tokenizer_load


@pytest.fixture(scope="module")
def tokenizer():
    return tokenizer_load(default_base_model())


def test_pair_template_is_bert_cls_sep(tokenizer):
    template = PairTemplate.of(tokenizer)
    assert template.prefix == [tokenizer.cls_token_id]
    assert template.middle == [tokenizer.sep_token_id]
    assert template.suffix == [tokenizer.sep_token_id]
    assert template.types == (0, 1)
    (encoded,) = encode(
        [Ranked("hello there", ["general kenobi", "no"], [[0], [1]])], tokenizer, 64
    )
    expected = tokenizer("hello there", "general kenobi")
    assert encoded.input_ids[0] == expected["input_ids"]
    assert encoded.token_type_ids[0] == expected["token_type_ids"]


def test_long_prompts_lose_their_beginning_and_cuts_are_counted(tokenizer):
    prompt = " ".join(f"word{n}" for n in range(200)) + " the last question"
    long_response = " ".join(["answer"] * 100)
    counts = Truncation()
    (encoded,) = encode(
        [Ranked(prompt, ["short reply", long_response], [[0], [1]])], tokenizer, 64, counts
    )
    short, long = encoded.input_ids
    assert len(short) == 64 and len(long) == 64
    text = tokenizer.decode(short)
    assert "the last question" in text and "word0 " not in text
    assert tokenizer.decode(long).count("answer") >= (64 - 3) // 2  # the response keeps half
    assert (counts.sequences, counts.prompts_cut, counts.responses_cut) == (2, 2, 1)


def _examples(tokenizer, n=60, seed=0):
    """Prompts of very different lengths with K responses of similar length each, as
    in real data (a prompt's responses share it; prompts vary most)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        k = rng.choice([2, 3, 4])
        prompt = " ".join(["p"] * rng.randint(1, 100))
        responses = [" ".join(["w"] * rng.randint(5, 12)) for _ in range(k)]
        rows.append(Ranked(f"{i} {prompt}", responses, [[j] for j in range(k)]))
    return encode(rows, tokenizer, 128)


def test_batches_keep_examples_whole_and_bounded_and_follow_the_seed(tokenizer):
    examples = _examples(tokenizer)
    plan = batch_plan(examples, 8, seed=3)
    flat = sorted(i for batch in plan for i in batch)
    assert flat == list(range(len(examples)))
    for batch in plan:
        assert sum(len(examples[i].input_ids) for i in batch) <= 8 or len(batch) == 1
    assert plan == batch_plan(examples, 8, seed=3)
    assert plan != batch_plan(examples, 8, seed=4)


def test_length_grouping_pads_less_than_random_batches(tokenizer):
    examples = _examples(tokenizer, n=200)

    def padding(plan):
        padded = tokens = 0
        for batch in plan:
            b = collate([examples[i] for i in batch], tokenizer.pad_token_id)
            padded += b["padded"]
            tokens += b["tokens"]
        return 1 - tokens / padded

    grouped = batch_plan(examples, 8, seed=0)
    order = list(range(len(examples)))
    random.Random(0).shuffle(order)
    naive, current = [], []
    for i in order:
        if (
            current
            and sum(len(examples[j].input_ids) for j in current) + len(examples[i].input_ids) > 8
        ):
            naive.append(current)
            current = []
        current.append(i)
    naive.append(current)
    assert padding(grouped) < padding(naive) / 2


def _cost(groups, lengths, overhead):
    return sum(overhead + len(g) * max(lengths[i] for i in g) for g in groups)


@pytest.mark.parametrize("overhead", [0, 10, 128, 10_000])
def test_length_groups_is_the_cheapest_partition(overhead):
    rng = random.Random(overhead)
    for _ in range(30):
        lengths = [rng.randint(5, 256) for _ in range(rng.randint(1, 8))]
        groups = length_groups(lengths, overhead)
        assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
        # Brute force over every cut of the sorted order (an optimal partition is
        # contiguous in length order).
        order = sorted(range(len(lengths)), key=lengths.__getitem__)
        best = min(
            _cost(
                [order[a:b] for a, b in itertools.pairwise((0, *cuts, len(order)))],
                lengths,
                overhead,
            )  # fmt: skip
            for r in range(len(order))
            for cuts in itertools.combinations(range(1, len(order)), r)
        )
        assert _cost(groups, lengths, overhead) == best
    assert len(length_groups([10, 200, 11, 199], overhead=10_000)) == 1
    assert len(length_groups([10, 200, 11, 199], overhead=0)) >= 2


def test_split_batches_score_exactly_as_one_pass(tokenizer):
    from training.ml.reward_model import RewardSpec, reward_model_build

    torch.manual_seed(0)
    reward = reward_model_build(RewardSpec(default_base_model()), tokenizer).eval()
    examples = _examples(tokenizer, n=6)
    inputs = collate(examples, tokenizer.pad_token_id)["inputs"]
    parts, inverse = length_split(inputs, overhead=0)
    assert len(parts) > 1
    assert sum(p["input_ids"].numel() for p in parts) < inputs["input_ids"].numel()
    with torch.no_grad():
        whole = reward(inputs)
        split = reward(parts=parts, inverse=inverse)
    torch.testing.assert_close(split, whole, atol=1e-5, rtol=1e-4)
