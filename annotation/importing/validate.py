"""Check one parsed row (from a JSONL line or a CSV record) and turn it into an ImportRow."""

import difflib
import hashlib
import json

from annotation.importing.conversation import completion, last_role_errors, prompt_messages
from annotation.importing.fields import (
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    json_depth_error,
    json_strings_error,
    string_error,
    text_error,
    type_error,
)
from annotation.importing.gold import gold_tiers
from annotation.importing.rows import ImportedResponse, ImportRow, RowError

NATIVE_KEYS = ("id", "prompt", "responses", "metadata", "priority", "batch", "gold")
# Keys TRL preference datasets carry beside the pair; they are kept in the metadata.
TRL_EXTRA_KEYS = ("source", "score_chosen", "score_rejected")
TRL_KEYS = ("id", "prompt", "chosen", "rejected", "metadata", "priority", "batch", *TRL_EXTRA_KEYS)
RESPONSE_KEYS = ("text", "model", "metadata")
MAX_PRIORITY = 1_000_000

__all__ = ["MAX_TEXT_CHARS", "stable_id", "validate_row"]


def validate_row(raw: dict, *, line: int, responses_per_item: int) -> ImportRow | list[RowError]:
    """Validate one row in the native or the TRL (prompt/chosen/rejected) shape.

    Returns the row, or every error found in it (never just the first).
    """
    if not isinstance(raw, dict):
        return [type_error(raw, "a JSON object", line=line, field="(row)")]
    is_pair = "chosen" in raw or "rejected" in raw
    if is_pair and "responses" in raw:
        message = (
            "has both 'responses' and 'chosen'/'rejected'; give the K responses in "
            "'responses', or a preference pair in 'chosen' and 'rejected', not both"
        )
        return [RowError(line, "(row)", message)]
    errors = _unknown_key_errors(raw, TRL_KEYS if is_pair else NATIVE_KEYS, line=line)
    external_id, id_errors = _external_id(raw, line=line)
    if is_pair:
        messages, responses, part_errors = _pair_parts(raw, line=line, k=responses_per_item)
    else:
        messages, responses, part_errors = _native_parts(raw, line=line, k=responses_per_item)
    metadata, metadata_errors = _metadata(raw.get("metadata", {}), line=line, field="metadata")
    priority, priority_errors = _priority(raw, line=line)
    batch, batch_errors = _batch(raw, line=line)
    errors += id_errors + part_errors + metadata_errors + priority_errors + batch_errors
    gold, gold_errors = (None, []) if is_pair else gold_tiers(raw, line=line, k=responses_per_item)
    errors += gold_errors
    if is_pair:
        extras, extra_errors = _pair_extras(raw, line=line)
        errors += extra_errors
        metadata = {**extras, **metadata}  # the row's own metadata wins over the extras
    if errors:
        return errors
    return ImportRow(
        line=line,
        external_id=external_id or stable_id(messages, responses),
        messages=messages,
        responses=responses,
        metadata=metadata,
        priority=priority,
        batch=batch,
        preferred_index=0 if is_pair else None,
        gold=gold,
    )


def stable_id(messages: list[dict], responses: list[ImportedResponse]) -> str:
    """An id made from the row's content, so re-importing an id-less file finds the same rows.

    Only the conversation and the response texts (in order) count: model names and
    metadata describe a row, they do not make it a different item.
    """
    canonical = json.dumps(
        {"messages": messages, "responses": [response.text for response in responses]},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _unknown_key_errors(raw: dict, allowed: tuple, *, line: int) -> list[RowError]:
    unknown = [key for key in raw if key not in allowed]
    if not unknown:
        return []
    names = []
    for key in unknown:
        guess = difflib.get_close_matches(key, allowed, n=1)
        if key in TRL_EXTRA_KEYS:
            names.append(f"{key!r} (only with 'chosen'/'rejected'; put it in 'metadata')")
        else:
            names.append(f"{key!r}" + (f" (did you mean {guess[0]!r}?)" if guess else ""))
    message = f"has unknown key(s) {', '.join(names)}; allowed keys: {', '.join(allowed)}"
    return [RowError(line, "(row)", message)]


def _external_id(raw: dict, *, line: int) -> tuple[str, list]:
    if "id" not in raw:
        return "", []
    value = raw["id"]
    if isinstance(value, bool) or not isinstance(value, int | str):
        return "", [type_error(value, "a string or an integer", line=line, field="id")]
    # Surrounding spaces in an id are always an accident (a padded CSV cell).
    text = str(value).strip()
    if not text:
        message = "is empty; give a non-empty id, or leave it out to have one made from the row"
        return "", [RowError(line, "id", message)]
    problem = text_error(text, line=line, field="id", limit=MAX_NAME_CHARS)
    return text, [problem] if problem else []


def _native_parts(raw: dict, *, line: int, k: int) -> tuple[list, list, list]:
    if "prompt" in raw:
        messages, errors = prompt_messages(raw["prompt"], line=line)
    else:
        messages = []
        errors = [RowError(line, "prompt", "is required; expected a string or a list of messages")]
    if "responses" not in raw:
        errors.append(RowError(line, "responses", f"is required; expected a list of {k} responses"))
        return messages, [], errors
    responses, response_errors = _responses(raw["responses"], line=line, k=k)
    return messages, responses, errors + response_errors


def _responses(value: object, *, line: int, k: int) -> tuple[list, list]:
    if not isinstance(value, list):
        return [], [type_error(value, f"a list of {k} responses", line=line, field="responses")]
    errors = []
    if len(value) != k:
        message = f"expected {k} responses (the project's K), got {len(value)}"
        errors.append(RowError(line, "responses", message))
    responses = []
    for index, entry in enumerate(value):
        response, entry_errors = _response(entry, line=line, field=f"responses[{index}]")
        responses.append(response)
        errors += entry_errors
    if errors:
        return [], errors
    first_seen: dict[str, int] = {}
    for index, response in enumerate(responses):
        # Differences only in surrounding whitespace look identical to an annotator.
        earlier = first_seen.setdefault(response.text.strip(), index)
        if earlier != index:
            message = (
                f"responses[{earlier}] and responses[{index}] are identical; "
                "the responses in a row must differ"
            )
            errors.append(RowError(line, "responses", message))
    return responses, errors


def _response(entry: object, *, line: int, field: str) -> tuple[ImportedResponse | None, list]:
    if isinstance(entry, str):
        problem = text_error(entry, line=line, field=field)
        return ImportedResponse(text=entry), [problem] if problem else []
    if not isinstance(entry, dict):
        expected = 'a string or an object with "text"'
        return None, [type_error(entry, expected, line=line, field=field)]
    errors = []
    extra = [key for key in entry if key not in RESPONSE_KEYS]
    if extra:
        names = ", ".join(repr(key) for key in extra)
        message = f"has unknown key(s) {names}; allowed keys: {', '.join(RESPONSE_KEYS)}"
        errors.append(RowError(line, field, message))
    if "text" not in entry:
        errors.append(RowError(line, f"{field}.text", "is required; expected the response text"))
    else:
        errors.append(string_error(entry["text"], line=line, field=f"{field}.text"))
    model = entry.get("model", "")
    errors.append(
        string_error(
            model, line=line, field=f"{field}.model", limit=MAX_NAME_CHARS, allow_empty=True
        )
    )
    metadata, metadata_errors = _metadata(
        entry.get("metadata", {}), line=line, field=f"{field}.metadata"
    )
    errors = [problem for problem in errors + metadata_errors if problem]
    if errors:
        return None, errors
    return ImportedResponse(text=entry["text"], model_name=model.strip(), metadata=metadata), []


def _pair_parts(raw: dict, *, line: int, k: int) -> tuple[list, list, list]:
    """A TRL preference pair: responses [chosen, rejected], and the prompt given or shared."""
    errors = []
    if k != 2:
        message = (
            f"a 'chosen'/'rejected' pair gives 2 responses, but the project's K is {k}; "
            f"give {k} responses in 'responses' instead"
        )
        errors.append(RowError(line, "(row)", message))
    texts, prefixes = {}, {}
    for key, other in (("chosen", "rejected"), ("rejected", "chosen")):
        if key not in raw:
            message = f"is required with {other!r}; expected a string or a list of messages"
            errors.append(RowError(line, key, message))
            continue
        text, prefix, completion_errors = completion(raw[key], line=line, field=key)
        errors += completion_errors
        if not completion_errors:
            texts[key], prefixes[key] = text, prefix
    if "prompt" in raw:
        messages, prompt_errors = prompt_messages(raw["prompt"], line=line)
    elif len(prefixes) == 2:
        messages, prompt_errors = _shared_prompt(prefixes["chosen"], prefixes["rejected"], line)
    else:
        messages, prompt_errors = [], []  # the chosen/rejected errors already say what is wrong
    errors += prompt_errors
    if len(texts) == 2 and texts["chosen"].strip() == texts["rejected"].strip():
        message = "is identical to 'chosen'; a preference pair needs two different responses"
        errors.append(RowError(line, "rejected", message))
    if errors:
        return [], [], errors
    responses = [ImportedResponse(text=texts["chosen"]), ImportedResponse(text=texts["rejected"])]
    return messages, responses, []


def _shared_prompt(chosen: list | None, rejected: list | None, line: int) -> tuple[list, list]:
    """TRL's implicit prompt: the turns both conversations share before their final answer."""
    if chosen is None or rejected is None:
        message = (
            "is required when 'chosen' or 'rejected' is a string; or give both as "
            "conversations that share the turns before the final assistant answer"
        )
        return [], [RowError(line, "prompt", message)]
    if not chosen:
        message = (
            "is required: 'chosen' holds only the assistant's answer, no conversation before it"
        )
        return [], [RowError(line, "prompt", message)]
    if chosen != rejected:
        differ = next(
            (i for i, pair in enumerate(zip(chosen, rejected, strict=False)) if pair[0] != pair[1]),
            min(len(chosen), len(rejected)),
        )
        message = (
            "must share the conversation before its final answer with 'chosen' "
            f"(they differ at message {differ}); or give the prompt in 'prompt'"
        )
        return [], [RowError(line, "rejected", message)]
    return chosen, last_role_errors(chosen, "user", line=line, field="chosen")


def _pair_extras(raw: dict, *, line: int) -> tuple[dict, list]:
    extras, errors = {}, []
    for key in TRL_EXTRA_KEYS:
        if key not in raw:
            continue
        value = raw[key]
        if key == "source":
            problem = string_error(value, line=line, field=key, allow_empty=True)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            problem = type_error(value, "a number", line=line, field=key)
        else:
            problem = None
        if problem:
            errors.append(problem)
        else:
            extras[key] = value
    return extras, errors


def _metadata(value: object, *, line: int, field: str) -> tuple[dict, list]:
    if not isinstance(value, dict):
        return {}, [type_error(value, "an object", line=line, field=field)]
    problem = json_depth_error(value, line=line, field=field) or json_strings_error(
        value, line=line, field=field
    )
    return value, [problem] if problem else []


def _priority(raw: dict, *, line: int) -> tuple[int, list]:
    value = raw.get("priority", 0)
    if isinstance(value, bool) or not isinstance(value, int):
        return 0, [type_error(value, "an integer", line=line, field="priority")]
    if not -MAX_PRIORITY <= value <= MAX_PRIORITY:
        message = f"must be between {-MAX_PRIORITY:,} and {MAX_PRIORITY:,}, got {value:,}"
        return 0, [RowError(line, "priority", message)]
    return value, []


def _batch(raw: dict, *, line: int) -> tuple[str, list]:
    value = raw.get("batch", "")
    problem = string_error(value, line=line, field="batch", limit=MAX_NAME_CHARS, allow_empty=True)
    if problem:
        return "", [problem]
    return value.strip(), []
