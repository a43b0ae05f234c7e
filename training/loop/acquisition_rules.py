"""Acquisition rules: which items annotators should see next (active learning).

Pure Python on purpose (no Django, no torch): the background job that sets item priorities
and ``benchmarks/active_learning.py`` call the same functions, so the benchmark measures
the rule the platform runs.

Every rule turns an item's signals into an *acquisition score*; a higher score means
"ask sooner". ``priorities`` turns scores into the integer ``Item.priority`` the claim
query sorts by.
"""

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from projects.acquisition_mix import DEFAULT_MIX, mix_weights

RANDOM = "random"
UNCERTAINTY = "uncertainty"
DISAGREEMENT = "disagreement"
MIX = "mix"
RULES = (RANDOM, UNCERTAINTY, DISAGREEMENT, MIX)

# A ranking as stored on Annotation.ranking: tiers of response ids, best first.
Tiers = Sequence[Sequence[int]]


@dataclass(frozen=True)
class ItemSignals:
    """What the rules know about one item."""

    item_id: int
    # Reward-model score per response id; empty when the item is not scored yet.
    scores: Mapping[int, float] = field(default_factory=dict)
    # The submitted rankings of the item so far (one per annotator).
    rankings: Sequence[Tiers] = ()


def reward_margin(scores: Sequence[float]) -> float:
    """The smallest gap between any two responses' scores; ``inf`` with fewer than two.

    A small margin means the reward model cannot tell two responses apart, which is where a
    human label teaches it most.
    """
    ordered = sorted(scores)
    if len(ordered) < 2:
        return math.inf
    return min(high - low for low, high in zip(ordered, ordered[1:], strict=False))


def _position(tiers: Tiers) -> dict[int, int]:
    return {response: depth for depth, tier in enumerate(tiers) for response in tier}


def consensus_uncertainty(rankings: Sequence[Tiers]) -> float:
    """How unsure the consensus of ``rankings`` is: 0 unanimous, 1 evenly split.

    For every pair of responses each annotator votes ``a`` better, ``b`` better, or a tie.
    A pair's uncertainty is how far its largest vote share falls below 1, scaled so an even
    split over the choices that got votes is 1; the item's is the mean over pairs. One
    ranking shows no disagreement (0): it is the rule that asks for the second opinion.
    """
    if len(rankings) < 2:
        return 0.0
    positions = [_position(tiers) for tiers in rankings]
    responses = sorted(set().union(*positions))
    pair_uncertainties = []
    for a, b in combinations(responses, 2):
        votes = {"a": 0, "b": 0, "tie": 0}
        for place in positions:
            if a not in place or b not in place:
                continue
            if place[a] < place[b]:
                votes["a"] += 1
            elif place[b] < place[a]:
                votes["b"] += 1
            else:
                votes["tie"] += 1
        total = sum(votes.values())
        if total < 2:
            continue
        top_share = max(votes.values()) / total
        choices = sum(1 for count in votes.values() if count)
        if choices == 1:
            pair_uncertainties.append(0.0)
        else:
            pair_uncertainties.append((1 - top_share) / (1 - 1 / choices))
    if not pair_uncertainties:
        return 0.0
    return sum(pair_uncertainties) / len(pair_uncertainties)


def _uncertainty_score(item: ItemSignals) -> float:
    """Higher for smaller margins; unscored items score 0 (no evidence to prefer them)."""
    margin = reward_margin(list(item.scores.values()))
    return 0.0 if math.isinf(margin) else 1.0 / (1.0 + margin)


def _random_score(item: ItemSignals, seed: int) -> float:
    # Stable per item and seed, so recomputing does not reshuffle the queue for nothing.
    return random.Random(f"{seed}:{item.item_id}").random()


def acquisition_scores(
    rule: str,
    items: Sequence[ItemSignals],
    *,
    seed: int = 0,
    mix: Mapping[str, float] | None = None,
) -> dict[int, float]:
    """Acquisition score per item id under ``rule`` (higher: ask sooner).

    ``mix`` weighs the other rules for ``rule == "mix"`` (default: half uncertainty, a
    quarter each disagreement and random). Each rule's scores are turned into ranks in
    [0, 1] before they are mixed, so no rule dominates through its scale.
    """
    if rule not in RULES:
        raise ValueError(f"acquisition rule must be one of {', '.join(RULES)}, not {rule!r}")
    if rule == RANDOM:
        return {item.item_id: _random_score(item, seed) for item in items}
    if rule == UNCERTAINTY:
        return {item.item_id: _uncertainty_score(item) for item in items}
    if rule == DISAGREEMENT:
        return {item.item_id: consensus_uncertainty(item.rankings) for item in items}
    weights = mix_weights(mix or DEFAULT_MIX)
    mixed = {item.item_id: 0.0 for item in items}
    for part, weight in weights.items():
        for item_id, rank in _ranks(acquisition_scores(part, items, seed=seed)).items():
            mixed[item_id] += weight * rank
    return mixed


def _ranks(scores: Mapping[int, float]) -> dict[int, float]:
    """Scores mapped to [0, 1] by rank (ties share the lower rank), 1 for the highest."""
    if len(scores) < 2:
        return {item_id: 1.0 for item_id in scores}
    ordered = sorted(scores.values())
    last = len(ordered) - 1
    first_index = {}
    for index, value in enumerate(ordered):
        first_index.setdefault(value, index)
    return {item_id: first_index[value] / last for item_id, value in scores.items()}


PRIORITY_SCALE = 1_000_000


def priorities(scores: Mapping[int, float]) -> dict[int, int]:
    """Integer claim priorities (higher first) that keep the order of ``scores``."""
    return {item_id: round(rank * PRIORITY_SCALE) for item_id, rank in _ranks(scores).items()}


def needs_another_annotator(
    rankings: Sequence[Tiers], *, annotators: int, cap: int, threshold: float
) -> bool:
    """The disagreement rule's top-up: one more annotator while the consensus is unsure.

    ``annotators`` counts those who have the item (submitted or holding it); never more
    than ``cap`` in all.
    """
    return annotators < cap and consensus_uncertainty(rankings) >= threshold
