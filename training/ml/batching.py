"""Batches of whole examples (all responses of a prompt together), grouped by length.

Why by hand: transformers' length-grouped sampler works on independent rows, but a
K-wise loss needs every response of a prompt in the same batch and batches whose size
is counted in sequences (a K=9 prompt weighs more than a pair). So: shuffle with the
seed, cut into mega-batches of ``GROUP`` batches, sort each by length, fill batches up
to ``batch_size`` sequences, then shuffle the batches. Padding stays small and the
order is fixed by the seed (which a resumed run relies on to skip what it has done).
"""

import random

import torch

from training.ml.encoding import Encoded
from training.ml.losses import PairIndex

GROUP = 50


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
