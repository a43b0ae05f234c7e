"""Import gold items with their known ranking (indices into the row's responses)."""

import pytest

from annotation.models import Item
from common.jobs import JobState
from tests.annotation.test_import_service import jsonl, row, run_import


def test_gold_rows_import_with_their_ranking_in_response_ids(project, manager):
    # given a row whose known best is responses[2], then [0] tied with [3], then [1]
    content = jsonl(row(1, gold=[[2], [0, 3], [1]]), row(2))

    job = run_import(project, manager, content)

    assert job.state == JobState.SUCCEEDED
    gold = Item.objects.get(is_gold=True)
    text = {r.pk: r.text for r in gold.responses.all()}
    as_texts = [sorted(text[rid] for rid in tier) for tier in gold.gold_ranking]
    original = row(1)["responses"]
    assert as_texts == [[original[2]], sorted([original[0], original[3]]), [original[1]]]
    assert Item.objects.filter(is_gold=False).count() == 1


@pytest.mark.parametrize(
    ("gold", "message"),
    [
        ("best", "must be a list of tiers"),
        ([[0], [1], [2], [7]], "not responses of this row"),
        ([[0], [0], [1], [2], [3]], "more than once"),
        ([[0], [1], [2]], "missing [3]"),
        ([[0], ["1"], [2], [3]], "must be a response index"),
    ],
)
def test_a_bad_gold_ranking_imports_nothing_and_names_the_line(project, manager, gold, message):
    job = run_import(project, manager, jsonl(row(1), row(2, gold=gold)))
    assert job.state == JobState.FAILED
    assert Item.objects.count() == 0
    (error,) = job.errors
    assert (error["line"], error["field"].split("[")[0]) == (2, "gold")
    assert message in error["message"]
