"""The dashboard's figures over time and across models, rebuilt in the background.

Throughput and agreement per day, the distribution of item agreement, progress per
round, tag frequencies per response model, each model's win rate (the arena view) and
annotators' agreement with the reward model: each is a grouped query or one pass over
the project, too much for a page view at 100k annotations and cheap for a task every
REFRESH_SECONDS. The page reads the stored row.
"""

from collections import defaultdict
from datetime import date
from itertools import combinations
from statistics import median

from django.db.models import Avg, Count, Exists, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from annotation.models import (
    Annotation,
    AnnotationKind,
    AnnotationStatus,
    Assignment,
    AssignmentState,
    Item,
    ItemResponse,
    ResponseLabel,
    SpanTag,
)
from annotation.quality.metrics.rankings import relation, tier_of
from annotation.quality.metrics.reliability import wilson_interval
from annotation.quality.models import ItemStats, ProjectQualitySummary
from annotation.quality.services.reward_agreement import reward_agreement_series
from annotation.selectors import item_complete
from projects.models import Project

AGREEMENT_BINS = 10


def _per_day(project: Project) -> dict:
    counts = dict(
        Annotation.objects.filter(project=project)
        .exclude(kind=AnnotationKind.REVIEW_CORRECTION)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    agreement = dict(
        ItemStats.objects.filter(project=project, agreement__isnull=False)
        .annotate(day=TruncDate("updated_at"))
        .values("day")
        .annotate(mean=Avg("agreement"))
        .values_list("day", "mean")
    )
    days = sorted(set(counts) | set(agreement))
    return {
        "days": [d.isoformat() for d in days],
        "annotations": [counts.get(d, 0) for d in days],
        "agreement": [agreement.get(d) for d in days],
    }


def _agreement_bins(project: Project) -> list[list]:
    bins = [0] * AGREEMENT_BINS
    values = ItemStats.objects.filter(project=project, agreement__isnull=False).values_list(
        "agreement", flat=True
    )
    for value in values.iterator(chunk_size=10000):
        bins[min(int(value * AGREEMENT_BINS), AGREEMENT_BINS - 1)] += 1
    width = 1 / AGREEMENT_BINS
    return [[f"{i * width:.1f}–{(i + 1) * width:.1f}", n] for i, n in enumerate(bins)]


def _rounds(project: Project) -> list[dict]:
    leased = Assignment.objects.filter(item=OuterRef("pk"), state=AssignmentState.ACTIVE)
    # "Complete" as the project and loop pages count it; the rest split by whether work began.
    complete = item_complete(project)
    started = ~complete & (Q(leased=True) | Q(submitted_count__gt=0))
    rows = (
        Item.objects.filter(project=project, is_gold=False)
        .annotate(leased=Exists(leased))
        .values("round")
        .annotate(
            complete=Count("id", filter=complete),
            in_progress=Count("id", filter=started),
            open=Count("id", filter=~complete & Q(submitted_count=0, leased=False)),
        )
        .order_by("round")
    )
    return [dict(row) for row in rows]


def _tags_per_model(project: Project) -> list[dict]:
    """How often each label lands on each model's responses, per 100 judged responses."""
    judged = defaultdict(int)
    links = ItemResponse.objects.filter(item__project=project, item__submitted_count__gt=0)
    for model, n in (
        links.values("response__model_name")
        .annotate(n=Count("id"))
        .values_list("response__model_name", "n")
    ):
        judged[model or "(people)"] += n
    counts = defaultdict(int)
    for source in (SpanTag, ResponseLabel):
        rows = (
            source.objects.filter(annotation__project=project)
            .values("response__model_name", "label__name")
            .annotate(n=Count("id"))
            .values_list("response__model_name", "label__name", "n")
        )
        for model, label, n in rows:
            counts[(model or "(people)", label)] += n
    return [
        {
            "model": model,
            "label": label,
            "count": n,
            "per_100": 100 * n / judged[model] if judged[model] else None,
        }
        for (model, label), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def _wins(project: Project) -> list[dict]:
    """Each model's share of wins against other models' responses in the same item
    (ties count half), over every counted judgement, with a 95% Wilson interval."""
    model_of = dict(
        ItemResponse.objects.filter(item__project=project).values_list(
            "response_id", "response__model_name"
        )
    )
    wins, games = defaultdict(float), defaultdict(float)
    rankings = Annotation.objects.filter(
        project=project, status=AnnotationStatus.ACTIVE, item__is_gold=False
    ).values_list("ranking", flat=True)
    for ranking in rankings.iterator(chunk_size=5000):
        tiers = tier_of(ranking)
        for a, b in combinations(tiers, 2):
            ma, mb = model_of.get(a) or "(people)", model_of.get(b) or "(people)"
            if ma == mb:
                continue
            outcome = relation(tiers, a, b)
            games[ma] += 1
            games[mb] += 1
            wins[ma] += 1.0 if outcome > 0 else 0.5 if outcome == 0 else 0.0
            wins[mb] += 1.0 if outcome < 0 else 0.5 if outcome == 0 else 0.0
    result = []
    for model in sorted(games, key=lambda m: -wins[m] / games[m]):
        low, high = wilson_interval(wins[model], games[model])
        rate = wins[model] / games[model]
        result.append(
            {"model": model, "rate": rate, "low": low, "high": high, "games": int(games[model])}
        )
    return result


def quality_summary_refresh(*, project: Project) -> ProjectQualitySummary:
    """Rebuild and store the dashboard's series for the project."""
    times = Annotation.objects.filter(project=project, kind=AnnotationKind.JUDGEMENT).values_list(
        "time_spent_ms", flat=True
    )
    all_times = list(times.iterator(chunk_size=10000))
    series = {
        **_per_day(project),
        "agreement_bins": _agreement_bins(project),
        "rounds": _rounds(project),
        "tags": _tags_per_model(project),
        "wins": _wins(project),
        "reward_agreement": reward_agreement_series(project),
    }
    summary, _ = ProjectQualitySummary.objects.update_or_create(
        project=project,
        defaults={
            "median_time_ms": int(median(all_times)) if all_times else None,
            "series": series,
            "refreshed_at": timezone.now(),
        },
    )
    return summary


def day_labels(days: list[str]) -> list[str]:
    """Short axis labels ("20 Nov") for ISO days."""
    return [date.fromisoformat(d).strftime("%d %b").lstrip("0") for d in days]
