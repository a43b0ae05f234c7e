"""Preference pairs from one judgement: which response beat which, and by how much.

Every mode arrives as ranking tiers (best first; a tier of several is a tie) plus, in
rate mode, the ratings, and in pairwise mode, a strength. Tied responses never make a
pair. The margin is the tier distance (rank mode), the strength (pairwise mode, 1 when
the project does not ask for one) or the rating difference (rate mode).
"""

from enum import StrEnum
from typing import NamedTuple


class Binarization(StrEnum):
    ALL = "all"  # every ordered pair: K(K-1)/2 from a full ranking without ties
    BEST_VS_REST = "best_vs_rest"  # each top-tier response against every lower one
    BEST_VS_WORST = "best_vs_worst"  # top tier against bottom tier only
    ADJACENT = "adjacent"  # neighbouring tiers only
    MARGIN = "margin"  # every pair whose margin reaches ``min_margin``


class Pair(NamedTuple):  # a tuple: an export makes millions of them
    chosen: int  # response id
    rejected: int
    margin: float


def pairs_of(
    ranking: list[list[int]],
    *,
    mode: Binarization = Binarization.ALL,
    min_margin: float = 0.0,
    ratings: dict | None = None,
    strength: int | None = None,
) -> list[Pair]:
    """The pairs ``mode`` keeps from one ranking, best tiers first, ids ascending in a tier."""
    tiers = [sorted(t) for t in ranking if t]
    if len(tiers) < 2:
        return []
    # Pairwise mode: the strength, when asked for, is the margin of its single pair.
    fixed = float(strength) if strength is not None and sum(map(len, tiers)) == 2 else None
    if mode == Binarization.BEST_VS_REST:
        combos = [(0, lower) for lower in range(1, len(tiers))]
    elif mode == Binarization.BEST_VS_WORST:
        combos = [(0, len(tiers) - 1)]
    elif mode == Binarization.ADJACENT:
        combos = [(n, n + 1) for n in range(len(tiers) - 1)]
    else:
        combos = [(a, b) for a in range(len(tiers)) for b in range(a + 1, len(tiers))]
    pairs = []
    for a, b in combos:
        for up in tiers[a]:
            for low in tiers[b]:
                if ratings:
                    margin = float(ratings[str(up)] - ratings[str(low)])
                else:
                    margin = fixed if fixed is not None else float(b - a)  # tier distance
                pairs.append(Pair(up, low, margin))
    if mode == Binarization.MARGIN:
        pairs = [p for p in pairs if p.margin >= min_margin]
    return pairs
