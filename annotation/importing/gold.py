"""The optional "gold" key of a native row: the item's known ranking, by response index.

``"gold": [[0], [2, 1], [3]]`` says responses[0] is best, responses[2] and [1] tie next,
responses[3] is last. Indices, not texts, because the file names responses by position.
"""

import json

from annotation.importing.fields import json_type, type_error
from annotation.importing.rows import RowError


def gold_tiers(raw: dict, *, line: int, k: int) -> tuple[tuple[tuple[int, ...], ...] | None, list]:
    """The gold ranking as tiers of response indices, or None when the row has none."""
    if "gold" not in raw or raw["gold"] is None:
        return None, []
    value = raw["gold"]
    expected = f"a list of tiers of response indices 0..{k - 1}, best first, e.g. [[0], [1, 2]]"
    if not isinstance(value, list) or not value:
        return None, [type_error(value, expected, line=line, field="gold")]
    tiers, seen = [], []
    for index, tier in enumerate(value):
        members = tier if isinstance(tier, list) else [tier]
        problem = _tier_error(tier, members, line=line, field=f"gold[{index}]", k=k)
        if problem:
            return None, [problem]
        tiers.append(tuple(members))
        seen += members
    out_of_range = sorted({i for i in seen if not 0 <= i < k})
    if out_of_range:
        message = f"indices {out_of_range} are not responses of this row (0..{k - 1})"
        return None, [RowError(line, "gold", message)]
    repeated = sorted({i for i in seen if seen.count(i) > 1})
    if repeated:
        return None, [RowError(line, "gold", f"ranks responses {repeated} more than once")]
    missing = sorted(set(range(k)) - set(seen))
    if missing:
        return None, [RowError(line, "gold", f"must rank every response; missing {missing}")]
    return tuple(tiers), []


def _tier_error(tier: object, members: list, *, line: int, field: str, k: int) -> RowError | None:
    """Name the first member that is no response index, and show what it is instead."""
    index = f"a whole number 0..{k - 1}, a response's position in 'responses'"
    if not members:
        return RowError(line, field, f"is an empty tier; expected response indices ({index})")
    for position, member in enumerate(members):
        if isinstance(member, bool) or not isinstance(member, int):
            where = f"{field}[{position}]" if isinstance(tier, list) else field
            found = f"{json_type(member)} {json.dumps(member, ensure_ascii=False)[:40]}"
            return RowError(line, where, f"must be a response index ({index}), got {found}")
    return None
