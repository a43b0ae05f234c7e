"""Checks for single values: JSON type names, text limits, and what PostgreSQL cannot store."""

import re

from annotation.importing.rows import RowError

# A response or prompt turn longer than this is almost always a mistake (a whole
# document pasted into a cell) and would make the annotation page unusable.
MAX_TEXT_CHARS = 100_000

# Ids and batch names go into CharField(max_length=200) columns.
MAX_NAME_CHARS = 200

# Metadata deeper than this is refused: the exports' writer (orjson) cannot write a
# value nested 255 levels deep, and a row it cannot write fails every later snapshot
# of its project. No real metadata needs more than a handful of levels.
MAX_JSON_DEPTH = 64

# Lone surrogates can arrive through JSON escapes ("\ud83d") but cannot be encoded
# as UTF-8, so PostgreSQL would reject the whole insert later.
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: bool is a subclass of int
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def type_error(value: object, expected: str, *, line: int, field: str) -> RowError:
    """An error saying which type was expected and which JSON type arrived."""
    got = json_type(value)
    if isinstance(value, bool):
        got += f" {str(value).lower()}"
    elif isinstance(value, int | float):  # "got number" alone puzzles when 1.5 is no integer
        got += f" {value!r}"[:40]
    return RowError(line, field, f"must be {expected}, got {got}")


def unstorable_error(text: str, *, line: int, field: str, where: str = "") -> RowError | None:
    """An error if the text holds a character PostgreSQL cannot store, else None."""
    nul = text.find("\x00")
    if nul != -1:
        return RowError(
            line,
            field,
            f"contains a NUL character (\\x00){where} at position {nul + 1}; "
            "PostgreSQL cannot store it, remove it from the text",
        )
    surrogate = _SURROGATE.search(text)
    if surrogate:
        return RowError(
            line,
            field,
            f"contains an unpaired UTF-16 surrogate (\\u{ord(surrogate.group()):04x}){where} "
            f"at position {surrogate.start() + 1}; it is not valid Unicode text",
        )
    return None


def text_error(
    text: str, *, line: int, field: str, limit: int = MAX_TEXT_CHARS, allow_empty: bool = False
) -> RowError | None:
    """An error if a string is too long, unstorable, or (unless allowed) blank, else None."""
    if len(text) > limit:
        return RowError(line, field, f"is {len(text):,} characters; the limit is {limit:,}")
    problem = unstorable_error(text, line=line, field=field)
    if problem:
        return problem
    if not allow_empty and not text.strip():
        what = "empty" if not text else "only whitespace"
        return RowError(line, field, f"is {what}; expected some text")
    return None


def string_error(
    value: object, *, line: int, field: str, limit: int = MAX_TEXT_CHARS, allow_empty: bool = False
) -> RowError | None:
    """Like text_error, but first checks that the value is a string at all."""
    if not isinstance(value, str):
        return type_error(value, "a string", line=line, field=field)
    return text_error(value, line=line, field=field, limit=limit, allow_empty=allow_empty)


def json_strings_error(value: object, *, line: int, field: str) -> RowError | None:
    """The first unstorable string (key or value) anywhere inside a JSON value, else None."""
    # An explicit stack: metadata can nest as deep as the JSON parser allowed.
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            strings: list = [current]
        elif isinstance(current, dict):
            strings = list(current)
            stack.extend(current.values())
        elif isinstance(current, list):
            strings = []
            stack.extend(current)
        else:
            strings = []
        for text in strings:
            problem = unstorable_error(text, line=line, field=field, where=" in a string inside it")
            if problem:
                return problem
    return None


def json_depth_error(value: object, *, line: int, field: str) -> RowError | None:
    """An error if objects and arrays nest more than MAX_JSON_DEPTH levels deep, else None."""
    # An explicit stack, as above; it stops at the first level past the limit.
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            message = (
                f"is nested more than {MAX_JSON_DEPTH} levels deep (objects and arrays inside "
                "each other); exports cannot write it: flatten it"
            )
            return RowError(line, field, message)
        children = current.values() if isinstance(current, dict) else current
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return None
