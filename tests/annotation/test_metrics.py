"""Agreement metrics against reference implementations and published worked examples."""

import random

import krippendorff
import pytest
from scipy.stats import kendalltau

from annotation.quality.metrics.agreement import (
    cycle_rate,
    kendall_tau_b,
    kendall_w,
    pairwise_agreement,
)
from annotation.quality.metrics.krippendorff import alpha_ordinal
from annotation.quality.metrics.rankings import mid_ranks


def random_ranking(ids, rng, ties=True):
    ids = list(ids)
    rng.shuffle(ids)
    tiers, index = [], 0
    while index < len(ids):
        size = rng.choice([1, 1, 2, 3]) if ties else 1
        tiers.append(ids[index : index + size])
        index += size
    return tiers


def test_pairwise_agreement_treats_ties_as_an_answer():
    a = [[1], [2, 3], [4]]
    b = [[1], [2], [3], [4]]
    # pairs: (1,2) same, (1,3) same, (1,4) same, (2,3) tie vs pref: differ, (2,4), (3,4) same
    assert pairwise_agreement(a, b) == (5, 6)
    assert pairwise_agreement(a, a) == (6, 6)
    assert pairwise_agreement([[1, 2]], [[2, 1]]) == (1, 1)  # both tie: agree
    assert pairwise_agreement([[1], [2]], [[2], [1]]) == (0, 1)  # K = 2, opposite


@pytest.mark.parametrize("seed", range(40))
def test_tau_b_equals_scipy_with_ties(seed):
    rng = random.Random(seed)
    k = rng.randint(2, 9)
    a, b = random_ranking(range(k), rng), random_ranking(range(k), rng)
    ra, rb = mid_ranks(a), mid_ranks(b)
    expected = kendalltau([ra[i] for i in range(k)], [rb[i] for i in range(k)], variant="b")
    ours = kendall_tau_b(a, b)
    if expected.statistic != expected.statistic:  # NaN: undefined in scipy
        assert ours is None
    else:
        assert ours == pytest.approx(expected.statistic)


def test_tau_b_degenerate_cases():
    assert kendall_tau_b([[1, 2, 3]], [[1], [2], [3]]) is None  # one side all ties
    assert kendall_tau_b([[1], [2]], [[1], [2]]) == 1.0
    assert kendall_tau_b([[1], [2]], [[2], [1]]) == -1.0


def test_kendall_w_worked_example():
    # Siegel & Castellan (1988), Nonparametric Statistics, table 9.15: 3 judges rank 6
    # objects; W = 0.16 (no ties). Ranks per judge, objects a..f:
    judges = [[1, 6, 3, 2, 5, 4], [1, 5, 6, 4, 2, 3], [6, 3, 2, 5, 4, 1]]
    rankings = [[[obj] for obj in sorted(range(6), key=lambda o: ranks[o])] for ranks in judges]
    assert kendall_w(rankings) == pytest.approx(0.16, abs=0.005)


def test_kendall_w_bounds_and_degenerate_cases():
    perfect = [[[1], [2], [3]]] * 4
    assert kendall_w(perfect) == pytest.approx(1.0)
    assert kendall_w([[[1], [2], [3]]]) is None  # one annotator
    assert kendall_w([[[1, 2, 3]], [[1, 2, 3]]]) is None  # all ties
    opposite = [[[1], [2]], [[2], [1]]]
    assert kendall_w(opposite) == pytest.approx(0.0)  # K = 2, opposite


def test_kendall_w_with_ties_matches_the_corrected_formula():
    # Two raters, one ties: by hand, R = (2.5, 3.5, 6) ... computed from the definition.
    rankings = [[[1], [2], [3]], [[1, 2], [3]]]
    sums = {1: 1 + 1.5, 2: 2 + 1.5, 3: 3 + 3}
    mean = 2 * 4 / 2
    s = sum((v - mean) ** 2 for v in sums.values())
    expected = 12 * s / (2**2 * (27 - 3) - 2 * (8 - 2))
    assert kendall_w(rankings) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(25))
def test_alpha_ordinal_equals_the_krippendorff_package(seed):
    rng = random.Random(1000 + seed)
    coders, units = rng.randint(2, 5), rng.randint(3, 30)
    data = [[None] * units for _ in range(coders)]
    for u in range(units):
        for c in range(coders):
            if rng.random() < 0.85:
                data[c][u] = rng.randint(1, 5)
    ours = alpha_ordinal(
        {c: data[c][u] for c in range(coders) if data[c][u] is not None} for u in range(units)
    )
    try:
        expected = krippendorff.alpha(
            reliability_data=[[float("nan") if v is None else v for v in row] for row in data],
            level_of_measurement="ordinal",
        )
    except ValueError:
        expected = None  # the package refuses data with one value only
    if expected is None or expected != expected:
        assert ours is None
    else:
        assert ours == pytest.approx(expected)


def test_alpha_worked_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4-coder,
    # 12-unit example with missing values: ordinal alpha = 0.815.
    nan = None
    rows = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
    units = [{c: rows[c][u] for c in range(4) if rows[c][u] is not None} for u in range(12)]
    assert alpha_ordinal(units) == pytest.approx(0.815, abs=0.001)


def test_alpha_degenerate_cases():
    assert alpha_ordinal([{"a": 1}]) is None  # one annotator per unit: nothing pairable
    assert alpha_ordinal([{"a": 2, "b": 2}, {"a": 2, "b": 2}]) is None  # one value only


def test_cycle_rate_counts_rock_paper_scissors():
    # 1 > 2, 2 > 3, 3 > 1 is a cycle; adding 4 below everyone adds transitive triads
    prefs = {(1, 2): 1, (2, 3): 1, (1, 3): -1}
    assert cycle_rate(prefs) == (1, 1)
    prefs.update({(1, 4): 1, (2, 4): 1, (3, 4): 1})
    assert cycle_rate(prefs) == (1, 4)
    assert cycle_rate({(1, 2): 1, (2, 3): 0, (1, 3): 1}) == (0, 0)  # a tie decides nothing
