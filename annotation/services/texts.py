"""Text people type into prompts, responses and rewrites: what a stored text may be."""

from common.errors import ApplicationError
from common.text_rules import unstorable_character

MAX_TEXT_CHARS = 20_000


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(f"{field}: {message}", extra={"field": field})


def text_clean(value, field: str) -> str:
    """A non-empty text of at most MAX_TEXT_CHARS, stripped at the ends."""
    if not isinstance(value, str):
        raise _invalid(field, "must be text")
    value = value.strip()
    if not value:
        raise _invalid(field, "must not be empty")
    if bad := unstorable_character(value):
        raise _invalid(field, f"must not contain {bad}")
    if len(value) > MAX_TEXT_CHARS:
        raise _invalid(field, f"at most {MAX_TEXT_CHARS:,} characters")
    return value
