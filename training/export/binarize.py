"""Preference pairs from one judgement: which response beat which, and by how much.

Every mode arrives as ranking tiers (best first; a tier of several is a tie) plus, in
rate mode, the ratings, and in pairwise mode, a strength. Tied responses never make a
pair. The margin is the tier distance (rank mode), the strength (pairwise mode, 1 when
the project does not ask for one) or the rating difference (rate mode).
"""

from dataclasses import dataclass
from enum import StrEnum


class Binarization(StrEnum):
    ALL = "all"  # every ordered pair: K(K-1)/2 from a full ranking without ties
    BEST_VS_REST = "best_vs_rest"  # each top-tier response against every lower one
    BEST_VS_WORST = "best_vs_worst"  # top tier against bottom tier only
    ADJACENT = "adjacent"  # neighbouring tiers only
    MARGIN = "margin"  # every pair whose margin reaches ``min_margin``


@dataclass(frozen=True)
class Pair:
    chosen: int  # response id
    rejected: int
    margin: float


def _margin(
    upper: int, lower: int, *, tier: dict[int, int], ratings: dict | None, strength: int | None
) -> float:
    if ratings:
        return float(ratings[str(upper)] - ratings[str(lower)])
    if strength is not None and len(tier) == 2:
        return float(strength)
    return float(tier[lower] - tier[upper])


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
    tier = {rid: n for n, t in enumerate(tiers) for rid in t}
    if len(tiers) < 2:
        return []
    if mode == Binarization.BEST_VS_REST:
        combos = [(0, lower) for lower in range(1, len(tiers))]
    elif mode == Binarization.BEST_VS_WORST:
        combos = [(0, len(tiers) - 1)]
    elif mode == Binarization.ADJACENT:
        combos = [(n, n + 1) for n in range(len(tiers) - 1)]
    else:
        combos = [(a, b) for a in range(len(tiers)) for b in range(a + 1, len(tiers))]
    pairs = [
        Pair(up, low, _margin(up, low, tier=tier, ratings=ratings, strength=strength))
        for a, b in combos
        for up in tiers[a]
        for low in tiers[b]
    ]
    if mode == Binarization.MARGIN:
        pairs = [p for p in pairs if p.margin >= min_margin]
    return pairs
