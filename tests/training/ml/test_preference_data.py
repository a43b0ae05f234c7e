"""Reading preference files: every supported shape, and errors that name the place."""

import json

import pytest

from training.ml.preference_data import DataError, examples_load


def _write(tmp_path, rows, name="data.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_listwise_pairwise_implicit_and_conversational_rows(tmp_path):
    path = _write(
        tmp_path,
        [
            {"prompt": "Q?", "responses": ["a", "b", "c"], "ranking": [[1], [0, 2]], "weight": 0.5},
            {"prompt": "Q?", "chosen": "good", "rejected": "bad", "margin": 2},
            {
                "chosen": "\n\nHuman: hi\n\nAssistant: hello",
                "rejected": "\n\nHuman: hi\n\nAssistant: go",
            },
            {
                "prompt": [{"role": "user", "content": "Hi"}],
                "chosen": [{"role": "assistant", "content": "Hello"}],
                "rejected": [{"role": "assistant", "content": "Bye"}],
            },
            {"prompt": "all tied", "responses": ["a", "b"], "ranking": [[0, 1]]},
        ],
    )
    listwise, pairwise, implicit, chat = examples_load([path])
    assert listwise.tiers == [[1], [0, 2]] and listwise.weight == 0.5
    assert listwise.pairs() == [(1, 0), (1, 2)]
    assert pairwise.responses == ["good", "bad"] and pairwise.margin == 2.0
    assert implicit.prompt == "\n\nHuman: hi\n\nAssistant:"
    assert implicit.responses == [" hello", " go"]
    assert chat.prompt == "\n\nHuman: Hi" and chat.responses == ["Hello", "Bye"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{not json", "data.jsonl:2: not JSON"),
        ({"prompt": "x"}, "data.jsonl:2: neither"),
        ({"prompt": "x", "responses": ["a"], "ranking": [[0]]}, "field 'responses'"),
        ({"prompt": "x", "responses": ["a", "b"], "ranking": [[0], [5]]}, "field 'ranking'"),
        ({"prompt": "x", "chosen": "a", "rejected": "b", "weight": "heavy"}, "field 'weight'"),
        ({"prompt": "x", "chosen": 3, "rejected": "b"}, "field 'chosen'"),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path, row, message):
    path = _write(tmp_path, [{"prompt": "ok", "chosen": "a", "rejected": "b"}, row])
    with pytest.raises(DataError, match=message.replace("?", r"\?")):
        examples_load([path])
