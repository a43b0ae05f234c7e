"""The manager's quality dashboard: the per-annotator table and the stored series.

Everything is read from stored aggregates (AnnotatorStats, ProjectStatsShard,
ProjectQualitySummary, ItemStats), so the page costs the same at 100 or 100k
annotations.
"""

from dataclasses import dataclass

from annotation.quality.models import AnnotatorStats, ProjectQualitySummary, QualityAlert
from annotation.quality.selectors.figures import ProjectAgreement, project_agreement
from annotation.quality.services.fold import quality_deltas_fold
from projects.models import Membership, Project


@dataclass
class AnnotatorRow:
    user_id: int
    username: str
    role: str
    paused: bool
    judgements: int
    gold_score: float | None
    gold_items: int
    loo_agreement: float | None
    median_time_s: float | None
    skip_rate: float | None
    position_first_rate: float | None
    position_chance_rate: float | None
    position_z: float | None
    length_bias: float | None
    cycle_rate: float | None
    weight: float
    speed_flag: bool
    trend: list

    @property
    def position_flag(self) -> bool:
        return self.position_z is not None and self.position_z > 3

    @property
    def trend_counts(self) -> list:
        return [day["n"] for day in self.trend]

    @property
    def trend_agreement(self) -> list:
        return [day["loo"] for day in self.trend]


# Columns the table sorts by: the attribute, and whether "descending" puts high first.
SORT_KEYS = (
    "username", "judgements", "gold_score", "loo_agreement", "median_time_s", "skip_rate",
    "position_z", "length_bias", "cycle_rate", "weight",
)  # fmt: skip


def _row(stats: AnnotatorStats, username: str, role: str, paused: bool) -> AnnotatorRow:
    return AnnotatorRow(
        user_id=stats.user_id,
        username=username,
        role=role,
        paused=paused,
        judgements=stats.judgements,
        gold_score=stats.gold_score,
        gold_items=stats.gold_items,
        loo_agreement=stats.loo_agreement,
        median_time_s=stats.median_time_ms / 1000 if stats.median_time_ms is not None else None,
        skip_rate=stats.skip_rate,
        position_first_rate=stats.position_first_rate,
        position_chance_rate=stats.position_chance_rate,
        position_z=stats.position_z,
        length_bias=stats.length_bias,
        cycle_rate=stats.cycle_rate,
        weight=stats.weight,
        speed_flag=stats.speed_flag,
        trend=stats.trend,
    )


def annotator_table(
    project: Project,
    *,
    sort: str = "weight",
    descending: bool = False,
    user=None,
    fold: bool = True,
) -> list[AnnotatorRow]:
    """One row per annotator with any work; just the user's own row when ``user`` is given."""
    if fold:
        quality_deltas_fold(project_id=project.pk)
    stats = AnnotatorStats.objects.filter(project=project)
    if user is not None:
        stats = stats.filter(user=user)
    members = {
        m["user_id"]: m
        for m in Membership.objects.filter(project=project).values(
            "user_id", "user__username", "role", "paused_at"
        )
    }
    rows = []
    for entry in stats:
        member = members.get(entry.user_id)
        if member is None:
            continue  # a former member's figures stay stored but leave the table
        rows.append(
            _row(entry, member["user__username"], member["role"], member["paused_at"] is not None)
        )
    key = sort if sort in SORT_KEYS else "weight"
    present = [r for r in rows if getattr(r, key) is not None]
    missing = [r for r in rows if getattr(r, key) is None]
    present.sort(key=lambda r: (getattr(r, key), r.username), reverse=descending)
    return present + sorted(missing, key=lambda r: r.username)


CSV_COLUMNS = (
    "username", "role", "paused", "judgements", "gold_score", "gold_items", "loo_agreement",
    "median_time_s", "skip_rate", "position_first_rate", "position_chance_rate", "position_z",
    "length_bias", "cycle_rate", "weight", "speed_flag",
)  # fmt: skip


def annotator_csv_rows(project: Project):
    """The table as CSV rows, header first; numbers unrounded."""
    yield CSV_COLUMNS
    for row in annotator_table(project, sort="username"):
        yield tuple("" if getattr(row, c) is None else getattr(row, c) for c in CSV_COLUMNS)


@dataclass
class Dashboard:
    agreement: ProjectAgreement
    summary: ProjectQualitySummary | None
    alerts: list[QualityAlert]


def dashboard(project: Project) -> Dashboard:
    """The page's project-wide parts; folds waiting deltas, so the page's other reads
    of the sums can pass ``fold=False``."""
    quality_deltas_fold(project_id=project.pk)
    return Dashboard(
        agreement=project_agreement(project, fold=False),
        summary=ProjectQualitySummary.objects.filter(project=project).first(),
        alerts=list(
            QualityAlert.objects.filter(project=project, resolved_at=None)
            .select_related("user")
            .order_by("-created_at")[:50]
        ),
    )
