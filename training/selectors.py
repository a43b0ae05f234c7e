"""Read queries of the training app."""

from django.shortcuts import get_object_or_404

from projects.permissions import Capability
from projects.selectors import project_get_for_user
from training.models import DatasetSnapshot, ResponseScore


def snapshots_of(project):
    return DatasetSnapshot.objects.filter(project=project).select_related("created_by")


def snapshot_for_user(*, snapshot_id: int, user) -> DatasetSnapshot:
    """The snapshot if the user may export in its project; 404 otherwise (never a hint
    that a snapshot exists in someone else's project)."""
    snapshot = get_object_or_404(DatasetSnapshot.objects.select_related("project"), pk=snapshot_id)
    project_get_for_user(slug=snapshot.project.slug, user=user, capability=Capability.EXPORT)
    return snapshot


def reward_scores(project) -> dict[int, float]:
    """Response id → score under the project's reward model, for every scored response;
    empty when the project has none attached."""
    if not project.reward_model_id:
        return {}
    return dict(
        ResponseScore.objects.filter(
            artifact_id=project.reward_model_id, response__prompt__project=project
        ).values_list("response_id", "score")
    )
