"""Duplicate detection for prompts: exact repeats by hash, near repeats by shingle similarity.

A prompt is a conversation, ``[{"role": ..., "content": ...}, ...]``. Two prompts are
*exact* duplicates when their canonical text (``normalize``) is equal: case, whitespace,
punctuation and Unicode compatibility forms (full-width letters, ligatures) do not count.
They are *near* duplicates when the Jaccard similarity of their character 5-shingles is
at least a threshold (0.8 by default: a one-word edit of a paragraph-long prompt).

Finding near-duplicate candidates without scanning a project's prompts is MinHash + LSH
(Broder 1997; Leskovec, Rajaraman & Ullman, *Mining of Massive Datasets*, ch. 3): each
prompt gets a ``num_perm``-value signature whose per-position agreement estimates the
Jaccard similarity, and the signature is cut into bands whose keys a database can index.
Prompts that share any band key are candidates; ``find_duplicates`` confirms them with the
exact Jaccard, so the estimate never decides alone.

Written by hand rather than with ``datasketch`` (2.0.0 on PyPI): datasketch's MinHash and
MinHashLSH do the same job, but they bring numpy and scipy into the web tier for about
sixty lines of arithmetic, and its LSH index lives in process memory or Redis, while
PrefLab keeps band keys in its own database. The hashes here are pinned by tests: band keys
are stored, so changing the seed, the prime or the shingle hash would silently orphan every
stored key (re-index after such a change).

Pure Python, no Django: the service that saves prompts stores ``exact_key`` and
``lsh_bands(signature(...))`` and calls ``find_duplicates`` on the candidates it loads.
"""

import hashlib
import random
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

SHINGLE_SIZE = 5  # characters; short enough that a one-word edit leaves most shingles intact
NUM_PERM = 64  # MinHash values per signature; estimate error ~ 1/sqrt(64) = 0.125 std
BANDS = 16  # 16 bands x 4 rows: candidate threshold ~ (1/16)^(1/4) = 0.5
NEAR_THRESHOLD = 0.8  # exact shingle Jaccard at or above which a prompt is a near repeat

# (a*x + b) mod p with p the Mersenne prime 2**61 - 1 is a universal hash family; the
# seed fixes the permutations for ever, since stored signatures and band keys depend on it.
_MERSENNE_PRIME = (1 << 61) - 1
_EMPTY_VALUE = _MERSENNE_PRIME  # larger than any permuted value, so "no shingle" never wins
_PERMUTATION_SEED = 20240611


def normalize(messages: list[dict]) -> str:
    """Canonical text of a conversation: one ``role: content`` line per turn.

    Each turn's content goes through NFKC, casefolding, removal of punctuation
    (Unicode categories P*) and collapsing of whitespace runs. Letters, digits and
    symbols (emoji included) of every script are kept. Because punctuation and line
    breaks are gone from the content, the ``role:`` line structure cannot be forged by
    a single turn's text.
    """
    lines = []
    for message in messages:
        role = _canonical(str(message.get("role", "")))
        content = message.get("content", "")
        lines.append(f"{role}: {_canonical(content if isinstance(content, str) else str(content))}")
    return "\n".join(lines)


@lru_cache(maxsize=1)
def _punctuation_table() -> dict[int, None]:
    # str.translate with a table is ~10x faster than a per-character category test, which
    # matters when an import of 100k prompts computes every exact_key.
    return {
        code: None
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)).startswith("P")
    }


def _canonical(text: str) -> str:
    # NFKC again after casefold: casefolding can leave text that is no longer NFKC
    # (the NFKC_Casefold idea from Unicode's identifier profile).
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(text.translate(_punctuation_table()).split())


def exact_key(messages: list[dict]) -> str:
    """SHA-256 hex digest of ``normalize(messages)``: equal keys mean an exact repeat."""
    return hashlib.sha256(normalize(messages).encode("utf-8")).hexdigest()


def shingles(text: str, k: int = SHINGLE_SIZE) -> set[int]:
    """Character ``k``-shingles of ``text`` (a ``normalize`` output), as stable 64-bit hashes.

    A text shorter than ``k`` is one shingle of itself. blake2b, not ``hash()``: Python's
    string hash changes with every process, and these values are compared across processes.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    if len(text) <= k:
        return {_hash64(text)}
    return {_hash64(text[start : start + k]) for start in range(len(text) - k + 1)}


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> tuple[tuple[int, int], ...]:
    # One generator for all sizes, so the first 64 permutations are the same at any num_perm.
    rng = random.Random(_PERMUTATION_SEED)
    return tuple(
        (rng.randrange(1, _MERSENNE_PRIME), rng.randrange(0, _MERSENNE_PRIME))
        for _ in range(num_perm)
    )


def minhash(shingle_set: set[int], num_perm: int = NUM_PERM) -> tuple[int, ...]:
    """MinHash signature: for each of ``num_perm`` seeded permutations, the smallest value.

    The empty set gets a signature of sentinel maxima, equal only to another empty set's.
    """
    if num_perm < 1:
        raise ValueError("num_perm must be at least 1")
    if not shingle_set:
        return (_EMPTY_VALUE,) * num_perm
    values = tuple(shingle_set)
    prime = _MERSENNE_PRIME
    return tuple(min((a * x + b) % prime for x in values) for a, b in _permutations(num_perm))


def signature(messages: list[dict], num_perm: int = NUM_PERM) -> tuple[int, ...]:
    """MinHash signature of a conversation: ``minhash(shingles(normalize(messages)))``."""
    return minhash(shingles(normalize(messages)), num_perm)


def estimated_jaccard(sig_a: tuple[int, ...], sig_b: tuple[int, ...]) -> float:
    """Jaccard similarity estimated from two signatures: the share of equal positions."""
    if len(sig_a) != len(sig_b) or not sig_a:
        raise ValueError("signatures must be non-empty and of the same length")
    return sum(a == b for a, b in zip(sig_a, sig_b, strict=True)) / len(sig_a)


def jaccard(set_a: set[int], set_b: set[int]) -> float:
    """Exact Jaccard similarity |A ∩ B| / |A ∪ B|; two empty sets are identical (1.0)."""
    if not set_a and not set_b:
        return 1.0
    return len(set_a & set_b) / len(set_a | set_b)


def lsh_bands(signature: tuple[int, ...], bands: int = BANDS) -> list[str]:
    """Band keys ``"<band index>:<16 hex digits>"`` of a signature, for an indexed lookup.

    With ``bands`` bands of ``rows = len(signature) // bands`` values, two prompts of
    Jaccard similarity s share at least one key with probability 1 - (1 - s**rows)**bands,
    an S-curve whose midpoint is about (1/bands)**(1/rows). At 16 x 4 that is 0.5: pairs at
    0.8 collide with probability 0.9998, pairs at 0.3 with 0.12 and unrelated prompts
    (s < 0.1) almost never, so the candidates to confirm stay few.
    """
    if bands < 1 or len(signature) % bands:
        raise ValueError(
            f"a signature of {len(signature)} values does not split into {bands} bands"
        )
    rows = len(signature) // bands
    keys = []
    for index in range(bands):
        band = signature[index * rows : (index + 1) * rows]
        packed = b"".join(value.to_bytes(8, "big") for value in band)
        keys.append(f"{index}:{hashlib.blake2b(packed, digest_size=8).hexdigest()}")
    return keys


@dataclass(frozen=True)
class Duplicate:
    prompt_id: int
    similarity: float  # exact Jaccard of the shingle sets; 1.0 for an exact repeat
    exact: bool  # the normalized texts are equal


def find_duplicates(
    messages: list[dict],
    candidates: Iterable[tuple[int, list[dict]]],
    *,
    threshold: float = NEAR_THRESHOLD,
) -> list[Duplicate]:
    """Confirm which candidate prompts repeat ``messages``, most similar first.

    Args:
        messages: the conversation about to be saved.
        candidates: ``(prompt id, messages)`` pairs, typically those sharing an
            ``exact_key`` or an LSH band key with ``messages``.
        threshold: the exact shingle Jaccard at or above which a prompt is a near repeat.

    Returns:
        Exact repeats first (similarity 1.0), then near repeats by similarity, descending.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    text = normalize(messages)
    own_shingles = shingles(text)
    found = []
    for prompt_id, other in candidates:
        other_text = normalize(other)
        if other_text == text:
            found.append(Duplicate(prompt_id=prompt_id, similarity=1.0, exact=True))
            continue
        similarity = jaccard(own_shingles, shingles(other_text))
        if similarity >= threshold:
            found.append(Duplicate(prompt_id=prompt_id, similarity=similarity, exact=False))
    return sorted(found, key=lambda dup: (not dup.exact, -dup.similarity, dup.prompt_id))
