"""Preference files as ranked examples: one prompt, its responses, tiers best first.

Reads a snapshot's ``listwise`` JSONL (``prompt``, ``responses``, ``ranking`` as tiers of
indices), ``pairwise`` JSONL and any TRL-style file (``prompt``/``chosen``/``rejected``,
or ``chosen``/``rejected`` alone with the prompt inside them), each value plain text or
conversational (``[{"role", "content"}]``). A pairwise row is a ranked example of two.
Bad input raises ``DataError`` naming the file, the line and the field.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path


class DataError(ValueError):
    pass


@dataclass
class Ranked:
    prompt: str
    responses: list[str]
    tiers: list[list[int]]  # indices into responses, best tier first; a tier of several is a tie
    weight: float = 1.0  # the annotation's reliability weight
    margin: float = 0.0  # a pairwise row's margin (its one pair's)
    group: str = ""  # prompt category or source, for per-group accuracy
    models: list[str] = field(default_factory=list)  # generating model per response, "" unknown

    def pairs(self) -> list[tuple[int, int]]:
        """(better, worse) for every two responses in different tiers; ties give none."""
        out = []
        for n, upper in enumerate(self.tiers):
            for lower in self.tiers[n + 1 :]:
                out.extend((a, b) for a in upper for b in lower)
        return out


ROLE_NAMES = {"user": "Human", "assistant": "Assistant", "system": "System"}


def _text(value, where: str, *, completion: bool = False) -> str:
    """Plain text of a prompt or completion value (conversations in HH's turn style)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(m, dict) for m in value):
        try:
            if completion and len(value) == 1:
                return str(value[0]["content"])
            return "".join(
                f"\n\n{ROLE_NAMES.get(m['role'], m['role'])}: {m['content']}" for m in value
            )
        except KeyError as exc:
            raise DataError(f"{where}: message without {exc.args[0]!r}") from None
    raise DataError(f"{where}: expected text or a list of {{role, content}} messages")


def _split_shared_prompt(chosen: str, rejected: str) -> tuple[str, str, str]:
    """Implicit-prompt pairs (HH's raw format): the common prefix up to the last
    "Assistant:" is the prompt."""
    n = 0
    for a, b in zip(chosen, rejected, strict=False):
        if a != b:
            break
        n += 1
    cut = chosen.rfind("Assistant:", 0, n)
    if cut < 0:
        return "", chosen, rejected
    cut += len("Assistant:")
    return chosen[:cut], chosen[cut:], rejected[cut:]


def _number(row: dict, key: str, where: str, default: float) -> float:
    value = row.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{where}: field {key!r} must be a number, got {value!r}")
    return float(value)


def _listwise(row: dict, where: str) -> Ranked:
    responses = row["responses"]
    if not isinstance(responses, list) or len(responses) < 2:
        raise DataError(f"{where}: field 'responses' must list at least two responses")
    texts = [_text(r, f"{where}: responses[{n}]", completion=True) for n, r in enumerate(responses)]
    ranking = row.get("ranking")
    if not isinstance(ranking, list) or not all(isinstance(t, list) for t in ranking):
        raise DataError(f"{where}: field 'ranking' must be tiers of response indices")
    seen = [i for tier in ranking for i in tier]
    if any(not isinstance(i, int) or not 0 <= i < len(texts) for i in seen) or len(seen) != len(
        set(seen)
    ):
        raise DataError(f"{where}: field 'ranking' has an index out of range or twice")
    return Ranked(
        prompt=_text(row.get("prompt", ""), f"{where}: field 'prompt'"),
        responses=texts,
        tiers=[list(t) for t in ranking if t],
        weight=_number(row, "weight", where, 1.0),
        group=str(row.get("category") or row.get("source") or ""),
        models=[str(m or "") for m in row.get("response_models") or []],
    )


def _pairwise(row: dict, where: str) -> Ranked:
    chosen = _text(row["chosen"], f"{where}: field 'chosen'", completion=True)
    rejected = _text(row["rejected"], f"{where}: field 'rejected'", completion=True)
    if "prompt" in row:
        prompt = _text(row["prompt"], f"{where}: field 'prompt'")
    else:
        prompt, chosen, rejected = _split_shared_prompt(chosen, rejected)
    return Ranked(
        prompt=prompt,
        responses=[chosen, rejected],
        tiers=[[0], [1]],
        weight=_number(row, "weight", where, 1.0),
        margin=_number(row, "margin", where, 0.0),
        group=str(row.get("category") or row.get("source") or ""),
        models=[str(row.get("chosen_model") or ""), str(row.get("rejected_model") or "")],
    )


def example_of(row, where: str) -> Ranked:
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object")
    if "responses" in row:
        return _listwise(row, where)
    if "chosen" in row and "rejected" in row:
        return _pairwise(row, where)
    raise DataError(f"{where}: neither 'responses' + 'ranking' nor 'chosen' + 'rejected'")


def jsonl_rows(paths: list[str | Path]):
    """(``file:line``, parsed row) of every non-blank line of the files, in order; a line
    that is not JSON is a DataError naming it."""
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    yield where, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{where}: not JSON ({exc.msg})") from None


def examples_load(paths: list[str | Path]) -> list[Ranked]:
    """Every example of the files, in order; rankings with fewer than two tiers (all
    tied) carry no preference and are left out."""
    out: list[Ranked] = []
    for where, row in jsonl_rows(paths):
        example = example_of(row, where)
        if len(example.tiers) >= 2:
            out.append(example)
    return out
