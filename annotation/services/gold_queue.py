"""Gold items in the queue: when a claim serves one, and which.

Serving them is the claim's; scoring them is quality's (``annotation.quality.services.gold``).
"""

import random

from django.db.models import OuterRef, Q

from annotation.models import Assignment, Item
from annotation.services.index_probe import ProbeExists
from projects.models import Project

_random = random.SystemRandom()


def gold_due(project: Project) -> bool:
    """Whether this claim should serve a gold item: a fresh draw at the project's rate.

    Independent draws keep gold positions unpredictable, which fixed intervals are not.
    """
    return project.gold_rate > 0 and _random.random() < project.gold_rate


def gold_candidate(*, user, project: Project, allowed_batches) -> Item | None:
    """A random gold item the user has never had, locked for the claim."""
    already_had = Assignment.objects.filter(item=OuterRef("pk"), user=user)
    candidates = (
        Item.objects.filter(project=project, is_gold=True)
        .filter(Q(restricted=False) | Q(batch_id__in=allowed_batches))
        .exclude(ProbeExists(already_had))
    )
    # Random order in the database: every unseen gold item is equally likely, however many.
    chosen = candidates.order_by("?").values_list("id", flat=True).first()
    if chosen is None:
        return None
    return Item.objects.select_for_update(of=("self",)).only("id").get(pk=chosen)
