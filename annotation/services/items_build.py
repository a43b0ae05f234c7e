"""Turn a prompt that has all its responses into an item in the ranking pool."""

import random

from annotation import signals
from annotation.models import Item, ItemResponse, Prompt, PromptStatus, Response


def item_create_for_prompt(
    *, prompt: Prompt, responses: list[Response], judged_already: int = 0, round: int = 1
) -> Item:
    """Create the prompt's item; ``judged_already`` annotations count toward its overlap.

    Positions are shuffled: the order responses were written in (often best first, for
    a writer ranking their own) must not leak to the annotators who compare them.
    """
    project = prompt.project
    item = Item.objects.create(
        project=project,
        prompt=prompt,
        open_slots=max(project.overlap - judged_already, 0),
        submitted_count=judged_already,
        round=round,
    )
    shuffled = list(responses)
    random.SystemRandom().shuffle(shuffled)
    ItemResponse.objects.bulk_create(
        ItemResponse(item=item, response=response, position=position)
        for position, response in enumerate(shuffled)
    )
    if prompt.status != PromptStatus.READY:
        prompt.status, prompt.status_reason = PromptStatus.READY, ""
        prompt.save(update_fields=["status", "status_reason"])
    items_added(project.pk)
    return item


def items_added(project_id: int) -> None:
    """New items: the loop scores them with the project's reward model and re-ranks the
    queue, in the background once the caller's transaction commits."""
    signals.items_added.send(sender=Item, project_id=project_id)
