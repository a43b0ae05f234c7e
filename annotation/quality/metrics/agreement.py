"""Agreement between annotators' rankings of the same responses.

- ``pairwise_agreement``: the share of response pairs two annotators order the same way.
  Ties are a third answer: tie–tie agrees; tie against a preference disagrees.
- ``kendall_tau_b``: Kendall's tau-b (Kendall 1945), ties corrected; equals
  ``scipy.stats.kendalltau(..., variant="b")``.
- ``kendall_w``: Kendall's coefficient of concordance W for m annotators over n responses,
  with the tie correction of Kendall & Babington Smith (1939).
- ``cycle_rate``: the share of fully compared response triads whose preferences form a
  cycle (a > b > c > a), for pairwise judgements that need not be transitive.
"""

import math
from collections.abc import Sequence
from itertools import combinations

from annotation.quality.metrics.rankings import Tiers, mid_ranks, relation, shared_ids, tier_of


def pairwise_agreement(a: Tiers, b: Tiers) -> tuple[int, int]:
    """(pairs ordered the same way, pairs compared) over the responses both ranked."""
    ids = shared_ids([a, b])
    tiers_a, tiers_b = tier_of(a), tier_of(b)
    same = total = 0
    for x, y in combinations(ids, 2):
        total += 1
        same += relation(tiers_a, x, y) == relation(tiers_b, x, y)
    return same, total


def kendall_tau_b(a: Tiers, b: Tiers) -> float | None:
    """Tau-b over the shared responses; None when one side ties everything (undefined)."""
    ids = shared_ids([a, b])
    tiers_a, tiers_b = tier_of(a), tier_of(b)
    concordant = discordant = ties_a = ties_b = 0
    for x, y in combinations(ids, 2):
        ra, rb = relation(tiers_a, x, y), relation(tiers_b, x, y)
        if ra == 0 and rb == 0:
            continue  # tied in both: counts in neither tie term's complement
        if ra == 0:
            ties_a += 1
        elif rb == 0:
            ties_b += 1
        elif ra == rb:
            concordant += 1
        else:
            discordant += 1
    untied_a = concordant + discordant + ties_b  # pairs not tied in a
    untied_b = concordant + discordant + ties_a  # pairs not tied in b
    if untied_a == 0 or untied_b == 0:
        return None
    return (concordant - discordant) / math.sqrt(untied_a * untied_b)


def kendall_w(rankings: Sequence[Tiers]) -> float | None:
    """W in [0, 1] over the responses all rankings share; None if fewer than 2 raters or
    fewer than 2 responses, or when every rater ties everything (no variance to explain)."""
    m = len(rankings)
    ids = shared_ids(rankings)
    n = len(ids)
    if m < 2 or n < 2:
        return None
    sums = {rid: 0.0 for rid in ids}
    tie_correction = 0.0
    for ranking in rankings:
        restricted = [[rid for rid in tier if rid in sums] for tier in ranking]
        restricted = [tier for tier in restricted if tier]
        for rid, rank in mid_ranks(restricted).items():
            sums[rid] += rank
        tie_correction += sum(len(t) ** 3 - len(t) for t in restricted)
    mean = m * (n + 1) / 2
    s = sum((total - mean) ** 2 for total in sums.values())
    denominator = m**2 * (n**3 - n) - m * tie_correction
    if denominator <= 0:
        return None
    return 12 * s / denominator


def cycle_rate(preferences: dict[tuple[int, int], int]) -> tuple[int, int]:
    """(cyclic triads, triads with all three pairs decided) in one annotator's choices.

    ``preferences`` maps an ordered pair (a, b) with a < b to +1 (a preferred), -1 (b
    preferred) or 0 (tie). Ties are neither cycles nor orders, so triads with a tie are
    not counted.
    """
    beats: dict[int, set[int]] = {}
    for (a, b), choice in preferences.items():
        if choice > 0:
            beats.setdefault(a, set()).add(b)
        elif choice < 0:
            beats.setdefault(b, set()).add(a)
    nodes = sorted({x for pair in preferences for x in pair})
    decided = {(a, b) for (a, b), choice in preferences.items() if choice != 0}
    cyclic = complete = 0
    for x, y, z in combinations(nodes, 3):
        if not {(x, y), (x, z), (y, z)} <= decided:
            continue
        complete += 1
        forward = y in beats.get(x, ()) and z in beats.get(y, ()) and x in beats.get(z, ())
        backward = x in beats.get(y, ()) and y in beats.get(z, ()) and z in beats.get(x, ())
        cyclic += forward or backward
    return cyclic, complete
