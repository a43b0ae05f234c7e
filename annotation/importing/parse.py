"""Stream an import file into validated rows and errors, whatever its format."""

from collections.abc import Callable, Iterator
from pathlib import PurePath
from typing import BinaryIO

from annotation.importing.csv_rows import read_csv
from annotation.importing.jsonl import read_jsonl
from annotation.importing.rows import ImportRow, RowError

FORMATS_BY_SUFFIX = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


def detect_format(filename: str) -> str:
    """The file format ("jsonl" or "csv") its name's extension stands for.

    Raises:
        ValueError: for any other extension, saying which ones work.
    """
    suffix = PurePath(filename).suffix.lower()
    if suffix in FORMATS_BY_SUFFIX:
        return FORMATS_BY_SUFFIX[suffix]
    got = f"'{suffix}'" if suffix else "no extension"
    raise ValueError(
        f"cannot import a file with {got}; upload JSON Lines (.jsonl, .ndjson, .json) or CSV (.csv)"
    )


def iter_import_rows(
    stream: BinaryIO, *, file_format: str, responses_per_item: int, filename: str = ""
) -> Iterator[ImportRow | RowError]:
    """Yield every valid row and every error of an import file, reading it as a stream.

    Memory stays flat whatever the file's size: one line or record at a time, plus
    the set of ids seen (to report duplicates). The stream is read from where it
    stands and left open; to read a file twice, rewind or reopen it in between.

    Args:
        stream: the file, opened in binary mode.
        file_format: "jsonl" or "csv" (see detect_format).
        responses_per_item: the project's K; every row must have exactly K responses.
        filename: the uploaded file's name, used only in file-level messages.

    Raises:
        ValueError: for an unknown file_format or a K below 1.
    """
    readers: dict[str, Callable[[], Iterator[ImportRow | RowError]]] = {
        "jsonl": lambda: read_jsonl(
            stream, responses_per_item=responses_per_item, filename=filename
        ),
        "csv": lambda: read_csv(stream, responses_per_item=responses_per_item),
    }
    if file_format not in readers:
        raise ValueError(f"unknown import format {file_format!r}; expected 'jsonl' or 'csv'")
    if responses_per_item < 1:
        raise ValueError(f"responses_per_item must be at least 1, got {responses_per_item}")
    return _unique_rows(readers[file_format]())


def _unique_rows(entries: Iterator[ImportRow | RowError]) -> Iterator[ImportRow | RowError]:
    """Pass entries through, turning repeated ids into errors and an empty file into one."""
    first_line: dict[str, int] = {}
    anything = False
    for entry in entries:
        anything = True
        if isinstance(entry, RowError):
            yield entry
            continue
        first = first_line.setdefault(entry.external_id, entry.line)
        if first == entry.line:
            yield entry
        elif entry.external_id.startswith("sha256:"):
            message = (
                f"repeats the prompt and responses of line {first} (rows without an id "
                "are told apart by their content); remove one or give them ids"
            )
            yield RowError(entry.line, "(row)", message)
        else:
            message = (
                f"duplicate id {entry.external_id!r} (first seen on line {first}); "
                "ids must be unique within a file"
            )
            yield RowError(entry.line, "id", message)
    if not anything:
        yield RowError(0, "(file)", "the file has no rows")
