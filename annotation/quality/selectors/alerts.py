"""Open quality alerts, for the project page's "needs attention" (the dashboard lists them all)."""

from annotation.quality.models import QualityAlert
from projects.models import Project

ALERTS_SHOWN = 5


def alerts_open(*, user, project: Project) -> list[QualityAlert]:
    """The newest alerts no manager has resolved yet (low gold score, paused annotators)."""
    return list(
        QualityAlert.objects.filter(project=project, resolved_at=None).select_related("user")[
            :ALERTS_SHOWN
        ]
    )
