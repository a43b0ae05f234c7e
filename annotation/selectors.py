"""Reads for annotation. Annotators only ever read their own assignments here (blind annotation)."""

import string
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from annotation.models import (
    Annotation,
    Assignment,
    AssignmentState,
    Item,
    Prompt,
    PromptStatus,
    Response,
)
from projects.models import Project

LETTERS = string.ascii_uppercase


@dataclass(frozen=True)
class ShownResponse:
    id: int
    letter: str
    text: str


@dataclass(frozen=True)
class AssignmentView:
    assignment: Assignment
    messages: list[dict]
    responses: list[ShownResponse]
    # Assisted projects: the reward model's order as letters, best first; None when blind.
    suggestion: list[str] | None = None


def responses_lettered(display_order: list[int], texts: dict[int, str]) -> list[ShownResponse]:
    """The responses in the annotator's own order, lettered A, B, C..."""
    return [
        ShownResponse(id=rid, letter=LETTERS[index], text=texts[rid])
        for index, rid in enumerate(display_order)
    ]


def assignment_view(assignment: Assignment) -> AssignmentView:
    """The item as this annotator sees it: the prompt and responses in their own order.

    Model names and other annotators' work are deliberately left out.
    """
    # One query: every response of an item shares its prompt.
    rows = list(
        Response.objects.filter(pk__in=assignment.display_order).values_list(
            "id", "text", "prompt__messages"
        )
    )
    texts = {rid: text for rid, text, _ in rows}
    messages = rows[0][2] if rows else []
    shown = responses_lettered(assignment.display_order, texts)
    letters = {response.id: response.letter for response in shown}
    suggestion = (
        [letters[rid] for rid in assignment.suggestion if rid in letters]
        if assignment.suggestion
        else None
    )
    return AssignmentView(
        assignment=assignment, messages=messages, responses=shown, suggestion=suggestion
    )


@dataclass(frozen=True)
class AnnotatorProgress:
    done_today: int
    done_total: int
    items_left: int


def annotator_progress(*, user, project: Project) -> AnnotatorProgress:
    """Counts for the progress line: this annotator today and in total, and items still open."""
    start_of_day = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    mine = Annotation.objects.filter(user=user, project=project)
    return AnnotatorProgress(
        done_today=mine.filter(created_at__gte=start_of_day).count(),
        done_total=mine.count(),
        items_left=items_waiting(project).count(),
    )


def items_waiting(project: Project) -> QuerySet[Item]:
    """Items still open to annotators and not yet complete: one definition for every page.

    A lowered overlap leaves complete items with open slots; they are not waiting.
    """
    # Served by the partial claim index (open_slots > 0), cheap at scale.
    return Item.objects.filter(project=project, open_slots__gt=0).exclude(item_complete(project))


def queue_empty_reason(*, project: Project) -> str:
    """Why a claim found nothing: 'no_items', 'others' (items wait, none for this annotator:
    their own prompts or items they already had) or 'done'."""
    items = Item.objects.filter(project=project)
    if not items.exists():
        return "no_items"
    return "others" if items_waiting(project).exists() else "done"


@dataclass(frozen=True)
class GenerationWaiting:
    prompts: int  # written prompts waiting for a model's responses
    reason: str  # the newest one's reason ("No generator yet: ..."), empty while answered


def generation_waiting(*, project: Project) -> GenerationWaiting:
    """Written prompts a model has yet to answer, for an empty ranking page to name."""
    waiting = Prompt.objects.filter(
        project=project, source="written", status=PromptStatus.NEEDS_GENERATION
    )
    newest = waiting.order_by("-id").values_list("status_reason", flat=True).first()
    return GenerationWaiting(prompts=waiting.count(), reason=newest or "")


def item_complete(project: Project) -> Q:
    """An item is complete once as many annotators as the overlap asks for have submitted:
    the one definition the project, loop and quality pages count by."""
    return Q(submitted_count__gte=project.overlap)


@dataclass(frozen=True)
class ProjectCounts:
    items: int
    items_gold: int  # of ``items``: gold ones (answer known), which the loop page leaves out
    items_complete: int  # every annotator the overlap asks for has submitted
    items_waiting: int  # still open to annotators: the annotator's "items left"
    annotations: int
    live_leases: int

    @property
    def items_in_progress(self) -> int:
        """Neither complete nor open: every slot taken by a live lease, or gold items."""
        return max(0, self.items - self.items_complete - self.items_waiting)


def project_counts(project: Project) -> ProjectCounts:
    """The project page's item counts; complete, waiting and in progress add up to items."""
    items = Item.objects.filter(project=project)
    return ProjectCounts(
        items=items.count(),
        items_gold=items.filter(is_gold=True).count(),
        items_complete=items.filter(item_complete(project)).count(),
        # The annotate page's "items left" too, so the three counts never overlap.
        items_waiting=items_waiting(project).count(),
        annotations=Annotation.objects.filter(project=project).count(),
        live_leases=Assignment.objects.filter(
            project=project, state=AssignmentState.ACTIVE, lease_expires_at__gt=timezone.now()
        ).count(),
    )
