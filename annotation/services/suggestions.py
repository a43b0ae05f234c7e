"""The reward model's suggested order of an item's responses, shown in assisted mode."""

from annotation.model_scores import response_scores
from annotation.models import ItemResponse
from projects.models import AssistMode, Project


def suggested_order(*, project: Project, item_id: int) -> list[int] | None:
    """The reward model's order of the item's responses (ids, best first) for an assisted
    project, or None: blind projects, no reward model, or not every response scored yet."""
    if project.assist_mode != AssistMode.ASSISTED or project.reward_model_id is None:
        return None
    response_ids = list(
        ItemResponse.objects.filter(item_id=item_id).values_list("response_id", flat=True)
    )
    scores = response_scores(project, response_ids=response_ids)
    if not response_ids or len(scores) < len(response_ids):
        return None
    return sorted(response_ids, key=lambda rid: (-scores[rid], rid))
