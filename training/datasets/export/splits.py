"""Train / validation / test by prompt group, stable across exports.

A prompt's split depends only on its group key (a hash of its normalised text, so the
same prompt imported twice or written by two people lands in one split) and the seed:
adding annotations, changing filters or re-running an export never moves a prompt.
"""

import hashlib
import math

SPLIT_NAMES = ("train", "validation", "test")


def splits_check(ratios: dict) -> dict[str, float]:
    """Validated ratios in the canonical order, zero-ratio splits left out."""
    if not isinstance(ratios, dict) or not ratios:
        raise ValueError('splits: give ratios such as {"train": 0.9, "test": 0.1}')
    unknown = sorted(set(ratios) - set(SPLIT_NAMES))
    if unknown:
        raise ValueError(f"splits: unknown split {unknown[0]!r} (use {', '.join(SPLIT_NAMES)})")
    clean = {}
    for name in SPLIT_NAMES:
        value = ratios.get(name, 0)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ValueError(f"splits.{name}: must be a number from 0 to 1, got {value!r}")
        if value:
            clean[name] = float(value)
    total = sum(clean.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"splits: ratios must add up to 1, they add up to {total:g}")
    return clean


def split_of(group_key: str, *, seed: int, ratios: dict[str, float]) -> str:
    """The split of a prompt group: a uniform draw from (seed, key), cut at the ratios."""
    digest = hashlib.sha256(f"{seed}:{group_key}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    bound = 0.0
    for name, ratio in ratios.items():
        bound += ratio
        if draw < bound:
            return name
    return next(reversed(ratios))  # the float sum of the ratios fell a hair short of 1
