"""How often annotators agree with the project's reward model: per annotator, per day,
blind and assisted apart.

Part of the dashboard's background refresh (``quality_summary``): one pass over the
project's judgements against the stored scores (``training.ResponseScore``), too much for a
page view on a large project. Agreement is counted over the response pairs an annotator
ordered (ties carry no order) whose responses both have a score; an equal score counts
half. Assisted annotations (the annotator saw the model's order) are kept apart from
blind ones, since a gap between the two is how anchoring on the suggestion shows: an
annotator whose assisted interval lies wholly above their blind one is flagged.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.utils import timezone

from annotation.model_scores import response_scores
from annotation.models import Annotation, AnnotationKind, AnnotationStatus
from annotation.quality.metrics.rankings import score_agreement
from annotation.quality.metrics.reliability import wilson_interval
from projects.models import Project


@dataclass
class _Tally:
    agreements: float = 0.0
    pairs: int = 0
    annotations: int = 0

    def add(self, agreements: float, pairs: int, annotations: int = 1) -> None:
        self.agreements += agreements
        self.pairs += pairs
        self.annotations += annotations

    @property
    def rate(self) -> float | None:
        return self.agreements / self.pairs if self.pairs else None


def _interval(tally: _Tally) -> dict:
    """The rate with a 95% Wilson interval counted in annotations, not pairs: the pairs of
    one ranking (6 for K = 4) hang together, so they are not independent trials."""
    rate = tally.rate
    low, high = wilson_interval((rate or 0.0) * tally.annotations, tally.annotations)
    return {"pairs": tally.pairs, "annotations": tally.annotations, "rate": rate,
            "low": low, "high": high}  # fmt: skip


ANCHORING_MIN_RANKINGS = 20  # blind and assisted each, before a gap means anything


def _anchoring(blind: dict, assisted: dict) -> dict:
    """How much more an annotator agrees with the model when shown its order; flagged when
    both sides have enough rankings and their 95% intervals do not overlap."""
    if min(blind["annotations"], assisted["annotations"]) < ANCHORING_MIN_RANKINGS:
        return {"gap": None, "anchoring": False}
    gap = assisted["rate"] - blind["rate"]
    return {"gap": gap, "anchoring": assisted["low"] > blind["high"]}


def reward_agreement_series(project: Project) -> dict | None:
    """The dashboard's reward-model figures, or None when the project has no reward model."""
    if not project.reward_model_id:
        return None
    scores = response_scores(project)
    judgements = (
        Annotation.objects.filter(
            project=project, kind=AnnotationKind.JUDGEMENT, status=AnnotationStatus.ACTIVE,
            item__is_gold=False,
        )
        .exclude(ranking=[])
        .values_list("user_id", "user__username", "assisted", "created_at", "ranking")
    )  # fmt: skip
    overall = {False: _Tally(), True: _Tally()}
    by_day = {False: defaultdict(_Tally), True: defaultdict(_Tally)}
    people: dict[int, dict] = {}
    for user_id, username, assisted, created_at, ranking in judgements.iterator(chunk_size=5000):
        agreements, pairs = score_agreement(ranking, scores)
        if not pairs:
            continue
        day = timezone.localdate(created_at).isoformat()
        person = people.setdefault(
            user_id,
            {"username": username, "all": _Tally(), False: _Tally(), True: _Tally(),
             "days": defaultdict(_Tally)},
        )  # fmt: skip
        for tally in (overall[assisted], by_day[assisted][day], person["all"], person[assisted],
                      person["days"][day]):  # fmt: skip
            tally.add(agreements, pairs)
    days = sorted(set(by_day[False]) | set(by_day[True]))

    def daily(tallies: dict) -> list[float | None]:
        return [tallies[d].rate if d in tallies else None for d in days]

    annotators = [
        {
            "user_id": user_id,
            "username": person["username"],
            **_interval(person["all"]),
            "blind": _interval(person[False]),
            "assisted": _interval(person[True]),
            "by_day": daily(person["days"]),
            **_anchoring(_interval(person[False]), _interval(person[True])),
        }
        for user_id, person in people.items()
    ]
    annotators.sort(key=lambda row: (-row["rate"], row["username"]))
    everyone = _Tally()
    for tally in overall.values():
        everyone.add(tally.agreements, tally.pairs, tally.annotations)
    return {
        "model": project.reward_model.name,
        "model_id": project.reward_model_id,
        **_interval(everyone),
        "blind": _interval(overall[False]),
        "assisted": _interval(overall[True]),
        "days": days,
        "blind_by_day": daily(by_day[False]),
        "assisted_by_day": daily(by_day[True]),
        "annotators": annotators,
    }
