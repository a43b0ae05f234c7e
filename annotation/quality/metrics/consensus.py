"""One consensus ranking per item from its annotations, weighted by annotator reliability.

Bradley–Terry (Bradley & Terry 1952) gives each response a strength p_i so that
P(i beats j) = p_i / (p_i + p_j); it is fitted by Hunter's (2004) MM iteration over all
pairwise preferences the item's rankings imply, each weighted by its annotator's
reliability, a tie counting half a win to each side. The maximum-likelihood fit exists
only when every response both wins and loses somewhere in a strongly connected way
(Ford 1957); when it does not (unanimous annotators, one annotator, K = 2 without a
split), the consensus falls back to a weighted Borda count and the pair confidence to
the weighted share of annotators preferring one response over the other.
"""

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from annotation.quality.metrics.rankings import Tiers, relation, tier_of

MAX_ITERATIONS = 500
TOLERANCE = 1e-10
TIE_TOLERANCE = 1e-6  # relative score difference under which two responses share a tier


@dataclass(frozen=True)
class Consensus:
    method: str  # "bradley_terry", "borda", or "none" when there is nothing to aggregate
    ranking: list[list[int]]  # tiers of response ids, best first
    scores: dict[int, float]  # BT strengths (sum 1) or Borda points
    # P(first beats second) for every pair (smaller id first).
    pair_confidence: dict[tuple[int, int], float]


def _wins(judgements: Sequence[tuple[Tiers, float]]) -> tuple[list[int], dict]:
    wins: dict[tuple[int, int], float] = defaultdict(float)  # (i, j): weight of i over j
    ids: set[int] = set()
    for ranking, weight in judgements:
        tiers = tier_of(ranking)
        ids |= set(tiers)
        for a, b in combinations(sorted(tiers), 2):
            outcome = relation(tiers, a, b)
            if outcome > 0:
                wins[(a, b)] += weight
            elif outcome < 0:
                wins[(b, a)] += weight
            else:
                wins[(a, b)] += weight / 2
                wins[(b, a)] += weight / 2
    return sorted(ids), wins


def _strongly_connected(ids: list[int], wins: dict) -> bool:
    """Every response reaches every other along "beats" edges (and back)."""

    def reach(start: int, forward: bool) -> set[int]:
        seen, stack = {start}, [start]
        while stack:
            node = stack.pop()
            for other in ids:
                edge = (node, other) if forward else (other, node)
                if other not in seen and wins.get(edge, 0) > 0:
                    seen.add(other)
                    stack.append(other)
        return seen

    return len(reach(ids[0], True)) == len(ids) == len(reach(ids[0], False))


def _bradley_terry(ids: list[int], wins: dict) -> dict[int, float]:
    # Lists indexed by position and each response's compared opponents worked out once:
    # the fit runs inside every submit, up to hundreds of iterations.
    total_wins = [sum(wins.get((i, j), 0) for j in ids if j != i) for i in ids]
    opponents = []
    for i in ids:
        counts = [(n, wins.get((i, j), 0) + wins.get((j, i), 0)) for n, j in enumerate(ids)]
        opponents.append([(n, count) for n, count in counts if ids[n] != i and count > 0])
    strength = [1 / len(ids)] * len(ids)
    for _ in range(MAX_ITERATIONS):
        updated = [
            won / sum(count / (own + strength[n]) for n, count in against)
            for won, own, against in zip(total_wins, strength, opponents, strict=True)
        ]
        norm = sum(updated)
        updated = [value / norm for value in updated]
        change = max(abs(new - old) for new, old in zip(updated, strength, strict=True))
        strength = updated
        if change < TOLERANCE:
            break
    return dict(zip(ids, strength, strict=True))


def _tiers_by_score(scores: dict[int, float]) -> list[list[int]]:
    ordered = sorted(scores, key=lambda i: (-scores[i], i))
    tiers: list[list[int]] = []
    for rid in ordered:
        top = scores[tiers[-1][0]] if tiers else None
        if top is not None and math.isclose(scores[rid], top, rel_tol=TIE_TOLERANCE):
            tiers[-1].append(rid)
        else:
            tiers.append([rid])
    return tiers


def consensus(judgements: Sequence[tuple[Tiers, float]]) -> Consensus:
    """Aggregate ``(ranking, annotator weight)`` pairs of one item; weights are ≥ 0."""
    judgements = [(ranking, weight) for ranking, weight in judgements if weight > 0]
    ids, wins = _wins(judgements)
    if not ids:
        return Consensus("none", [], {}, {})
    if len(ids) > 1 and _strongly_connected(ids, wins):
        strength = _bradley_terry(ids, wins)
        confidence = {
            (a, b): strength[a] / (strength[a] + strength[b]) for a, b in combinations(ids, 2)
        }
        return Consensus("bradley_terry", _tiers_by_score(strength), strength, confidence)
    points = {i: sum(wins.get((i, j), 0) for j in ids if j != i) for i in ids}
    confidence = {}
    for a, b in combinations(ids, 2):
        compared = wins.get((a, b), 0) + wins.get((b, a), 0)
        confidence[(a, b)] = wins.get((a, b), 0) / compared if compared else 0.5
    return Consensus("borda", _tiers_by_score(points), points, confidence)
