"""The rewrite diff: pieces rebuild both texts, and changes are whole words."""

from annotation.authoring.diffing import diff_counts, word_diff


def rebuild(pieces, keep: str) -> str:
    return "".join(p.text for p in pieces if p.op in {"equal", keep})


def test_pieces_rebuild_both_texts():
    before = "Paris is the capital of Germany.\n\nIt has 2 million people 👋."
    after = "Paris is the capital of France.\n\nIt has about 2.1 million people 👋."
    pieces = word_diff(before, after)
    assert rebuild(pieces, "delete") == before
    assert rebuild(pieces, "insert") == after
    assert [p.text for p in pieces if p.op == "delete"] == ["Germany.", "2"]
    assert [p.text for p in pieces if p.op == "insert"] == ["France.", "about 2.1"]
    assert diff_counts(pieces) == {"delete": 2, "insert": 3}


def test_identical_and_empty_texts():
    assert [p.op for p in word_diff("same text", "same text")] == ["equal"]
    assert word_diff("", "new") == [type(word_diff("", "new")[0])("insert", "new")]
