"""Which new annotations go to the review queue, decided once at submit."""

import random

from annotation.models import ReviewState
from projects.models import Project

_random = random.SystemRandom()


def review_selection(*, project: Project, unsure: bool) -> dict:
    """The review fields of a new annotation: unsure ones always, others at the review rate."""
    if unsure:
        return {"review_state": ReviewState.PENDING, "review_reason": "unsure"}
    if project.review_rate > 0 and _random.random() < project.review_rate:
        return {"review_state": ReviewState.PENDING, "review_reason": "sampled"}
    return {}
