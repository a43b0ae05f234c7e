"""Pairs, splits and options of the export: hand-computed expectations."""

import pytest

from training.datasets.export.binarize import Binarization, pairs_of
from training.datasets.export.options import options_check
from training.datasets.export.splits import split_of, splits_check


def _pairs(ranking, **kwargs):
    return [(p.chosen, p.rejected, p.margin) for p in pairs_of(ranking, **kwargs)]


@pytest.mark.parametrize(
    ("ranking", "mode", "expected"),
    [
        # a full ranking of 4 without ties: 4*3/2 = 6 pairs, margins = tier distance
        (
            [[1], [2], [3], [4]],
            Binarization.ALL,
            [(1, 2, 1), (1, 3, 2), (1, 4, 3), (2, 3, 1), (2, 4, 2), (3, 4, 1)],
        ),
        # a tie in the middle: the tied pair (2, 3) makes no pair, 5 are left
        (
            [[1], [2, 3], [4]],
            Binarization.ALL,
            [(1, 2, 1), (1, 3, 1), (1, 4, 2), (2, 4, 1), (3, 4, 1)],
        ),
        ([[1], [2, 3], [4]], Binarization.BEST_VS_REST, [(1, 2, 1), (1, 3, 1), (1, 4, 2)]),
        ([[1], [2, 3], [4]], Binarization.BEST_VS_WORST, [(1, 4, 2)]),
        ([[1], [2, 3], [4]], Binarization.ADJACENT, [(1, 2, 1), (1, 3, 1), (2, 4, 1), (3, 4, 1)]),
        # everything tied: nothing to learn from
        ([[1, 2, 3]], Binarization.ALL, []),
        # a tied top tier against one below
        ([[2, 1], [3]], Binarization.BEST_VS_WORST, [(1, 3, 1), (2, 3, 1)]),
    ],
)
def test_pairs_from_rankings(ranking, mode, expected):
    assert _pairs(ranking, mode=mode) == expected


def test_margin_binarization_keeps_pairs_at_or_above_the_margin():
    pairs = _pairs([[1], [2], [3], [4]], mode=Binarization.MARGIN, min_margin=2)
    assert pairs == [(1, 3, 2), (1, 4, 3), (2, 4, 2)]


def test_pairwise_mode_margin_is_the_strength():
    assert _pairs([[7], [9]], strength=3) == [(7, 9, 3.0)]
    assert _pairs([[7, 9]], strength=3) == []  # a tie has no pair whatever its strength


def test_rate_mode_margins_are_rating_differences_and_equal_ratings_make_no_pair():
    ratings = {"1": 5, "2": 3, "3": 3}
    # the ranking a rate-mode annotation is normalised to: by rating, equal ones tied
    assert _pairs([[1], [2, 3]], ratings=ratings) == [(1, 2, 2.0), (1, 3, 2.0)]


def test_splits_are_validated_with_the_field_named():
    assert splits_check({"train": 0.8, "validation": 0.1, "test": 0.1}) == {
        "train": 0.8,
        "validation": 0.1,
        "test": 0.1,
    }
    with pytest.raises(ValueError, match="add up to 1"):
        splits_check({"train": 0.8, "test": 0.1})
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        splits_check({"train": 0.9, "dev": 0.1})
    with pytest.raises(ValueError, match="splits.test"):
        splits_check({"train": 1.5, "test": -0.5})


def test_split_of_is_stable_per_group_and_follows_the_ratios():
    ratios = {"train": 0.8, "validation": 0.1, "test": 0.1}
    keys = [f"prompt-{n}" for n in range(5000)]
    first = [split_of(k, seed=7, ratios=ratios) for k in keys]
    assert first == [split_of(k, seed=7, ratios=ratios) for k in keys]
    shares = {name: first.count(name) / len(keys) for name in ratios}
    assert shares["train"] == pytest.approx(0.8, abs=0.03)
    assert shares["test"] == pytest.approx(0.1, abs=0.02)
    # another seed deals the prompts differently
    assert first != [split_of(k, seed=8, ratios=ratios) for k in keys]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"formats": ["pairwise", "csv"]}, "formats: unknown value 'csv'"),
        ({"aggregation": "majority"}, "aggregation: unknown value 'majority'"),
        ({"binarization": "top2"}, "binarization: unknown value 'top2'"),
        ({"filters": {"min_agreement": 2}}, "filters.min_agreement: must be between 0 and 1"),
        ({"filters": {"created_from": "yesterday"}}, "filters.created_from: must be a date"),
        ({"filters": {"colour": "red"}}, "filters.colour: unknown filter"),
        ({"seed": "abc"}, "seed: must be a number"),
        # "nan" parses as a float; jsonb (and every comparison) refuses it.
        ({"filters": {"min_agreement": "nan"}}, "filters.min_agreement: must be a finite number"),
        ({"min_margin": "inf"}, "min_margin: must be a finite number"),
        ({"splits": {"train": float("nan"), "test": 0.1}}, "splits.train: must be a number"),
        (
            {"filters": {"tags_present": ["a\x00"]}},
            "filters.tags_present: .* holds a character a tag name cannot have",
        ),
        ({"split": {"train": 1}}, "split: unknown option"),
    ],
)
def test_bad_options_name_the_field(raw, message):
    with pytest.raises(ValueError, match=message):
        options_check(raw)


def test_options_round_trip_through_the_manifest_form():
    options = options_check(
        {
            "formats": "pairwise,listwise",
            "aggregation": "consensus",
            "splits": {"train": 0.5, "test": 0.5},
            "filters": {"rounds": [2, 1], "tags_present": "toxic, off-topic"},
        }
    )
    assert options.formats == ("pairwise", "listwise")
    assert options.filters.rounds == (1, 2)
    assert options.filters.tags_present == ("off-topic", "toxic")
    assert options_check(options.as_dict()) == options
