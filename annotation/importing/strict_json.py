"""json.loads that refuses what PostgreSQL's jsonb or a reader would get wrong."""

import json


class JsonProblem(ValueError):
    """The text is not JSON we accept; str() says why, in words for the person who uploaded it."""


def _reject_constant(name: str) -> None:
    # Python accepts NaN and Infinity, but they are not JSON and jsonb rejects them.
    raise JsonProblem(f"is not valid JSON: {name} is not a number in JSON; write a number or null")


def _finite_float(text: str) -> float:
    # 1e400 parses to inf in Python, which jsonb refuses at insert time, far from its line.
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JsonProblem(f"is not valid JSON for storage: {text} is too large a number")
    return value


INT_LIMIT = 2**63  # a 64-bit integer: what jsonb readers such as orjson (the export) read


def _bounded_int(text: str) -> int:
    # Python reads integers of thousands of digits, and jsonb stores them; the exports'
    # reader (orjson) cannot, so one such number would fail every later snapshot.
    value = int(text)
    if not -INT_LIMIT <= value < INT_LIMIT:
        raise JsonProblem(
            f"is not valid JSON for storage: {text[:20]}{'…' if len(text) > 20 else ''} is "
            "too large a whole number (at most 19 digits); write it as a string"
        )
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    # json keeps the last of two equal keys silently; the first one was probably meant.
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise JsonProblem(f"has the key {key!r} twice in one object; keep one")
        result[key] = value
    return result


def loads_strict(text: str) -> object:
    """Parse one JSON value, raising JsonProblem with a readable reason on any problem."""
    try:
        return json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            object_pairs_hook=_unique_keys,
        )
    except JsonProblem:
        raise
    except json.JSONDecodeError as exc:
        raise JsonProblem(_decode_problem(exc)) from None
    except RecursionError:
        raise JsonProblem("is nested too deeply to read") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise JsonProblem(f"is not valid JSON: {exc}") from None


_CUT_SHORT = "; was the line cut short?"
# What json says when the text ended where more was due: at the end, a cut-off line.
_WANTS_MORE = ("Expecting value", "Expecting ',' delimiter", "Expecting ':' delimiter",
               "Expecting property name enclosed in double quotes")  # fmt: skip


def _decode_problem(exc: json.JSONDecodeError) -> str:
    """json's reason in the words of someone who wrote or cut the file."""
    text, column = exc.doc, exc.colno
    if exc.msg.startswith("Invalid control character"):
        character = text[exc.pos]
        if character in "\r\n":  # json's "control character" is the line's own end here
            return (
                f"is not complete JSON: a string is not closed before the line ends (column "
                f"{column}); was the line cut short? A line break inside a string is written \\n"
            )
        return (
            f"is not valid JSON: a control character (U+{ord(character):04X}) inside a string "
            f"at column {column}; write it escaped, e.g. \\t or \\u{ord(character):04x}"
        )
    if exc.msg.startswith("Unterminated string"):
        return f"is not complete JSON: the string starting at column {column} is not closed" + (
            _CUT_SHORT
        )
    end = text.rstrip()
    if end and exc.msg in _WANTS_MORE and exc.pos >= len(end):
        last = len(end) - (end.rfind("\n") + 1)  # the column of its last character
        return (
            f"is not complete JSON: it stops after column {last} with an object or array "
            f"still open{_CUT_SHORT}"
        )
    return f"is not valid JSON: {exc.msg} (column {column})"
