"""Reads of the stored quality aggregates: project figures, annotator pairs, items.

Nothing here rescans annotations: project figures add up ProjectStatsShard rows, pair
figures read AnnotatorPairStats, item figures read ItemStats. Readers of the shared sums
fold the waiting deltas first (``quality_fold``), so what they show is complete.
"""

from collections import Counter
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from annotation.quality.metrics.krippendorff import alpha_from_coincidences
from annotation.quality.models import AnnotatorPairStats, ItemStats, ProjectStatsShard
from annotation.quality.services.fold import quality_deltas_fold
from common.numbers import DB_INT_MAX
from projects.models import Project


def _parse_coincidences(counts: dict) -> dict[tuple[float, float], float]:
    parsed = {}
    for key, value in counts.items():
        c, k = key.split("|")
        parsed[(float(c), float(k))] = value
    return parsed


@dataclass(frozen=True)
class ProjectAgreement:
    items_multi: int  # items with two or more counted judgements (gold left out)
    pairwise: float | None  # share of response pairs two annotators ordered alike
    kendall_w: float | None  # mean over items
    tau_b: float | None  # mean over annotator pairs within items
    alpha: float | None  # Krippendorff's ordinal alpha over (item, response) units


def project_agreement(project: Project, *, fold: bool = True) -> ProjectAgreement:
    """The project's agreement, from its shard rows (after folding waiting deltas)."""
    if fold:
        quality_deltas_fold(project_id=project.pk)
    sums: Counter = Counter()
    coincidences: Counter = Counter()
    for shard in ProjectStatsShard.objects.filter(project=project):
        for name in ("items_multi", "pairs_same", "pairs_total", "w_sum", "w_n"):
            sums[name] += getattr(shard, name)
        sums["tau_sum"] += shard.tau_sum
        sums["tau_n"] += shard.tau_n
        coincidences.update(shard.coincidences)
    return ProjectAgreement(
        items_multi=sums["items_multi"],
        pairwise=sums["pairs_same"] / sums["pairs_total"] if sums["pairs_total"] else None,
        kendall_w=sums["w_sum"] / sums["w_n"] if sums["w_n"] else None,
        tau_b=sums["tau_sum"] / sums["tau_n"] if sums["tau_n"] else None,
        alpha=alpha_from_coincidences(_parse_coincidences(coincidences)),
    )


@dataclass(frozen=True)
class PairAgreement:
    user_a: str
    user_b: str
    items: int
    pairwise: float | None
    tau_b: float | None
    alpha: float | None


def annotator_pairs(
    project: Project, *, user=None, limit: int = 500, fold: bool = True
) -> list[PairAgreement]:
    """Agreement between annotator pairs, most shared items first; one user's pairs if given."""
    if fold:
        quality_deltas_fold(project_id=project.pk)
    rows = AnnotatorPairStats.objects.filter(project=project, items__gt=0)
    if user is not None:
        rows = rows.filter(user_a=user) | rows.filter(user_b=user)
    rows = list(rows.order_by("-items", "user_a_id", "user_b_id")[:limit])
    ids = {r.user_a_id for r in rows} | {r.user_b_id for r in rows}
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
    return [
        PairAgreement(
            user_a=names.get(r.user_a_id, "?"),
            user_b=names.get(r.user_b_id, "?"),
            items=r.items,
            pairwise=r.pairs_same / r.pairs_total if r.pairs_total else None,
            tau_b=r.tau_sum / r.tau_n if r.tau_n else None,
            alpha=alpha_from_coincidences(_parse_coincidences(r.coincidences)),
        )
        for r in rows
    ]


def item_stats_of(item_id: int) -> ItemStats | None:
    # The key is the item's foreign key, and Django does not shield foreign-key lookups from
    # integers no column holds (SQLite raises OverflowError): a URL may carry any digits.
    if item_id > DB_INT_MAX:
        return None
    return ItemStats.objects.filter(pk=item_id).first()


def disagreement_list(project: Project, *, limit: int = 20) -> list[ItemStats]:
    """The items annotators agree on least (gold left out), worst first."""
    return list(
        ItemStats.objects.filter(project=project, agreement__isnull=False)
        .select_related("item__prompt")
        .defer("basis")  # what the row was computed from: large, and not shown
        .order_by("agreement", "item_id")[:limit]
    )
