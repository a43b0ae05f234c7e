"""Check a CSV header: which columns it has and whether they fit the project's K."""

import difflib
import re

from annotation.importing.rows import RowError

OPTIONAL_COLUMNS = ("id", "metadata", "priority", "batch")
PAIR_COLUMNS = ("chosen", "rejected")
_RESPONSE_COLUMN = re.compile(r"response_\d+")
_NUMBERED_COLUMN = re.compile(r"(response|model)_\d+")


def check_header(cells: list[str], *, line: int, k: int) -> tuple[list[str], list[RowError]]:
    """The column names (trimmed, lower case) and every problem with them."""
    names = [cell.strip().lower() for cell in cells]
    problems = []
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        listed = ", ".join(repr(name) for name in duplicates)
        problems.append(f"has the column(s) {listed} more than once; each may appear once")
    if "prompt" not in names:
        problems.append("has no 'prompt' column; it is required")
    is_pair = any(name in PAIR_COLUMNS for name in names)
    problems += _pair_problems(names, k) if is_pair else _response_problems(names, k)
    problems += _unknown_problems(names, k, is_pair)
    return names, [RowError(line, "(header)", problem) for problem in problems]


def _pair_problems(names: list[str], k: int) -> list[str]:
    problems = [f"has no {column!r} column" for column in PAIR_COLUMNS if column not in names]
    if problems:
        problems = [f"{problems[0]}; 'chosen' and 'rejected' go together"]
    if any(_NUMBERED_COLUMN.fullmatch(name) for name in names):
        problems.append(
            "mixes response_N/model_N columns with chosen/rejected; use one or the other"
        )
    if k != 2:
        problems.append(
            f"has chosen/rejected columns (2 responses), but the project's K is {k}: "
            f"use the columns {_numbered('response', k)}"
        )
    return problems


def _response_problems(names: list[str], k: int) -> list[str]:
    given = [name for name in names if _RESPONSE_COLUMN.fullmatch(name)]
    expected = [f"response_{number}" for number in range(1, k + 1)]
    if not given:
        return [
            f"has no response columns; expected {_numbered('response', k)}, or chosen, rejected"
        ]
    if sorted(set(given)) != sorted(expected):
        return [
            f"has the response columns {', '.join(given)}, but the project's K is {k}: "
            f"expected {_numbered('response', k)}"
        ]
    return []


def _unknown_problems(names: list[str], k: int, is_pair: bool) -> list[str]:
    allowed = ["prompt", *OPTIONAL_COLUMNS]
    if is_pair:
        allowed += PAIR_COLUMNS
        skipped = _NUMBERED_COLUMN  # reported as mixing the two styles
    else:
        allowed += [
            f"{kind}_{number}" for kind in ("response", "model") for number in range(1, k + 1)
        ]
        skipped = _RESPONSE_COLUMN  # reported as the wrong number of responses
    unknown = [name for name in names if name not in allowed and not skipped.fullmatch(name)]
    if not unknown:
        return []
    listed = []
    for name in unknown:
        guess = difflib.get_close_matches(name, allowed, n=1)
        listed.append(repr(name) + (f" (did you mean {guess[0]!r}?)" if guess else ""))
    responses = (
        "chosen, rejected" if is_pair else f"{_numbered('response', k)}, {_numbered('model', k)}"
    )
    return [
        f"has unknown column(s) {', '.join(listed)}; allowed columns: prompt, {responses}, "
        + ", ".join(OPTIONAL_COLUMNS)
    ]


def _numbered(kind: str, k: int) -> str:
    if k <= 3:
        return ", ".join(f"{kind}_{number}" for number in range(1, k + 1))
    return f"{kind}_1 … {kind}_{k}"
