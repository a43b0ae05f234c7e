"""Prompts and TRL completions as conversations: plain text, HH-RLHF transcripts, message lists."""

import re

from annotation.importing.fields import string_error, text_error, type_error
from annotation.importing.rows import RowError

ROLES = ("user", "assistant", "system")
MESSAGE_KEYS = ("role", "content")

# Anthropic HH-RLHF writes a conversation as one string: "\n\nHuman: ...\n\nAssistant: ...".
_HH_TURN = re.compile(r"\n\n(Human|Assistant):")
_HH_ROLES = {"Human": "user", "Assistant": "assistant"}


def prompt_messages(value: object, *, line: int, field: str = "prompt") -> tuple[list, list]:
    """The prompt as a conversation ending in a user turn, and the errors found."""
    if isinstance(value, str):
        return _string_prompt(value, line=line, field=field)
    if isinstance(value, list):
        messages, errors = check_messages(value, line=line, field=field)
        if not errors:
            errors = last_role_errors(messages, "user", line=line, field=field)
        return messages, errors
    return [], [type_error(value, "a string or a list of messages", line=line, field=field)]


def completion(value: object, *, line: int, field: str) -> tuple[str, list | None, list]:
    """A TRL chosen/rejected value: its text, the messages before it (None for a string), errors.

    TRL's conversational format gives the completion as messages; the response is
    the last one, which must come from the assistant.
    """
    if isinstance(value, str):
        problem = text_error(value, line=line, field=field)
        return value, None, [problem] if problem else []
    if not isinstance(value, list):
        expected = "a string or a list of messages"
        return "", None, [type_error(value, expected, line=line, field=field)]
    messages, errors = check_messages(value, line=line, field=field)
    if not errors:
        errors = last_role_errors(messages, "assistant", line=line, field=field)
    if errors:
        return "", None, errors
    return messages[-1]["content"], messages[:-1], []


def check_messages(value: list, *, line: int, field: str) -> tuple[list, list]:
    """Validate a list of {"role", "content"} objects; returns clean copies and errors."""
    if not value:
        return [], [RowError(line, field, "is an empty list; expected at least one message")]
    messages, errors = [], []
    for index, message in enumerate(value):
        where = f"{field}[{index}]"
        if not isinstance(message, dict):
            expected = 'an object with "role" and "content"'
            errors.append(type_error(message, expected, line=line, field=where))
            continue
        extra = [key for key in message if key not in MESSAGE_KEYS]
        if extra:
            names = ", ".join(repr(key) for key in extra)
            errors.append(
                RowError(
                    line, where, f"has unknown key(s) {names}; a message has only role, content"
                )
            )
        role_problem = _role_error(message, index, line=line, field=f"{where}.role")
        content_problem = _content_error(message, line=line, field=f"{where}.content")
        errors.extend(problem for problem in (role_problem, content_problem) if problem)
        if not (extra or role_problem or content_problem):
            messages.append({"role": message["role"], "content": message["content"]})
    return messages, errors


def last_role_errors(messages: list, role: str, *, line: int, field: str) -> list:
    """An error unless the conversation ends with the given role."""
    last = messages[-1]["role"]
    if last == role:
        return []
    why = "the turn the responses answer" if role == "user" else "the response"
    message = f"must end with a message whose role is {role!r} ({why}), got {last!r} last"
    return [RowError(line, field, message)]


def _role_error(message: dict, index: int, *, line: int, field: str) -> RowError | None:
    if "role" not in message:
        return RowError(line, field, "is required; expected 'user', 'assistant' or 'system'")
    role = message["role"]
    if not isinstance(role, str):
        return type_error(role, "one of 'user', 'assistant', 'system'", line=line, field=field)
    if role not in ROLES:
        return RowError(line, field, f"must be 'user', 'assistant' or 'system', got {role!r}")
    if role == "system" and index > 0:
        return RowError(line, field, "'system' is only allowed as the first message")
    return None


def _content_error(message: dict, *, line: int, field: str) -> RowError | None:
    if "content" not in message:
        return RowError(line, field, "is required; expected the message text")
    return string_error(message["content"], line=line, field=field)


def _string_prompt(text: str, *, line: int, field: str) -> tuple[list, list]:
    problem = text_error(text, line=line, field=field)
    if problem:
        return [], [problem]
    turns = "\n\n" + text.strip()
    if turns.startswith("\n\nHuman:") and turns.endswith("\n\nAssistant:"):
        return _hh_messages(turns, line=line, field=field)
    # Inner and surrounding whitespace may be meaningful (code, poems): keep it.
    return [{"role": "user", "content": text}], []


def _hh_messages(turns: str, *, line: int, field: str) -> tuple[list, list]:
    """Split an HH-RLHF transcript into messages, dropping the final empty Assistant marker."""
    parts = _HH_TURN.split(turns)[1:-2]  # [speaker, text, speaker, text, ...]
    messages, errors = [], []
    for number, (speaker, content) in enumerate(zip(parts[::2], parts[1::2], strict=True), 1):
        if not content.strip():
            errors.append(
                RowError(line, field, f"turn {number} ({speaker}:) of the transcript is empty")
            )
        messages.append({"role": _HH_ROLES[speaker], "content": content.strip()})
    if not errors:
        errors = last_role_errors(messages, "user", line=line, field=field)
    return messages, errors
