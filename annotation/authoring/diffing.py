"""Word-level diff of a response and its rewrite, shown before the rewrite is saved.

Built on the standard library's ``difflib.SequenceMatcher`` over word and whitespace
tokens, so a changed word shows as one change rather than a run of characters.
"""

import difflib
import re
from dataclasses import dataclass

_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class DiffPiece:
    op: str  # "equal", "delete" or "insert"
    text: str


def word_diff(before: str, after: str) -> list[DiffPiece]:
    """Pieces that turn ``before`` into ``after``: equal runs, deletions and insertions."""
    old, new = _TOKENS.findall(before), _TOKENS.findall(after)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    pieces: list[DiffPiece] = []
    for op, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if op == "equal":
            pieces.append(DiffPiece("equal", "".join(old[a_start:a_end])))
            continue
        if a_end > a_start:
            pieces.append(DiffPiece("delete", "".join(old[a_start:a_end])))
        if b_end > b_start:
            pieces.append(DiffPiece("insert", "".join(new[b_start:b_end])))
    return pieces


def diff_counts(pieces: list[DiffPiece]) -> dict[str, int]:
    """Words removed and added, for the one-line summary above the diff."""
    counts = {"delete": 0, "insert": 0}
    for piece in pieces:
        if piece.op in counts:
            counts[piece.op] += len(piece.text.split())
    return counts
