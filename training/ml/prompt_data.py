"""Prompts for a policy to answer: from a snapshot's files (rows with a ``prompt``:
listwise, pairwise; sft rows' ``messages`` before the demonstrated turn), TRL-style
JSONL, or plain text with one prompt per line.

A prompt is text or a conversation (a list of {role, content} messages, the last one the
user's); the same prompt appearing in several rows is kept once, in first-seen order.
"""

import json
from pathlib import Path

from training.ml.preference_data import DataError, _text, jsonl_rows


def prompts_load(paths: list[str | Path]) -> list:
    out, seen = [], set()
    for path in paths:
        if str(path).endswith(".txt"):
            with open(path, encoding="utf-8") as f:
                found = [line.rstrip("\n") for line in f if line.strip()]
        else:
            found = [_prompt_of(row, where) for where, row in jsonl_rows([path])]
        for prompt in found:
            key = json.dumps(prompt, sort_keys=True)
            if key not in seen:
                seen.add(key)
                out.append(prompt)
    if not out:
        raise DataError(f"{', '.join(map(str, paths))}: no prompts")
    return out


def _prompt_of(row, where: str):
    """A row's ``prompt``; or, for conversational SFT rows (``messages`` ending with the
    demonstrated assistant turn), the conversation before that turn."""
    if isinstance(row, dict) and "prompt" in row:
        _text(row["prompt"], f"{where}: prompt")  # text or messages, else an error
        return row["prompt"]
    if isinstance(row, dict) and isinstance(row.get("messages"), list):
        messages = row["messages"]
        _text(messages, f"{where}: messages")
        if messages and messages[-1].get("role") == "assistant":
            messages = messages[:-1]
        if not messages:
            raise DataError(f"{where}: messages: no turn before the assistant's")
        return messages
    raise DataError(f"{where}: prompt: missing (or messages)")


def prompt_text(prompt) -> str:
    """The prompt as the reward model reads it (conversations in HH's turn style)."""
    return _text(prompt, "prompt")
