"""One background pass over a project's quality figures (the Celery task calls this)."""

from annotation.models import Annotation
from annotation.quality.models import AnnotatorStats
from annotation.quality.services.annotator_quality import annotator_stats_refresh
from annotation.quality.services.fold import quality_deltas_fold
from annotation.quality.services.item_quality import items_quality_refresh
from annotation.quality.services.stale_items import stale_items_refresh
from annotation.quality.services.summary import quality_summary_refresh
from common.pass_lock import pass_lock
from common.queueing import task_send
from projects.models import Project

# Consensus rankings are recomputed for an annotator's items when their weight moves
# more than this; smaller moves wait for the next change of the item.
WEIGHT_STEP = 0.05


def project_quality_refresh_request(*, project: Project) -> None:
    """Ask a worker for a pass over the project's figures now (the dashboard's button)."""
    task_send("annotation.quality_refresh", project.pk)


def project_quality_refresh(*, project_id: int) -> dict:
    """Annotator figures and weights, then consensus where weights moved, then the series.

    Returns ``{"skipped": True}`` without doing anything while another pass over the
    same project runs (the caller decides whether to try again later).
    """
    with pass_lock(f"quality-refresh:{project_id}") as held:
        if not held:
            return {"skipped": True, "annotators": 0, "reweighted_items": 0}
        return _refresh(project_id)


def _refresh(project_id: int) -> dict:
    project = Project.objects.filter(pk=project_id).first()
    if project is None:  # deleted while the refresh waited in the queue
        return {"annotators": 0, "reweighted_items": 0}
    stale_items_refresh(project_id=project.pk)  # any a lost message left behind
    quality_deltas_fold(project_id=project.pk)
    before = dict(AnnotatorStats.objects.filter(project=project).values_list("user_id", "weight"))
    annotators = annotator_stats_refresh(project=project)
    after = dict(AnnotatorStats.objects.filter(project=project).values_list("user_id", "weight"))
    moved = [u for u, w in after.items() if abs(w - before.get(u, 1.0)) > WEIGHT_STEP]
    items = list(
        Annotation.objects.filter(project=project, user_id__in=moved)
        .values_list("item_id", flat=True)
        .distinct()
    )
    items_quality_refresh(item_ids=items)
    quality_deltas_fold(project_id=project.pk)  # what the re-weighting moved
    quality_summary_refresh(project=project)
    return {"annotators": annotators, "reweighted_items": len(items)}
