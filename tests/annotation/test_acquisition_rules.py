"""The acquisition rules against values worked by hand."""

import math

import pytest

from training.loop import acquisition_rules as rules
from training.loop.acquisition_rules import ItemSignals


def test_the_reward_margin_is_the_smallest_gap_between_two_responses():
    # Sorted 0.1, 0.5, 2.0, 2.2: gaps 0.4, 1.5, 0.2 -> 0.2.
    assert rules.reward_margin([2.0, 0.1, 2.2, 0.5]) == pytest.approx(0.2)
    assert rules.reward_margin([1.0, -1.0]) == pytest.approx(2.0)
    assert math.isinf(rules.reward_margin([3.0]))


def test_uncertainty_orders_items_by_their_hand_computed_margins():
    items = [
        ItemSignals(1, {10: 0.0, 11: 3.0}),  # margin 3.0
        ItemSignals(2, {20: 1.0, 21: 1.1, 22: 5.0}),  # margin 0.1
        ItemSignals(3, {30: -2.0, 31: -1.0}),  # margin 1.0
        ItemSignals(4, {}),  # not scored: last
    ]
    scores = rules.acquisition_scores(rules.UNCERTAINTY, items)
    assert scores[2] == pytest.approx(1 / 1.1)
    assert scores[3] == pytest.approx(1 / 2.0)
    assert scores[1] == pytest.approx(1 / 4.0)
    assert sorted(scores, key=scores.get, reverse=True) == [2, 3, 1, 4]
    assert rules.priorities(scores) == {2: 1_000_000, 3: 666_667, 1: 333_333, 4: 0}


def test_consensus_uncertainty_is_zero_when_unanimous_and_one_when_split_evenly():
    a_first, b_first = [[1], [2]], [[2], [1]]
    assert rules.consensus_uncertainty([a_first]) == 0.0  # one opinion shows no disagreement
    assert rules.consensus_uncertainty([a_first, a_first, a_first]) == 0.0
    assert rules.consensus_uncertainty([a_first, b_first]) == 1.0
    # 2 against 1: top share 2/3, even split 1/2 -> (1 - 2/3) / (1 - 1/2) = 2/3.
    assert rules.consensus_uncertainty([a_first, a_first, b_first]) == pytest.approx(2 / 3)
    # A tie is a third choice: a, b and tie once each is an even split.
    assert rules.consensus_uncertainty([a_first, b_first, [[1, 2]]]) == pytest.approx(1.0)


def test_consensus_uncertainty_averages_over_pairs_of_three_responses():
    # Pairs (1,2) and (1,3): both annotators agree; (2,3): split -> mean (0 + 0 + 1) / 3.
    rankings = [[[1], [2], [3]], [[1], [3], [2]]]
    assert rules.consensus_uncertainty(rankings) == pytest.approx(1 / 3)


def test_the_disagreement_rule_adds_annotators_only_up_to_the_cap():
    split = [[[1], [2]], [[2], [1]]]
    assert rules.needs_another_annotator(split, annotators=2, cap=3, threshold=0.5)
    assert not rules.needs_another_annotator(split, annotators=3, cap=3, threshold=0.5)
    agreed = [[[1], [2]], [[1], [2]]]
    assert not rules.needs_another_annotator(agreed, annotators=2, cap=3, threshold=0.5)


def test_random_is_stable_per_seed_and_differs_between_seeds():
    items = [ItemSignals(n) for n in range(50)]
    first = rules.acquisition_scores(rules.RANDOM, items, seed=1)
    assert first == rules.acquisition_scores(rules.RANDOM, items, seed=1)
    assert first != rules.acquisition_scores(rules.RANDOM, items, seed=2)


def test_mix_weighs_the_ranks_of_each_rule():
    items = [
        ItemSignals(1, {1: 0.0, 2: 0.1}, [[[1], [2]], [[1], [2]]]),  # unsure model, agreed
        ItemSignals(2, {3: 0.0, 4: 5.0}, [[[3], [4]], [[4], [3]]]),  # sure model, split
    ]
    only_model = rules.acquisition_scores(rules.MIX, items, mix={"uncertainty": 1})
    assert only_model == {1: 1.0, 2: 0.0}
    only_people = rules.acquisition_scores(rules.MIX, items, mix={"disagreement": 1})
    assert only_people == {1: 0.0, 2: 1.0}
    with pytest.raises(ValueError, match="mix weights"):
        rules.acquisition_scores(rules.MIX, items, mix={"loudest": 1})
    with pytest.raises(ValueError, match="acquisition rule must be one of"):
        rules.acquisition_scores("newest", items)
