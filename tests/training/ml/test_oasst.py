"""Open-Assistant trees to ranked examples."""

import json

import pytest

from tests.training.ml.conftest import shared_data
from training.ml.oasst import rankings_of
from training.ml.preference_data import example_of


def _msg(mid, role, text, replies=(), **extra):
    return {"message_id": mid, "role": role, "text": text, "replies": list(replies), **extra}


def test_ranked_replies_become_one_example_best_first_skipping_unranked_and_synthetic():
    tree = {
        "message_tree_id": "t1",
        "prompt": _msg("p", "prompter", "Hi?", [
            _msg("a", "assistant", "second", rank=1),
            _msg("b", "assistant", "first", [
                _msg("c", "prompter", "More?", [
                    _msg("d", "assistant", "fine", rank=0),
                    _msg("e", "assistant", "machine", rank=1, synthetic=True),
                ]),
            ], rank=0),
            _msg("u", "assistant", "unranked"),
            _msg("s", "assistant", "third", rank=2),
        ]),
    }  # fmt: skip
    rows = list(rankings_of(tree))
    assert len(rows) == 1  # the second level has one ranked reply once the synthetic is out
    row = rows[0]
    assert row["prompt"] == "\n\nHuman: Hi?\n\nAssistant:"
    assert row["responses"] == ["first", "second", "third"]
    assert row["ranking"] == [[0], [1], [2]] and row["id"] == "oasst/t1/p"
    assert example_of(row, "x").pairs() == [(0, 1), (0, 2), (1, 2)]
    assert len(list(rankings_of(tree, keep_synthetic=True))) == 2


def test_the_shared_trees_give_rankings_up_to_nine_when_present():
    shared = shared_data()
    if shared is None:
        pytest.skip("../shared/data is not beside this checkout (the built-in tree test ran)")
    rows = []
    for line in (shared / "oasst_en_100_tree.jsonl").read_text(encoding="utf-8").splitlines():
        rows.extend(rankings_of(json.loads(line)))
    sizes = [len(r["responses"]) for r in rows]
    assert len(rows) > 150 and max(sizes) >= 8 and min(sizes) == 2
    assert sum(1 for k in sizes if k >= 3) > 100
