"""Read CSV (a header, then one record per row) from a binary stream, decoding as it goes."""

import csv
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from annotation.importing.csv_header import check_header
from annotation.importing.rows import ImportRow, RowError
from annotation.importing.strict_json import JsonProblem, loads_strict
from annotation.importing.validate import validate_row

# Cells above csv's default 128 KiB must still parse, so that validate_row can say
# how long they are; far beyond any valid row, csv stops with an error instead.
FIELD_SIZE_LIMIT = 64 * 1024 * 1024
# One physical line is held in memory whole; a file without newlines stops here.
MAX_LINE_CHARS = 64 * 1024 * 1024
_NEWLINES = re.compile(rb"\r\n|\r|\n")
_INTEGER = re.compile(r"[+-]?\d+")
# validate_row names responses as in JSON; a CSV user knows the columns.
_RESPONSE_REF = re.compile(r"responses\[(\d+)\](\.text|\.model)?")
_NOT_READ = "; the rest of the file was not read"
# One field of a record as written: quoted (quotes inside doubled) or bare, with no quote.
_FIELD = re.compile(r'"[^"]*(?:""[^"]*)*"|[^,"\r\n]*')


class _StopReading(Exception):
    """The stream cannot be read further; carries the error to report."""

    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


def read_csv(stream: BinaryIO, *, responses_per_item: int) -> Iterator[ImportRow | RowError]:
    """Yield a row or the errors for every record after the header; stop at unreadable input."""
    # The limit is process-wide; it is only ever raised, never lowered for others.
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_SIZE_LIMIT))
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    try:
        yield from _entries(_records(text), responses_per_item)
    finally:
        # The caller owns the stream and reads it twice: a wrapper that is garbage
        # collected closes its buffer, so hand the stream back instead.
        text.detach()


def _entries(records: Iterator, k: int) -> Iterator[ImportRow | RowError]:
    names: list[str] | None = None
    for record in records:
        if isinstance(record, RowError):
            yield record
            return
        line, cells, bare = record
        if names is None:
            if bare is not None:
                yield RowError(line, "(header)", _bare_quote_message(bare + 1))
                return
            names, errors = check_header(cells, line=line, k=k)
            if errors:
                yield from errors
                return
            continue
        if len(cells) != len(names):
            message = f"has {len(cells)} fields, but the header has {len(names)} columns"
            yield RowError(line, "(row)", message)
            continue
        if bare is not None:
            yield RowError(line, names[bare], _bare_quote_message())
            continue
        yield from _row_entries(dict(zip(names, cells, strict=True)), line=line, k=k)


def _records(text: io.TextIOWrapper) -> Iterator[tuple[int, list[str], int | None] | RowError]:
    """Non-blank records with the physical line each starts on and the index of a field
    with a bare quote (or None); a final error stops them."""
    lines = _Lines(text)
    reader = csv.reader(lines, strict=True)
    end = 0
    while True:
        start = end + 1
        lines.record.clear()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _StopReading as stop:
            yield stop.error
            return
        except csv.Error as exc:
            # After a quoting error csv's position in the stream means nothing; stop.
            at = f" at line {reader.line_num}" if reader.line_num != start else ""
            yield RowError(start, "(row)", f"is not valid CSV: {exc}{at}{_NOT_READ}")
            return
        end = reader.line_num
        # Spreadsheets export empty rows as ",,,"; they are blank lines, not rows.
        if any(cell.strip() for cell in cells):
            yield start, cells, _bare_quote_field(lines.record)


def _bare_quote_field(record: list[str]) -> int | None:
    """The index of the first unquoted field holding a quote character, else None.

    csv takes such a quote as text (a"b reads as a"b), but it is what a field cut at a
    quote, or a hand-edited line, looks like: refused instead of imported as written.
    """
    if not any('"' in line for line in record):
        return None
    raw, position, index = "".join(record), 0, 0
    while True:
        position = _FIELD.match(raw, position).end()
        if position < len(raw) and raw[position] == '"':
            return index
        if position == len(raw) or raw[position] != ",":
            return None  # the record's end (what else follows a field, csv has refused)
        position, index = position + 1, index + 1


def _bare_quote_message(column: int | None = None) -> str:
    where = f" (column {column})" if column else ""
    return (
        f'has a " inside a field that does not start with one{where}; put the whole field '
        "in double quotes and double each quote inside it, as spreadsheets save it: "
        '"5"" tall"'
    )


class _Lines:
    """The text's physical lines for csv.reader, counted, bounded and with decode errors placed."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self.text = text
        self.count = 0
        self.record: list[str] = []  # the physical lines of the record being read
        self.limit = MAX_LINE_CHARS  # read once, so a test can lower it for one call

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        try:
            line = self.text.readline(self.limit + 1)
        except UnicodeDecodeError as exc:
            raise _StopReading(_decode_error(exc, self.count)) from None
        if not line:
            raise StopIteration
        self.count += 1
        if len(line) > self.limit and not line.endswith(("\n", "\r")):
            message = f"is longer than {self.limit:,} characters, the limit for one line{_NOT_READ}"
            raise _StopReading(RowError(self.count, "(row)", message))
        self.record.append(line)
        return line


def _decode_error(exc: UnicodeDecodeError, lines_read: int) -> RowError:
    # The decoder failed on a chunk that starts inside the first unread line (lines
    # already read ended before it), so counting newlines before the bad byte finds it.
    line = lines_read + 1 + len(_NEWLINES.findall(exc.object, 0, exc.start))
    byte = exc.object[exc.start]
    message = f"is not valid UTF-8 (byte 0x{byte:02x}); save the file with UTF-8 encoding"
    return RowError(line, "(row)", message + _NOT_READ)


def _row_entries(cells: dict[str, str], *, line: int, k: int) -> list:
    raw, errors = _raw_row(cells, line=line, k=k)
    result = validate_row(raw, line=line, responses_per_item=k)
    if isinstance(result, ImportRow):
        return errors or [result]
    return [_csv_names(error) for error in errors + result]


def _raw_row(cells: dict[str, str], *, line: int, k: int) -> tuple[dict, list[RowError]]:
    """A dict shaped like a JSON row, so that validate_row checks both formats alike."""
    raw: dict = {"prompt": cells["prompt"]}
    if "chosen" in cells:  # check_header made sure 'rejected' is there too
        raw["chosen"], raw["rejected"] = cells["chosen"], cells["rejected"]
    else:
        raw["responses"] = [_response(cells, number) for number in range(1, k + 1)]
    for name in ("id", "batch"):
        if cells.get(name, "").strip():  # an empty cell means "not given"
            raw[name] = cells[name]
    errors = []
    if cells.get("metadata", "").strip():
        try:
            raw["metadata"] = loads_strict(cells["metadata"])
        except JsonProblem as exc:
            errors.append(RowError(line, "metadata", f"{exc}; expected a JSON object"))
    priority = cells.get("priority", "").strip()
    if priority:
        value = _integer(priority)
        if value is None:
            errors.append(RowError(line, "priority", f"must be an integer, got {priority!r}"))
        else:
            raw["priority"] = value
    return raw, errors


def _integer(text: str) -> int | None:
    if not _INTEGER.fullmatch(text):  # int() would also take "1_000" and " 1 "
        return None
    try:
        return int(text)
    except ValueError:  # more digits than Python converts
        return None


def _response(cells: dict[str, str], number: int) -> str | dict:
    text, model = cells[f"response_{number}"], cells.get(f"model_{number}", "")
    return {"text": text, "model": model} if model.strip() else text


def _csv_names(error: RowError) -> RowError:
    def column(match: re.Match) -> str:
        number = int(match[1]) + 1
        return f"model_{number}" if match[2] == ".model" else f"response_{number}"

    return RowError(
        error.line, _RESPONSE_REF.sub(column, error.field), _RESPONSE_REF.sub(column, error.message)
    )
