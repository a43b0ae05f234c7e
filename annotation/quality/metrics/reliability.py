"""Reliability weights for annotators and confidence intervals for win rates.

The weight multiplies an annotator's say in consensus rankings. It starts from how
well they match known answers (gold score) and their peers (agreement with the
leave-one-out consensus) and is halved for each warning sign the data shows: an
implausible speed or a clear position bias. Measures with too little evidence are left
out rather than guessed, so a newcomer starts at full weight.
"""

import math

MIN_WEIGHT = 0.05
MIN_LOO_PAIRS = 20  # response pairs compared with peers before agreement counts
POSITION_Z_LIMIT = 3.0  # standard deviations above chance


def reliability_weight(
    *,
    gold_score: float | None,
    gold_items: int,
    gold_min_answers: int,
    loo_agreement: float | None,
    loo_pairs: float,
    position_z: float | None,
    speed_flag: bool,
) -> float:
    """A weight in [MIN_WEIGHT, 1]."""
    evidence = []
    if gold_score is not None and gold_items >= gold_min_answers:
        evidence.append(gold_score)
    if loo_agreement is not None and loo_pairs >= MIN_LOO_PAIRS:
        evidence.append(loo_agreement)
    weight = sum(evidence) / len(evidence) if evidence else 1.0
    if speed_flag:
        weight /= 2
    if position_z is not None and position_z > POSITION_Z_LIMIT:
        weight /= 2
    return max(MIN_WEIGHT, min(1.0, weight))


def wilson_interval(successes: float, trials: float, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (Wilson 1927) for a proportion; (0, 1) with no trials."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
