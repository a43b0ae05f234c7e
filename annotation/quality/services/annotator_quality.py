"""The background half of annotator quality: medians, rates, trends and the weight.

Sums that an annotation moves by a fixed amount (agreement, gold, position and length
bias) are kept by every submit (``item_quality``). What needs the whole picture — a
median time, the skip rate, preference cycles across items, the day-by-day trend and
the reliability weight built from all of them — is rebuilt here, in a Celery task that
submits request at most every REFRESH_SECONDS per project.
"""

import logging
import statistics
from collections import defaultdict
from datetime import timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from annotation.models import Annotation, AnnotationKind, Assignment, AssignmentState
from annotation.quality.metrics.agreement import cycle_rate
from annotation.quality.metrics.rankings import pair_relations
from annotation.quality.metrics.reliability import reliability_weight
from annotation.quality.models import AlertKind, AnnotatorStats, ItemStats, QualityAlert
from common.debounce import run_soon
from projects.models import Project

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 30
SPEED_FLAG_RATIO = 0.25  # a median time under a quarter of the project's is implausible
SPEED_MIN_JUDGEMENTS = 10
TREND_DAYS = 14


def quality_refresh_soon(project_id: int) -> None:
    """Ask for a refresh after this transaction commits, at most once per interval."""
    run_soon("quality-refresh", REFRESH_SECONDS, "annotation.quality_refresh", project_id)


def _times(project: Project) -> tuple[dict[int, list[int]], list[int]]:
    per_user: dict[int, list[int]] = defaultdict(list)
    everyone: list[int] = []
    rows = Annotation.objects.filter(project=project, kind=AnnotationKind.JUDGEMENT).values_list(
        "user_id", "time_spent_ms"
    )
    for user, ms in rows.iterator(chunk_size=5000):
        per_user[user].append(ms)
        everyone.append(ms)
    return per_user, everyone


def _cycles(project: Project) -> dict[int, tuple[int, int]]:
    """Per annotator, cyclic and decided triads over responses of the same prompt that
    they judged in different items (one ranking alone is always transitive)."""
    rows = (
        Annotation.objects.filter(project=project, status="active")
        .values_list("user_id", "item__prompt_id", "ranking")
        .order_by("user_id", "item__prompt_id", "created_at")
    )
    grouped: dict[tuple[int, int], list] = defaultdict(list)
    for user, prompt, ranking in rows.iterator(chunk_size=5000):
        grouped[(user, prompt)].append(ranking)
    result: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (user, _), rankings in grouped.items():
        if len(rankings) < 2:
            continue
        preferences: dict[tuple[int, int], int] = {}
        for ranking in rankings:  # a later judgement of the same pair replaces an earlier one
            preferences.update(pair_relations(ranking))
        cyclic, complete = cycle_rate(preferences)
        result[user][0] += cyclic
        result[user][1] += complete
    return {user: (c, n) for user, (c, n) in result.items()}


def _trends(project: Project) -> dict[int, list[dict]]:
    """Per annotator, the last TREND_DAYS days with work: count and peer agreement."""
    since = timezone.now() - timedelta(days=TREND_DAYS)
    rows = (
        Annotation.objects.filter(project=project, created_at__gte=since)
        .exclude(kind=AnnotationKind.REVIEW_CORRECTION)
        .annotate(day=TruncDate("created_at"))
        .values_list("user_id", "item_id", "day")
    )
    rows = list(rows)
    loo = {}
    bases = ItemStats.objects.filter(pk__in={item for _, item, _ in rows}).values_list(
        "item_id", "basis"
    )
    for item_id, basis in bases.iterator(chunk_size=2000):
        for user, sums in basis.get("contribution", {}).get("annotators", {}).items():
            loo[(int(user), item_id)] = (sums.get("loo_same", 0), sums.get("loo_total", 0))
    days: dict[int, dict] = defaultdict(lambda: defaultdict(lambda: [0, 0.0, 0.0]))
    for user, item, day in rows:
        entry = days[user][day.isoformat()]
        same, total = loo.get((user, item), (0, 0))
        entry[0] += 1
        entry[1] += same
        entry[2] += total
    return {
        user: [
            {"day": day, "n": n, "loo": same / total if total else None}
            for day, (n, same, total) in sorted(per_day.items())
        ]
        for user, per_day in days.items()
    }


def annotator_stats_refresh(*, project: Project) -> int:
    """Rebuild every annotator's background figures and weight; returns rows updated."""
    times, everyone = _times(project)
    project_median = statistics.median(everyone) if everyone else None
    skips = dict(
        Assignment.objects.filter(project=project, state=AssignmentState.SKIPPED)
        .values("user_id")
        .annotate(n=Count("id"))
        .values_list("user_id", "n")
    )
    cycles, trends = _cycles(project), _trends(project)
    users = set(times) | set(skips)
    AnnotatorStats.objects.bulk_create(
        [AnnotatorStats(project=project, user_id=user) for user in users], ignore_conflicts=True
    )
    rows = list(AnnotatorStats.objects.filter(project=project))
    now = timezone.now()
    for stats in rows:
        _refresh_one(stats, project, project_median, times, skips, cycles, trends)
        stats.refreshed_at = now
    AnnotatorStats.objects.bulk_update(
        rows,
        [
            "median_time_ms", "skips", "skip_rate", "cyclic_triads", "complete_triads",
            "speed_flag", "weight", "trend", "refreshed_at",
        ],
        batch_size=500,
    )  # fmt: skip
    _speed_alerts(project, [s for s in rows if s.speed_flag], project_median)
    return len(rows)


def _refresh_one(stats, project, project_median, times, skips, cycles, trends) -> None:
    own = times.get(stats.user_id, [])
    stats.median_time_ms = int(statistics.median(own)) if own else None
    stats.skips = skips.get(stats.user_id, 0)
    finished = stats.skips + len(own)
    stats.skip_rate = stats.skips / finished if finished else None
    stats.cyclic_triads, stats.complete_triads = cycles.get(stats.user_id, (0, 0))
    stats.speed_flag = bool(
        project_median
        and len(own) >= SPEED_MIN_JUDGEMENTS
        and stats.median_time_ms < SPEED_FLAG_RATIO * project_median
    )
    stats.trend = trends.get(stats.user_id, [])
    stats.weight = reliability_weight(
        gold_score=stats.gold_score,
        gold_items=stats.gold_items,
        gold_min_answers=project.gold_min_answers,
        loo_agreement=stats.loo_agreement,
        loo_pairs=stats.loo_total,
        position_z=stats.position_z,
        speed_flag=stats.speed_flag,
    )


def _speed_alerts(project: Project, flagged: list, project_median) -> None:
    for stats in flagged:
        QualityAlert.objects.get_or_create(
            project=project,
            user_id=stats.user_id,
            kind=AlertKind.SPEED,
            resolved_at=None,
            defaults={
                "message": (
                    f"median {stats.median_time_ms / 1000:.1f} s per item against the "
                    f"project's {project_median / 1000:.1f} s"
                )
            },
        )
