"""Consensus rankings: Bradley–Terry where it exists, weighted Borda where it does not."""

import pytest

from annotation.quality.metrics.consensus import consensus


def test_unanimous_annotators_fall_back_to_borda_with_certain_pairs():
    result = consensus([([[1], [2], [3]], 1.0)] * 3)
    assert result.method == "borda"
    assert result.ranking == [[1], [2], [3]]
    assert result.pair_confidence[(1, 2)] == 1.0 and result.pair_confidence[(2, 3)] == 1.0


def test_a_split_item_is_fitted_by_bradley_terry_at_its_likelihood_maximum():
    # given three annotators who disagree in a way that connects every pair both ways
    judgements = [([[1], [2], [3]], 1.0), ([[2], [3], [1]], 1.0), ([[1], [3], [2]], 1.0)]
    result = consensus(judgements)
    assert result.method == "bradley_terry"
    p = result.scores
    assert sum(p.values()) == pytest.approx(1.0)
    # then the MLE equations hold: each response's wins equal its expected wins
    wins = {1: 4, 2: 3, 3: 2}  # pair wins summed over the three rankings
    pairs = [(1, 2), (1, 3), (2, 3)]
    observed = {1: 0, 2: 0, 3: 0}
    for ranking, _ in judgements:
        order = [tier[0] for tier in ranking]
        for a, b in pairs:
            observed[a if order.index(a) < order.index(b) else b] += 1
    assert observed == wins
    for i in p:
        expected = sum(3 * p[i] / (p[i] + p[j]) for j in p if j != i)
        assert expected == pytest.approx(observed[i], abs=1e-6)
    assert result.ranking == [[1], [2], [3]]
    assert result.pair_confidence[(1, 2)] == pytest.approx(p[1] / (p[1] + p[2]))


def test_ties_count_half_and_weights_matter():
    # a reliable annotator (weight 3) says 2 > 1; an unreliable one (weight 1) says 1 > 2
    result = consensus([([[2], [1]], 3.0), ([[1], [2]], 1.0)])
    assert result.ranking == [[2], [1]]
    assert result.pair_confidence[(1, 2)] == pytest.approx(0.25)
    # an all-ties item is one tier with even odds
    tied = consensus([([[1, 2, 3]], 1.0), ([[1, 2, 3]], 1.0)])
    assert tied.ranking == [[1, 2, 3]] and tied.pair_confidence[(1, 3)] == 0.5
    # zero weight removes an annotator; nothing left means no consensus
    assert consensus([([[1], [2]], 0.0)]).method == "none"


def test_one_annotator_and_k_two():
    single = consensus([([[5], [4, 6]], 1.0)])
    assert single.method == "borda" and single.ranking == [[5], [4, 6]]
    assert consensus([([[1], [2]], 1.0), ([[2], [1]], 1.0)]).ranking == [[1, 2]]
