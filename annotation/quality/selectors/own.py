"""An annotator's own figures in a project, as the annotator may see them.

Gold figures are left out, for page and API alike: a gold count or score that moves right
after a submit would tell the annotator which item was gold, and gold only measures
people who cannot tell it apart.
"""

from dataclasses import dataclass, replace

from annotation.quality.models import Review
from annotation.quality.selectors.dashboard import AnnotatorRow, annotator_table
from annotation.quality.selectors.review import reviews_received
from projects.models import Project


@dataclass
class OwnQuality:
    figures: AnnotatorRow | None  # None until the user's first counted annotation
    reviews: list[Review]


def own_quality(*, project: Project, user, reviews_limit: int = 20) -> OwnQuality:
    """The user's own row of the annotator table (gold blanked) and the reviews of their
    annotations, newest first."""
    rows = annotator_table(project, user=user)
    figures = replace(rows[0], gold_score=None, gold_items=0) if rows else None
    return OwnQuality(
        figures=figures,
        reviews=reviews_received(project=project, user=user, limit=reviews_limit),
    )
