"""What one item adds to the project's, each annotator's and each annotator pair's sums.

An item's contribution is a pure function of its judgements (and gold answer), so when
the judgements change the aggregates move by ``new - old`` and never need a rescan.
Everything here is plain data: Django stays in ``services/item_quality.py``.
"""

from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations

from annotation.quality.metrics.agreement import kendall_tau_b, kendall_w, pairwise_agreement
from annotation.quality.metrics.consensus import Consensus, consensus
from annotation.quality.metrics.krippendorff import coincidences
from annotation.quality.metrics.rankings import Tiers, mid_ranks, tier_of


@dataclass
class Judged:
    """One counted judgement of the item, as the metrics need it."""

    user: int
    ranking: Tiers
    display: list[int]
    weight: float = 1.0
    # Position bias only means something where the annotator saw a shuffled order.
    shown_shuffled: bool = True


@dataclass
class Contribution:
    project: Counter = field(default_factory=Counter)
    project_coincidences: Counter = field(default_factory=Counter)
    annotators: dict[int, Counter] = field(default_factory=dict)
    pairs: dict[tuple[int, int], Counter] = field(default_factory=dict)
    pair_coincidences: dict[tuple[int, int], Counter] = field(default_factory=dict)


@dataclass
class ItemFigures:
    """The item's own row: agreement, consensus and who agreed with the rest."""

    judgements: int
    pairs_same: int
    pairs_total: int
    kendall_w: float | None
    tau_b_mean: float | None
    consensus: Consensus


def coincidence_key(c: float, k: float) -> str:
    return f"{c:g}|{k:g}"


def _coincidences(judged: list[Judged]) -> Counter:
    ranks = {j.user: mid_ranks(j.ranking) for j in judged}
    ids = sorted(set.intersection(*(set(r) for r in ranks.values())))
    units = [{user: ranks[user][rid] for user in ranks} for rid in ids]
    return Counter({coincidence_key(c, k): count for (c, k), count in coincidences(units).items()})


def _length_tau(ranking: Tiers, lengths: dict[int, int]) -> float | None:
    by_length: dict[int, list[int]] = {}
    for rid in tier_of(ranking):
        by_length.setdefault(lengths.get(rid, 0), []).append(rid)
    length_tiers = [by_length[n] for n in sorted(by_length, reverse=True)]
    return kendall_tau_b(ranking, length_tiers)


def _own_figures(j: Judged, lengths: dict[int, int]) -> Counter:
    """Per-judgement sums that need no other annotator: position and length bias."""
    own = Counter(judgements=1)
    if j.shown_shuffled and j.display:
        top = j.ranking[0] if j.ranking else []
        k = len(j.display)
        own["first_top"] = 1 / len(top) if j.display[0] in top else 0.0
        own["first_expected"] = 1 / k
        own["first_variance"] = (1 / k) * (1 - 1 / k)
    tau = _length_tau(j.ranking, lengths)
    if tau is not None:
        own["length_tau_sum"] = tau
        own["length_tau_n"] = 1
    return own


def _gold_figures(j: Judged, gold: Tiers) -> Counter:
    same, total = pairwise_agreement(j.ranking, gold)
    return Counter(gold_same=same, gold_total=total, gold_items=1)


def _loo_figures(judged: list[Judged]) -> dict[int, Counter]:
    """Each annotator against the weighted consensus of the item's other annotators."""
    result: dict[int, Counter] = {}
    for j in judged:
        others = [(o.ranking, o.weight) for o in judged if o.user != j.user]
        rest = consensus(others)
        if not rest.ranking:
            continue
        same, total = pairwise_agreement(j.ranking, rest.ranking)
        result[j.user] = Counter(loo_same=same, loo_total=total)
    return result


def _pair_figures(a: Judged, b: Judged) -> Counter:
    same, total = pairwise_agreement(a.ranking, b.ranking)
    figures = Counter(items=1, pairs_same=same, pairs_total=total)
    tau = kendall_tau_b(a.ranking, b.ranking)
    if tau is not None:
        figures["tau_sum"] = tau
        figures["tau_n"] = 1
    return figures


def item_contribution(
    judged: list[Judged], *, lengths: dict[int, int], gold: Tiers | None = None
) -> tuple[ItemFigures, Contribution]:
    """The item's figures and what it adds to the running sums.

    Gold items count only toward each annotator's gold score and biases: everyone
    judges them, so they would swamp the agreement of ordinary items.
    """
    judged = sorted(judged, key=lambda j: j.user)
    contribution = Contribution()
    for j in judged:
        own = _own_figures(j, lengths)
        if gold:
            own.update(_gold_figures(j, gold))
        contribution.annotators[j.user] = own
    pairs_same = pairs_total = 0
    taus: list[float] = []
    if not gold and len(judged) >= 2:
        for a, b in combinations(judged, 2):
            figures = _pair_figures(a, b)
            contribution.pairs[(a.user, b.user)] = figures
            contribution.pair_coincidences[(a.user, b.user)] = _coincidences([a, b])
            pairs_same += figures["pairs_same"]
            pairs_total += figures["pairs_total"]
            if figures["tau_n"]:
                taus.append(figures["tau_sum"])
        for user, figures in _loo_figures(judged).items():
            contribution.annotators[user].update(figures)
    w = kendall_w([j.ranking for j in judged]) if len(judged) >= 2 else None
    if not gold and len(judged) >= 2:
        contribution.project.update(items_multi=1, pairs_same=pairs_same, pairs_total=pairs_total)
        if w is not None:
            contribution.project.update(w_sum=w, w_n=1)
        if taus:
            contribution.project.update(tau_sum=sum(taus), tau_n=len(taus))
        contribution.project_coincidences = _coincidences(judged)
    figures = ItemFigures(
        judgements=len(judged),
        pairs_same=pairs_same,
        pairs_total=pairs_total,
        kendall_w=w,
        tau_b_mean=sum(taus) / len(taus) if taus else None,
        consensus=consensus([(j.ranking, j.weight) for j in judged]),
    )
    return figures, contribution


def counter_delta(new: Counter, old: Counter) -> dict:
    """new - old for every key, keeping negative values (Counter subtraction drops them)."""
    keys = set(new) | set(old)
    delta = {key: new.get(key, 0) - old.get(key, 0) for key in keys}
    return {key: value for key, value in delta.items() if value}


def keyed_delta(new: dict, old: dict) -> dict:
    """Per-key counter deltas of two {key: Counter} maps, dropping keys that did not move."""
    result = {}
    for key in set(new) | set(old):
        delta = counter_delta(new.get(key, Counter()), old.get(key, Counter()))
        if delta:
            result[key] = delta
    return result
