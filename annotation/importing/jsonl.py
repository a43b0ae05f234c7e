"""Read JSON Lines (one object per line) from a binary stream, a line at a time."""

from collections.abc import Iterator
from typing import BinaryIO

from annotation.importing.fields import json_type
from annotation.importing.rows import ImportRow, RowError
from annotation.importing.strict_json import JsonProblem, loads_strict
from annotation.importing.validate import validate_row

# One line is held in memory whole; anything longer is skipped in small chunks, so a
# file without newlines (a binary, a minified dump) cannot exhaust the worker.
MAX_LINE_BYTES = 64 * 1024 * 1024
_SKIP_CHUNK_BYTES = 1024 * 1024
_BOM = b"\xef\xbb\xbf"


def read_jsonl(
    stream: BinaryIO, *, responses_per_item: int, filename: str = ""
) -> Iterator[ImportRow | RowError]:
    """Yield a row or the errors for every non-blank line; line numbers count blank lines too."""
    number, started = 0, False
    limit = MAX_LINE_BYTES  # read once, so a test can lower it for one call
    while True:
        raw_line = stream.readline(limit + 1)
        if not raw_line:
            return
        number += 1
        if len(raw_line) > limit and not raw_line.endswith(b"\n"):
            raw_line = b""  # let the oversized line go before reading past the rest of it
            _skip_rest_of_line(stream)
            message = f"is longer than {_size(limit)}, the limit for one line; it was not read"
            yield RowError(number, "(row)", message)
            continue
        if number == 1 and raw_line.startswith(_BOM):
            raw_line = raw_line[len(_BOM) :]
        if not raw_line.strip():
            continue
        if not started:
            started = True
            problem = _whole_file_error(raw_line, number, filename)
            if problem:
                yield problem
                return
        yield from _line_entries(raw_line, number, responses_per_item)


def _line_entries(raw_line: bytes, number: int, responses_per_item: int) -> list:
    try:
        text = raw_line.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        message = (
            f"is not valid UTF-8 (byte 0x{byte:02x} at position {exc.start + 1}); "
            "save the file with UTF-8 encoding"
        )
        return [RowError(number, "(row)", message)]
    try:
        value = loads_strict(text)
    except JsonProblem as exc:
        return [RowError(number, "(row)", str(exc))]
    if not isinstance(value, dict):
        message = f"each line must be a JSON object, got {json_type(value)}"
        return [RowError(number, "(row)", message)]
    result = validate_row(value, line=number, responses_per_item=responses_per_item)
    return [result] if isinstance(result, ImportRow) else result


def _whole_file_error(first_line: bytes, number: int, filename: str) -> RowError | None:
    """Catch a plain JSON file, which would otherwise give one confusing error per line."""
    name = filename or "the file"
    start = first_line.strip()
    if start.startswith(b"["):
        message = (
            f"{name} is one JSON array; upload JSON Lines instead: one JSON object per "
            "line, with no [ ] around them and no commas between lines"
        )
        return RowError(number, "(file)", message)
    if start == b"{":
        message = (
            f"{name} spreads each JSON object over several lines; upload JSON Lines "
            "instead: each object whole on a single line"
        )
        return RowError(number, "(file)", message)
    return None


def _skip_rest_of_line(stream: BinaryIO) -> None:
    while chunk := stream.readline(_SKIP_CHUNK_BYTES):
        if chunk.endswith(b"\n"):
            return


def _size(n_bytes: int) -> str:
    mib = 1024 * 1024
    return f"{n_bytes // mib} MiB" if n_bytes % mib == 0 else f"{n_bytes:,} bytes"
