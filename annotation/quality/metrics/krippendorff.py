"""Krippendorff's alpha for ordinal data (Krippendorff, *Content Analysis*, 2004, ch. 11).

Units are (item, response) pairs; each annotator's "value" for a unit is the rank they
gave that response (mid-ranks for ties). Written here rather than taken from the
``krippendorff`` package because that package needs numpy, and the web tier computes
alpha from stored coincidence counts; tests check both give the same numbers.
"""

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping

Unit = Mapping[Hashable, float]  # annotator → value


def coincidences(units: Iterable[Unit]) -> Counter:
    """The coincidence matrix o[(c, k)]: pairable values within units, each unit weighted
    by 1 / (m_u - 1) where m_u is how many annotators valued it (units with one are
    unpairable and left out)."""
    matrix: Counter = Counter()
    for unit in units:
        values = list(unit.values())
        m = len(values)
        if m < 2:
            continue
        for i, c in enumerate(values):
            for j, k in enumerate(values):
                if i != j:
                    matrix[(c, k)] += 1 / (m - 1)
    return matrix


def alpha_ordinal(units: Iterable[Unit]) -> float | None:
    """Alpha = 1 - D_o / D_e with the ordinal difference function; None when undefined
    (fewer than two pairable values, or only one value ever used)."""
    matrix = coincidences(units)
    return alpha_from_coincidences(matrix)


def alpha_from_coincidences(matrix: Mapping[tuple[float, float], float]) -> float | None:
    """Alpha from a stored coincidence matrix (so it can be summed across items)."""
    marginals: dict[float, float] = defaultdict(float)
    for (c, _), count in matrix.items():
        marginals[c] += count
    n = sum(marginals.values())
    values = sorted(marginals)
    if n <= 1 or len(values) < 2:
        return None
    # Ordinal metric: delta(c, k) = (sum of n_g for g between c and k - (n_c + n_k) / 2)^2.
    cumulative, running = {}, 0.0
    for value in values:
        running += marginals[value]
        cumulative[value] = running

    def delta(c: float, k: float) -> float:
        low, high = (c, k) if c <= k else (k, c)
        between = cumulative[high] - cumulative[low] + marginals[low]
        return (between - (marginals[c] + marginals[k]) / 2) ** 2

    observed = sum(count * delta(c, k) for (c, k), count in matrix.items())
    expected = sum(marginals[c] * marginals[k] * delta(c, k) for c in values for k in values) / (
        n - 1
    )
    if expected == 0:
        return None
    return 1 - observed / expected
