"""The import parser: happy paths for both formats, every malformed input, and streaming."""

import io
import json
import tracemalloc

import orjson
import pytest

from annotation.importing import (
    ImportedResponse,
    ImportRow,
    RowError,
    csv_rows,
    detect_format,
    iter_import_rows,
    jsonl,
)
from annotation.importing.fields import MAX_JSON_DEPTH

TEN_MB = 10 * 1024 * 1024


def parse(data: bytes | str, *, fmt: str = "jsonl", k: int = 2, filename: str = "") -> list:
    if isinstance(data, str):
        data = data.encode("utf-8")
    stream = io.BytesIO(data)
    return list(iter_import_rows(stream, file_format=fmt, responses_per_item=k, filename=filename))


def lines(*rows: object) -> str:
    """JSON Lines text; strings are taken as raw lines."""
    return "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)


def rows_of(entries: list) -> list[ImportRow]:
    return [entry for entry in entries if isinstance(entry, ImportRow)]


def errors_of(entries: list) -> list[RowError]:
    return [entry for entry in entries if isinstance(entry, RowError)]


def only_row(entries: list) -> ImportRow:
    assert errors_of(entries) == []
    (row,) = rows_of(entries)
    return row


# --- JSONL happy paths ------------------------------------------------------------------------


def test_native_row_with_string_prompt():
    # given
    data = lines(
        {
            "id": "q-1",
            "prompt": "  What is 2+2?\n",
            "responses": ["4", "5"],
            "metadata": {"topic": "math"},
            "priority": 5,
            "batch": "pilot",
        }
    )

    # when
    row = only_row(parse(data))

    # then
    assert row == ImportRow(
        line=1,
        external_id="q-1",
        messages=[{"role": "user", "content": "  What is 2+2?\n"}],
        responses=[ImportedResponse("4"), ImportedResponse("5")],
        metadata={"topic": "math"},
        priority=5,
        batch="pilot",
        preferred_index=None,
    )


def test_native_row_with_conversation_prompt_and_integer_id():
    # given
    conversation = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Name a colour."},
    ]

    # when
    row = only_row(parse(lines({"id": 7, "prompt": conversation, "responses": ["Red", "Blue"]})))

    # then
    assert row.external_id == "7"
    assert row.messages == conversation


def test_object_responses_keep_model_and_metadata():
    # given
    responses = [
        {"text": "A", "model": "llama-3-8b", "metadata": {"temperature": 0.7}},
        "B",
        {"text": "C"},
    ]

    # when
    row = only_row(parse(lines({"prompt": "p", "responses": responses}), k=3))

    # then
    assert row.responses == [
        ImportedResponse("A", "llama-3-8b", {"temperature": 0.7}),
        ImportedResponse("B"),
        ImportedResponse("C"),
    ]


def test_trl_pair_of_strings_keeps_chosen_first():
    # given
    data = lines({"prompt": "p", "chosen": "good", "rejected": "bad", "source": "hh"})

    # when
    row = only_row(parse(data))

    # then
    assert [response.text for response in row.responses] == ["good", "bad"]
    assert row.preferred_index == 0
    assert row.metadata == {"source": "hh"}


def test_trl_conversational_pair_takes_the_shared_turns_as_prompt():
    # given
    shared = [{"role": "user", "content": "Hi"}]
    data = lines(
        {
            "chosen": [*shared, {"role": "assistant", "content": "Hello, how can I help?"}],
            "rejected": [*shared, {"role": "assistant", "content": "What."}],
            "score_chosen": 8.5,
            "score_rejected": 2,
        }
    )

    # when
    row = only_row(parse(data))

    # then
    assert row.messages == shared
    assert [response.text for response in row.responses] == ["Hello, how can I help?", "What."]
    assert row.metadata == {"score_chosen": 8.5, "score_rejected": 2}


def test_trl_conversational_pair_with_explicit_prompt():
    # given
    data = lines(
        {
            "prompt": [{"role": "user", "content": "Sky colour?"}],
            "chosen": [{"role": "assistant", "content": "Blue."}],
            "rejected": [{"role": "assistant", "content": "Green."}],
            "metadata": {"source": "mine"},
            "source": "theirs",
        }
    )

    # when
    row = only_row(parse(data))

    # then
    assert row.messages == [{"role": "user", "content": "Sky colour?"}]
    assert [response.text for response in row.responses] == ["Blue.", "Green."]
    assert row.metadata == {"source": "mine"}  # the row's own metadata wins


def test_hh_rlhf_transcript_prompt_becomes_messages():
    # given
    prompt = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how are you?\n\nAssistant:"

    # when
    row = only_row(parse(lines({"prompt": prompt, "responses": ["fine", "bad"]})))

    # then
    assert row.messages == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "how are you?"},
    ]


def test_bom_and_blank_lines_are_skipped_but_counted():
    # given
    data = "\ufeff" + lines(
        {"prompt": "a", "responses": ["1", "2"]},
        "",
        "   ",
        {"prompt": "b", "responses": ["1", "2"]},
    )

    # when
    entries = parse(data)

    # then
    assert errors_of(entries) == []
    assert [row.line for row in rows_of(entries)] == [1, 4]


def test_missing_id_gives_a_stable_content_hash():
    # given
    data = lines(
        {"prompt": "p", "responses": ["a", "b"]},
        {"prompt": "p", "responses": ["b", "a"]},
    )

    # when
    first, second = parse(data), parse(data)

    # then
    ids = [row.external_id for row in rows_of(first)]
    assert ids == [row.external_id for row in rows_of(second)]
    assert all(value.startswith("sha256:") and len(value) == 7 + 32 for value in ids)
    assert ids[0] != ids[1]


def test_content_hash_is_the_same_for_jsonl_and_csv():
    # given
    json_data = lines({"prompt": "p", "responses": ["a", "b"]})
    csv_data = "prompt,response_1,response_2\np,a,b\n"

    # when
    from_json, from_csv = only_row(parse(json_data)), only_row(parse(csv_data, fmt="csv"))

    # then
    assert from_json.external_id == from_csv.external_id


# --- CSV happy paths --------------------------------------------------------------------------


def test_csv_with_response_columns():
    # given
    data = (
        "id,prompt,response_1,model_1,response_2,model_2,metadata,priority,batch\n"
        'r1,Hello,Hi,gpt-4o,Hey,,"{""lang"": ""en""}",-3,week 1\n'
    )

    # when
    row = only_row(parse(data, fmt="csv"))

    # then
    assert row.line == 2
    assert row.external_id == "r1"
    assert row.messages == [{"role": "user", "content": "Hello"}]
    assert row.responses == [ImportedResponse("Hi", "gpt-4o"), ImportedResponse("Hey")]
    assert (row.metadata, row.priority, row.batch) == ({"lang": "en"}, -3, "week 1")


def test_csv_with_chosen_and_rejected():
    # given
    data = "Prompt , Chosen,rejected\nq,yes,no\n"

    # when
    row = only_row(parse(data, fmt="csv"))

    # then
    assert [response.text for response in row.responses] == ["yes", "no"]
    assert row.preferred_index == 0


def test_csv_multi_line_quoted_fields_report_the_line_they_start_on():
    # given
    data = (
        "\ufeffprompt,response_1,response_2\r\n"
        '"Line one\r\nline two, with ""quotes""",a,b\r\n'
        "\r\n"
        'second,"x\ny\nz","1,2"\r\n'
        ",,\r\n"
        "third,c,d\r\n"
    )

    # when
    entries = parse(data, fmt="csv")

    # then
    assert errors_of(entries) == []
    rows = rows_of(entries)
    assert [row.line for row in rows] == [2, 5, 9]
    assert rows[0].messages[0]["content"] == 'Line one\r\nline two, with "quotes"'
    assert [response.text for response in rows[1].responses] == ["x\ny\nz", "1,2"]


def test_csv_leaves_the_stream_open_for_a_second_pass():
    # given
    stream = io.BytesIO(b"prompt,response_1,response_2\nq,a,b\n")

    # when
    first = list(iter_import_rows(stream, file_format="csv", responses_per_item=2))
    stream.seek(0)
    second = list(iter_import_rows(stream, file_format="csv", responses_per_item=2))

    # then
    assert not stream.closed
    assert first == second and len(rows_of(first)) == 1


def test_csv_reader_abandoned_midway_leaves_the_stream_open():
    # given
    stream = io.BytesIO(b"prompt,response_1,response_2\nq,a,b\nr,a,b\n")
    entries = iter_import_rows(stream, file_format="csv", responses_per_item=2)

    # when
    next(entries)
    entries.close()

    # then
    assert not stream.closed


def test_reads_a_django_file_object():
    # given: the service hands over what default_storage.open returns
    files = pytest.importorskip("django.core.files.base")
    stream = files.File(io.BytesIO(b"prompt,response_1,response_2\nq,a,b\n"))

    # when
    entries = list(iter_import_rows(stream, file_format="csv", responses_per_item=2))

    # then
    assert len(rows_of(entries)) == 1 and not stream.closed


# --- formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("data.jsonl", "jsonl"),
        ("DATA.JSON", "jsonl"),
        ("x.ndjson", "jsonl"),
        ("a.b.csv", "csv"),
    ],
)
def test_detect_format(filename, expected):
    assert detect_format(filename) == expected


@pytest.mark.parametrize("filename", ["data.xlsx", "data", "data.jsonl.gz"])
def test_detect_format_rejects_other_files(filename):
    with pytest.raises(ValueError, match="upload JSON Lines"):
        detect_format(filename)


def test_unknown_format_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown import format"):
        iter_import_rows(io.BytesIO(b""), file_format="xml", responses_per_item=2)


# --- malformed input --------------------------------------------------------------------------

GOOD = {"prompt": "p", "responses": ["a", "b"]}
CONVERSATION_ENDING_WITH_ASSISTANT = [
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": "hello"},
]
CHOSEN_ENDING_WITH_USER = [
    {"role": "assistant", "content": "x"},
    {"role": "user", "content": "y"},
]


def _huge_response() -> str:
    return lines({"prompt": "p", "responses": ["x" * TEN_MB, "b"]})


def nested(depth: int) -> dict:
    """An object with objects inside it, ``depth`` levels in all ({} is one level)."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


# fmt: off
MALFORMED = [
    # (case, data, format, K, line, field, phrase)
    ("bad json", '{"prompt": "p", "responses": ["a" "b"]}\n', "jsonl", 2, 1, "(row)",
     "is not valid JSON: Expecting ',' delimiter (column 35)"),
    ("trailing garbage", lines(GOOD, '{"prompt": "p"} x'), "jsonl", 2, 2, "(row)",
     "is not valid JSON: Extra data"),
    ("non-object line", lines(GOOD, "[1, 2]"), "jsonl", 2, 2, "(row)",
     "each line must be a JSON object, got array"),
    ("string line", lines(GOOD, '"text"'), "jsonl", 2, 2, "(row)",
     "must be a JSON object, got string"),
    ("json array file", "[\n" + json.dumps(GOOD) + "\n]\n", "jsonl", 1, 1, "(file)",
     "is one JSON array; upload JSON Lines"),
    ("pretty-printed json", '{\n  "prompt": "p"\n}\n', "jsonl", 2, 1, "(file)",
     "spreads each JSON object over several lines"),
    ("NaN", '{"prompt": "p", "responses": ["a", "b"], "metadata": {"x": NaN}}\n', "jsonl", 2, 1,
     "(row)", "NaN is not a number in JSON"),
    # jsonb would store it, but the exports' reader (orjson) could not read it back.
    ("huge integer", '{"prompt": "p", "responses": ["a", "b"], "metadata": {"x": 1' + "0" * 400
     + '}}\n', "jsonl", 2, 1, "(row)", "too large a whole number"),
    ("duplicate key", '{"prompt": "p", "prompt": "q", "responses": ["a", "b"]}\n', "jsonl", 2, 1,
     "(row)", "has the key 'prompt' twice"),
    # A line cut short: json's own words ("Invalid control character") named the newline.
    ("line cut inside a string", lines(GOOD, '{"prompt": "p", "responses": ["a", "b is cu'),
     "jsonl", 2, 2, "(row)",
     "is not complete JSON: a string is not closed before the line ends (column 44); was the "
     "line cut short?"),
    ("last line cut inside a string", lines(GOOD) + '{"prompt": "p", "responses": ["a", "b is',
     "jsonl", 2, 2, "(row)",
     "is not complete JSON: the string starting at column 36 is not closed; was the line cut"),
    ("line cut between values", lines(GOOD, '{"prompt": "p", "responses": ["a",'), "jsonl", 2, 2,
     "(row)", "is not complete JSON: it stops after column 34 with an object or array still open"),
    ("tab inside a string", '{"prompt": "a\tb", "responses": ["a", "b"]}\n', "jsonl", 2, 1,
     "(row)", "a control character (U+0009) inside a string at column 14; write it escaped"),
    # Exports (orjson) cannot write 255 levels: such a row failed every later snapshot.
    ("metadata nested too deep", lines({**GOOD, "metadata": nested(65)}), "jsonl", 2, 1,
     "metadata", "is nested more than 64 levels deep"),
    ("metadata nested 500 deep",
     '{"prompt": "p", "responses": ["a", "b"], "metadata": ' + '{"k": ' * 499 + "{}"
     + "}" * 500 + "\n", "jsonl", 2, 1, "metadata", "is nested more than 64 levels deep"),
    ("response metadata nested too deep",
     lines({"prompt": "p", "responses": ["a", {"text": "b", "metadata": {"x": [nested(300)]}}]}),
     "jsonl", 2, 1, "responses[1].metadata", "is nested more than 64 levels deep"),
    ("gold with a boolean", lines({**GOOD, "gold": [[True], [1]]}), "jsonl", 2, 1, "gold[0][0]",
     "must be a response index (a whole number 0..1, a response's position in 'responses'), "
     "got boolean true"),
    ("gold with a text", lines({**GOOD, "gold": [[0], "b"]}), "jsonl", 2, 1, "gold[1]",
     'must be a response index (a whole number 0..1, a response\'s position in \'responses\'), '
     'got string "b"'),
    ("gold with an empty tier", lines({**GOOD, "gold": [[], [0, 1]]}), "jsonl", 2, 1, "gold[0]",
     "is an empty tier; expected response indices"),
    ("missing prompt", lines({"responses": ["a", "b"]}), "jsonl", 2, 1, "prompt", "is required"),
    ("missing responses", lines({"prompt": "p"}), "jsonl", 2, 1, "responses",
     "is required; expected a list of 2 responses"),
    ("too few responses", lines(GOOD), "jsonl", 3, 1, "responses",
     "expected 3 responses (the project's K), got 2"),
    ("too many responses", lines({"prompt": "p", "responses": ["a", "b", "c"]}), "jsonl", 2, 1,
     "responses", "expected 2 responses (the project's K), got 3"),
    ("empty prompt", lines({"prompt": "", "responses": ["a", "b"]}), "jsonl", 2, 1, "prompt",
     "is empty; expected some text"),
    ("whitespace prompt", lines({"prompt": " \n\t", "responses": ["a", "b"]}), "jsonl", 2, 1,
     "prompt", "is only whitespace"),
    ("whitespace response", lines({"prompt": "p", "responses": ["a", "  "]}), "jsonl", 2, 1,
     "responses[1]", "is only whitespace"),
    ("empty response text", lines({"prompt": "p", "responses": ["a", {"text": ""}]}), "jsonl", 2,
     1, "responses[1].text", "is empty"),
    ("empty id", lines({**GOOD, "id": " "}), "jsonl", 2, 1, "id", "is empty"),
    ("id too long", lines({**GOOD, "id": "x" * 201}), "jsonl", 2, 1, "id",
     "is 201 characters; the limit is 200"),
    ("duplicate id", lines({**GOOD, "id": "x"}, GOOD, {**GOOD, "id": "x"}), "jsonl", 2, 3, "id",
     "duplicate id 'x' (first seen on line 1)"),
    ("duplicate content without id", lines(GOOD, {"prompt": "q", "responses": ["a", "b"]}, GOOD),
     "jsonl", 2, 3, "(row)", "repeats the prompt and responses of line 1"),
    ("invalid utf-8 jsonl", b'{"prompt": "caf\xe9", "responses": ["a", "b"]}\n', "jsonl", 2, 1,
     "(row)", "is not valid UTF-8 (byte 0xe9 at position 16)"),
    ("10 MB response", _huge_response, "jsonl", 2, 1, "responses[0]",
     "is 10,485,760 characters; the limit is 100,000"),
    ("prompt number", lines({"prompt": 3, "responses": ["a", "b"]}), "jsonl", 2, 1, "prompt",
     "must be a string or a list of messages, got number"),
    ("responses object", lines({"prompt": "p", "responses": {"a": "b"}}), "jsonl", 2, 1,
     "responses", "must be a list of 2 responses, got object"),
    ("response number", lines({"prompt": "p", "responses": ["a", 2]}), "jsonl", 2, 1,
     "responses[1]", 'must be a string or an object with "text", got number 2'),
    ("response unknown key", lines({"prompt": "p", "responses": ["a", {"txt": "b"}]}), "jsonl", 2,
     1, "responses[1]", "unknown key(s) 'txt'"),
    ("model not a string", lines({"prompt": "p", "responses": ["a", {"text": "b", "model": 1}]}),
     "jsonl", 2, 1, "responses[1].model", "must be a string, got number"),
    ("metadata list", lines({**GOOD, "metadata": [1]}), "jsonl", 2, 1, "metadata",
     "must be an object, got array"),
    ("priority string", lines({**GOOD, "priority": "high"}), "jsonl", 2, 1, "priority",
     "must be an integer, got string"),
    ("priority bool", lines({**GOOD, "priority": True}), "jsonl", 2, 1, "priority",
     "must be an integer, got boolean true"),
    ("priority out of range", lines({**GOOD, "priority": 10**7}), "jsonl", 2, 1, "priority",
     "must be between -1,000,000 and 1,000,000, got 10,000,000"),
    ("id float", lines({**GOOD, "id": 1.5}), "jsonl", 2, 1, "id",
     "must be a string or an integer, got number 1.5"),
    ("id null", lines({**GOOD, "id": None}), "jsonl", 2, 1, "id",
     "must be a string or an integer, got null"),
    ("batch number", lines({**GOOD, "batch": 3}), "jsonl", 2, 1, "batch",
     "must be a string, got number"),
    ("unknown key typo", lines({"prompt": "p", "respones": ["a", "b"]}), "jsonl", 2, 1, "(row)",
     "unknown key(s) 'respones' (did you mean 'responses'?); allowed keys: id, prompt"),
    ("trl key on a native row", lines({**GOOD, "source": "x"}), "jsonl", 2, 1, "(row)",
     "'source' (only with 'chosen'/'rejected'; put it in 'metadata')"),
    ("bad role", lines({"prompt": [{"role": "bot", "content": "x"}], "responses": ["a", "b"]}),
     "jsonl", 2, 1, "prompt[0].role", "must be 'user', 'assistant' or 'system', got 'bot'"),
    ("system not first",
     lines({"prompt": [{"role": "user", "content": "x"}, {"role": "system", "content": "y"},
                       {"role": "user", "content": "z"}], "responses": ["a", "b"]}),
     "jsonl", 2, 1, "prompt[1].role", "'system' is only allowed as the first message"),
    ("message extra key",
     lines({"prompt": [{"role": "user", "content": "x", "name": "n"}], "responses": ["a", "b"]}),
     "jsonl", 2, 1, "prompt[0]", "unknown key(s) 'name'"),
    ("message content missing", lines({"prompt": [{"role": "user"}], "responses": ["a", "b"]}),
     "jsonl", 2, 1, "prompt[0].content", "is required"),
    ("empty conversation", lines({"prompt": [], "responses": ["a", "b"]}), "jsonl", 2, 1, "prompt",
     "is an empty list"),
    ("conversation ending with assistant",
     lines({"prompt": CONVERSATION_ENDING_WITH_ASSISTANT, "responses": ["a", "b"]}), "jsonl", 2,
     1, "prompt", "must end with a message whose role is 'user'"),
    ("hh transcript with an empty turn",
     lines({"prompt": "\n\nHuman: \n\nAssistant: hi\n\nHuman: q\n\nAssistant:",
            "responses": ["a", "b"]}),
     "jsonl", 2, 1, "prompt", "turn 1 (Human:) of the transcript is empty"),
    ("both responses and chosen", lines({**GOOD, "chosen": "a", "rejected": "b"}), "jsonl", 2, 1,
     "(row)", "has both 'responses' and 'chosen'/'rejected'"),
    ("chosen without rejected", lines({"prompt": "p", "chosen": "a"}), "jsonl", 2, 1, "rejected",
     "is required with 'chosen'"),
    ("trl chosen ending with user",
     lines({"prompt": "p", "chosen": CHOSEN_ENDING_WITH_USER, "rejected": "r"}), "jsonl", 2, 1,
     "chosen", "must end with a message whose role is 'assistant' (the response), got 'user'"),
    ("trl pair with K=4", lines({"prompt": "p", "chosen": "a", "rejected": "b"}), "jsonl", 4, 1,
     "(row)", "gives 2 responses, but the project's K is 4"),
    ("trl strings without prompt", lines({"chosen": "a", "rejected": "b"}), "jsonl", 2, 1,
     "prompt", "is required when 'chosen' or 'rejected' is a string"),
    ("trl conversations that differ",
     lines({"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
            "rejected": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "b"}]}),
     "jsonl", 2, 1, "rejected", "they differ at message 0"),
    ("trl identical pair", lines({"prompt": "p", "chosen": "same", "rejected": "same "}), "jsonl",
     2, 1, "rejected", "is identical to 'chosen'"),
    ("trl score not a number", lines({"prompt": "p", "chosen": "a", "rejected": "b",
                                      "score_chosen": "9"}),
     "jsonl", 2, 1, "score_chosen", "must be a number, got string"),
    ("identical responses", lines({"prompt": "p", "responses": ["a", "b", "a"]}), "jsonl", 3, 1,
     "responses", "responses[0] and responses[2] are identical"),
    ("NUL in a response", lines({"prompt": "p", "responses": ["a\x00b", "c"]}), "jsonl", 2, 1,
     "responses[0]", "contains a NUL character (\\x00) at position 2"),
    ("NUL in metadata", lines({**GOOD, "metadata": {"k": ["ok", "a\x00"]}}), "jsonl", 2, 1,
     "metadata", "contains a NUL character"),
    ("lone surrogate", '{"prompt": "\\ud83d", "responses": ["a", "b"]}\n', "jsonl", 2, 1,
     "prompt", "unpaired UTF-16 surrogate (\\ud83d)"),
    ("empty jsonl", "", "jsonl", 2, 0, "(file)", "the file has no rows"),
    ("blank-line jsonl", "\n  \n\r\n", "jsonl", 2, 0, "(file)", "the file has no rows"),
    ("empty csv", "", "csv", 2, 0, "(file)", "the file has no rows"),
    ("header-only csv", "prompt,response_1,response_2\n", "csv", 2, 0, "(file)",
     "the file has no rows"),
    ("csv bad quoting", 'prompt,response_1,response_2\na,"b"c,d\n', "csv", 2, 2, "(row)",
     "is not valid CSV: ',' expected after '\"'"),
    # csv reads a"b as the text a"b; refused, since it is how a field cut at a quote looks.
    ("csv bare quote", 'prompt,response_1,response_2\na,5" tall,c\n', "csv", 2, 2, "response_1",
     'has a " inside a field that does not start with one; put the whole field in double quotes'),
    ("csv bare quote after a multi-line field", 'prompt,response_1,response_2\n"a\nb",c,d"\n',
     "csv", 2, 2, "response_2", 'has a " inside a field that does not start with one'),
    ("csv space before a quote", 'prompt,response_1,response_2\na, "b",c\n', "csv", 2, 2,
     "response_1", 'has a " inside a field that does not start with one'),
    ("csv bare quote in the header", 'prompt,response_1,resp"onse_2\na,b,c\n', "csv", 2, 1,
     "(header)", 'has a " inside a field that does not start with one (column 3)'),
    ("csv metadata nested too deep",
     "prompt,response_1,response_2,metadata\na,b,c,\"" + json.dumps(nested(65)).replace('"', '""')
     + '"\n', "csv", 2, 2, "metadata", "is nested more than 64 levels deep"),
    ("csv unclosed quote", 'prompt,response_1,response_2\na,b,c\nd,"e\nf,g\n', "csv", 2, 3,
     "(row)", "is not valid CSV: unexpected end of data at line 4"),
    ("csv invalid utf-8", b"prompt,response_1,response_2\na,b,c\n\xff,b,c\n", "csv", 2, 3,
     "(row)", "is not valid UTF-8 (byte 0xff)"),
    ("csv missing prompt column", "question,response_1,response_2\na,b,c\n", "csv", 2, 1,
     "(header)", "has no 'prompt' column"),
    ("csv unknown column", "promt,prompt,response_1,response_2\nx,a,b,c\n", "csv", 2, 1,
     "(header)", "unknown column(s) 'promt' (did you mean 'prompt'?)"),
    ("csv duplicate column", "prompt,prompt,response_1,response_2\nx,a,b,c\n", "csv", 2, 1,
     "(header)", "has the column(s) 'prompt' more than once"),
    ("csv wrong response columns", "prompt,response_1,response_2\na,b,c\n", "csv", 3, 1,
     "(header)", "has the response columns response_1, response_2, but the project's K is 3"),
    ("csv no response columns", "prompt,answer\na,b\n", "csv", 2, 1, "(header)",
     "has no response columns"),
    ("csv chosen/rejected with K=3", "prompt,chosen,rejected\na,b,c\n", "csv", 3, 1, "(header)",
     "but the project's K is 3"),
    ("csv too many fields", "prompt,response_1,response_2\na,b,c,d\n", "csv", 2, 2, "(row)",
     "has 4 fields, but the header has 3 columns"),
    ("csv metadata not json", "prompt,response_1,response_2,metadata\na,b,c,{oops}\n", "csv", 2,
     2, "metadata", "is not valid JSON"),
    ("csv metadata not an object", "prompt,response_1,response_2,metadata\na,b,c,[1]\n", "csv", 2,
     2, "metadata", "must be an object, got array"),
    ("csv priority not an integer", "prompt,response_1,response_2,priority\na,b,c,1.5\n", "csv",
     2, 2, "priority", "must be an integer, got '1.5'"),
    ("csv empty response", "prompt,response_1,response_2\na,,c\n", "csv", 2, 2, "response_1",
     "is empty"),
    ("csv identical responses", "prompt,response_1,response_2\na,same,same\n", "csv", 2, 2,
     "responses", "response_1 and response_2 are identical"),
    ("csv duplicate id", "id,prompt,response_1,response_2\n7,a,b,c\n8,a,b,c\n 7 ,d,e,f\n", "csv",
     2, 4, "id", "duplicate id '7' (first seen on line 2)"),
]
# fmt: on


@pytest.mark.parametrize(
    ("data", "fmt", "k", "line", "field", "phrase"),
    [pytest.param(*case[1:], id=case[0]) for case in MALFORMED],
)
def test_malformed_input_is_reported_with_line_and_field(data, fmt, k, line, field, phrase):
    # given
    if callable(data):
        data = data()

    # when
    errors = errors_of(parse(data, fmt=fmt, k=k))

    # then
    matching = [error for error in errors if (error.line, error.field) == (line, field)]
    assert matching, f"no error at line {line}, field {field}; got {[str(e) for e in errors]}"
    assert any(phrase in error.message for error in matching), [str(e) for e in matching]


def test_metadata_at_the_depth_limit_imports_and_the_exports_can_write_it():
    # given a row and a response whose metadata nest exactly as deep as allowed
    generation = {"generation": nested(MAX_JSON_DEPTH - 1)}
    response = {"text": "b", "metadata": generation}
    data = lines({"prompt": "p", "responses": ["a", response], "metadata": nested(MAX_JSON_DEPTH)})

    # when
    row = only_row(parse(data))

    # then the exports' writer (orjson) writes both, with a record's own levels around them
    record = {"rows": [{"metadata": row.metadata, "responses": [row.responses[1].metadata]}]}
    assert orjson.loads(orjson.dumps(record))["rows"][0]["metadata"] == nested(MAX_JSON_DEPTH)


def test_csv_quotes_inside_quoted_fields_are_text():
    # given quotes written as spreadsheets write them, and one in a field that has none
    data = 'prompt,response_1,response_2\n"She said ""hi""",5\' 9\'\' tall,"6"" tall"\n'

    # when
    row = only_row(parse(data, fmt="csv"))

    # then
    assert row.messages[0]["content"] == 'She said "hi"'
    assert [r.text for r in row.responses] == ["5' 9'' tall", '6" tall']


def test_all_errors_are_collected():
    # given: lines 2, 4 and 5 are bad in different ways
    data = lines(
        GOOD,
        {"prompt": "p"},
        {"prompt": "q", "responses": ["a", "b"]},
        "{not json",
        [1],
    )

    # when
    entries = parse(data)

    # then
    assert [row.line for row in rows_of(entries)] == [1, 3]
    assert [(error.line, error.field) for error in errors_of(entries)] == [
        (2, "responses"),
        (4, "(row)"),
        (5, "(row)"),
    ]


def test_one_row_reports_every_problem_it_has():
    # given
    data = lines({"prompt": 1, "responses": ["a"], "priority": "x", "id": None})

    # when
    errors = errors_of(parse(data))

    # then
    assert {error.field for error in errors} == {"prompt", "responses", "priority", "id"}


def test_row_error_reads_as_a_sentence():
    error = RowError(3, "responses[1]", "is empty; expected some text")
    assert str(error) == "line 3, field responses[1]: is empty; expected some text"


def test_jsonl_line_over_the_limit_is_skipped_and_reading_goes_on(monkeypatch):
    # given
    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 1000)
    long_line = json.dumps({"prompt": "x" * 5000, "responses": ["a", "b"]})

    # when
    entries = parse(lines(GOOD, long_line, {"prompt": "q", "responses": ["a", "b"]}))

    # then
    assert [row.line for row in rows_of(entries)] == [1, 3]
    (error,) = errors_of(entries)
    assert (error.line, error.field) == (2, "(row)")
    assert "is longer than 1,000 bytes" in error.message


def test_csv_line_over_the_limit_stops_reading(monkeypatch):
    # given
    monkeypatch.setattr(csv_rows, "MAX_LINE_CHARS", 1000)
    data = "prompt,response_1,response_2\na,b,c\n" + "x" * 5000 + ",b,c\nd,e,f\n"

    # when
    entries = parse(data, fmt="csv")

    # then
    assert [row.line for row in rows_of(entries)] == [2]
    (error,) = errors_of(entries)
    assert (error.line, error.field) == (3, "(row)")
    assert "the rest of the file was not read" in error.message


def test_csv_invalid_utf8_deep_in_a_large_file_names_its_line():
    # given: the bad byte sits in a later decoding chunk than the header
    good = "".join(f"q{number},a,b\n" for number in range(2, 5000))
    data = b"prompt,response_1,response_2\n" + good.encode() + b"caf\xe9,a,b\nlast,a,b\n"

    # when
    entries = parse(data, fmt="csv")

    # then
    (error,) = errors_of(entries)
    assert (error.line, error.field) == (5000, "(row)")


# --- streaming --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_large_file_is_streamed_in_flat_memory(tmp_path, fmt):
    # given: a 50k-row file of about 55 MB
    path = tmp_path / f"big.{fmt}"
    filler = "lorem ipsum " * 30
    with path.open("w", encoding="utf-8") as out:
        if fmt == "csv":
            out.write("prompt,response_1,response_2\n")
        for number in range(50_000):
            row = {"prompt": f"q{number} {filler}", "responses": [f"a{filler}", f"b{filler}"]}
            if fmt == "jsonl":
                out.write(json.dumps(row) + "\n")
            else:
                out.write(f"{row['prompt']},{row['responses'][0]},{row['responses'][1]}\n")
    size = path.stat().st_size

    # when
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            rows = errors = 0
            for entry in iter_import_rows(stream, file_format=fmt, responses_per_item=2):
                rows += isinstance(entry, ImportRow)
                errors += isinstance(entry, RowError)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # then
    assert (rows, errors) == (50_000, 0)
    assert size > 50 * 1024 * 1024
    assert peak < 20 * 1024 * 1024, f"peak {peak:,} bytes for a {size:,}-byte file"
