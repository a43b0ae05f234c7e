"""A ranking as tiers of response ids, best first; a tier of several ids is a tie."""

from collections.abc import Iterable, Sequence
from itertools import combinations

Tiers = Sequence[Sequence[int]]


def tier_of(ranking: Tiers) -> dict[int, int]:
    """Response id → tier index (0 best)."""
    return {rid: index for index, tier in enumerate(ranking) for rid in tier}


def mid_ranks(ranking: Tiers) -> dict[int, float]:
    """Response id → rank position, ties sharing the mean of their positions (1 best)."""
    ranks: dict[int, float] = {}
    position = 1
    for tier in ranking:
        mean = position + (len(tier) - 1) / 2
        for rid in tier:
            ranks[rid] = mean
        position += len(tier)
    return ranks


def relation(tiers: dict[int, int], a: int, b: int) -> int:
    """+1 if ``a`` is ranked above ``b``, -1 if below, 0 if tied."""
    if tiers[a] < tiers[b]:
        return 1
    if tiers[a] > tiers[b]:
        return -1
    return 0


def pair_relations(ranking: Tiers) -> dict[tuple[int, int], int]:
    """Every unordered pair (smaller id first) with its relation."""
    tiers = tier_of(ranking)
    return {(a, b): relation(tiers, a, b) for a, b in combinations(sorted(tiers), 2)}


def shared_ids(rankings: Iterable[Tiers]) -> list[int]:
    """The response ids every ranking ranks, sorted."""
    sets = [set(tier_of(r)) for r in rankings]
    return sorted(set.intersection(*sets)) if sets else []


def score_agreement(ranking: Tiers, scores: dict[int, float]) -> tuple[float, int]:
    """How far a model's scores agree with a person's ranking: (agreements, pairs).

    Counts the pairs the ranking orders (tied pairs say nothing about which is better) whose
    responses both have a score; an equal score counts half, like a coin flip.
    """
    tiers = tier_of(ranking)
    scored = sorted(rid for rid in tiers if rid in scores)
    agreements, pairs = 0.0, 0
    for a, b in combinations(scored, 2):
        said = relation(tiers, a, b)
        if said == 0:
            continue
        pairs += 1
        margin = (scores[a] - scores[b]) * said
        agreements += 1.0 if margin > 0 else 0.5 if margin == 0 else 0.0
    return agreements, pairs
