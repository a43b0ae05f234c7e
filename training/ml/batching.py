"""Batches of whole examples (all responses of a prompt together), grouped by length,
and the split of one batch into forward passes of similar lengths.

Why by hand: transformers' length-grouped sampler works on independent rows, but a
K-wise loss needs every response of a prompt in the same batch and batches whose size
is counted in sequences (a K=9 prompt weighs more than a pair). So: shuffle with the
seed, cut into mega-batches of ``GROUP`` batches, sort each by length, fill batches up
to ``batch_size`` sequences, then shuffle the batches. Padding stays small and the
order is fixed by the seed (which a resumed run relies on to skip what it has done).

Whole examples still mix lengths (a K=9 ranking holds short and long replies), so a
batch is scored in a few forward passes cut by ``length_groups``: the exact cheapest
partition of the sorted lengths when a pass costs its padded tokens plus a fixed
overhead (measured on a 2-core CPU with MiniLM: ~30 ms, about 100 tokens' worth; on a
GPU a pass is launch-bound, so the overhead is set high and batches rarely split).
"""

import math
import random

import torch

from training.ml.encoding import Encoded
from training.ml.losses import PairIndex

GROUP = 50
# What one more forward pass costs, in tokens of work (see the module's docstring).
PASS_OVERHEAD_TOKENS = {"cpu": 128, "cuda": 8192}


def batch_plan(examples: list[Encoded], batch_size: int, seed: int, *, shuffle=True) -> list:
    """Lists of example indices; each list holds at most ``batch_size`` sequences
    (an example larger than that gets a batch of its own)."""
    order = list(range(len(examples)))
    rng = random.Random(seed)
    if shuffle:
        rng.shuffle(order)
    span = batch_size * GROUP
    batches: list[list[int]] = []
    for start in range(0, len(order), span):
        group = sorted(order[start : start + span], key=lambda i: examples[i].length)
        current, size = [], 0
        for i in group:
            k = len(examples[i].input_ids)
            if current and size + k > batch_size:
                batches.append(current)
                current, size = [], 0
            current.append(i)
            size += k
        if current:
            batches.append(current)
    if shuffle:
        rng.shuffle(batches)
    return batches


def collate(examples: list[Encoded], pad_id: int) -> dict:
    """Padded tensors of every response of the examples, in order, and their pairs."""
    sequences = [ids for e in examples for ids in e.input_ids]
    width = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, ids in enumerate(sequences):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        mask[row, : len(ids)] = 1
    batch = {"input_ids": input_ids, "attention_mask": mask}
    if examples[0].token_type_ids is not None:
        types = torch.zeros_like(input_ids)
        for row, tt in enumerate(t for e in examples for t in e.token_type_ids):
            types[row, : len(tt)] = torch.tensor(tt, dtype=torch.long)
        batch["token_type_ids"] = types
    pairs = PairIndex.of(
        [e.tiers for e in examples], [e.weight for e in examples], [e.margin for e in examples]
    )
    return {"inputs": batch, "pairs": pairs, "tokens": int(mask.sum()), "padded": mask.numel()}


def length_groups(lengths: list[int], overhead: int) -> list[list[int]]:
    """Row indices in groups of similar length, minimising Σ (rows × longest row +
    overhead) over the groups: dynamic programming over the sorted lengths (a batch
    has at most a few hundred rows, so O(n²) is nothing)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    sorted_lengths = [lengths[i] for i in order]
    best = [0.0] + [math.inf] * len(order)
    cut = [0] * (len(order) + 1)
    for end in range(1, len(order) + 1):
        width = sorted_lengths[end - 1]
        for start in range(end):
            cost = best[start] + overhead + (end - start) * width
            if cost < best[end]:
                best[end], cut[end] = cost, start
    groups, end = [], len(order)
    while end:
        groups.append(order[cut[end] : end])
        end = cut[end]
    return groups[::-1]


def length_split(inputs: dict, overhead: int) -> tuple[list[dict], torch.Tensor]:
    """A right-padded batch as forward passes of similar lengths, each cut to its own
    width, and the index that puts the concatenated scores back in the batch's order."""
    lengths = inputs["attention_mask"].sum(1).tolist()
    groups = length_groups(lengths, overhead)
    parts = []
    for rows in groups:
        width = max(lengths[r] for r in rows)
        index = torch.tensor(rows, dtype=torch.long)
        parts.append({k: v[index, :width] for k, v in inputs.items()})
    order = torch.tensor([r for rows in groups for r in rows], dtype=torch.long)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order))
    return parts, inverse
