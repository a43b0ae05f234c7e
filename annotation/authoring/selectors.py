"""An annotator's own history: the annotations they made, searchable, newest first.

Only the user's own annotations are ever read here; nobody sees another annotator's
answers on an item through these selectors.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet, TextField
from django.db.models.functions import Cast

from annotation.authoring.models import WriteAssignment
from annotation.models import Annotation, AnnotationRevision, Assignment, Prompt, Response
from annotation.selectors import LETTERS
from common.errors import NotFoundError
from projects.labels.models import TagLabel
from projects.models import Project
from projects.permissions import Capability, has_capability

MAX_QUERY_CHARS = 200


def annotations_of_user(*, user, project: Project, query: str = "") -> QuerySet[Annotation]:
    """The user's annotations in the project, newest first, optionally filtered by text.

    ``query`` matches the prompt's text (any turn) or the annotation's rationale,
    case-insensitively.
    """
    annotations = (
        Annotation.objects.filter(user=user, project=project)
        .select_related("item__prompt", "guideline")
        .order_by("-created_at", "-id")
    )
    # NUL cannot reach PostgreSQL as a parameter; no prompt or rationale holds one anyway.
    query = " ".join(query.replace("\x00", " ").split())[:MAX_QUERY_CHARS]
    if query:
        annotations = annotations.annotate(
            prompt_text=Cast("item__prompt__messages", TextField())
        ).filter(Q(prompt_text__icontains=query) | Q(rationale__icontains=query))
    return annotations


def prompts_of_user(*, user, project: Project) -> QuerySet[Prompt]:
    """The prompts the user wrote in the project, newest first."""
    return Prompt.objects.filter(project=project, author=user, source="written").order_by(
        "-created_at", "-id"
    )


@dataclass(frozen=True)
class HistorySpan:
    label: TagLabel
    start: int  # code points into the response's text, as stored
    end: int
    quote: str  # the tagged text itself
    note: str


@dataclass(frozen=True)
class HistoryResponse:
    id: int
    letter: str
    text: str
    rewrites: list[Response]  # this annotation's rewrites of it, oldest first
    spans: list[HistorySpan] = field(default_factory=list)  # in text order
    labels: list[TagLabel] = field(default_factory=list)  # response-level labels


@dataclass(frozen=True)
class AnnotationDetail:
    annotation: Annotation
    messages: list[dict]
    responses: list[HistoryResponse]
    revisions: list[AnnotationRevision]

    @property
    def letters(self) -> dict[int, str]:
        return {response.id: response.letter for response in self.responses}


def annotation_detail_for_user(*, user, annotation_id: int) -> AnnotationDetail:
    """One of the user's annotations with its item as they saw it and its earlier revisions."""
    annotation = (
        Annotation.objects.select_related("item__prompt", "guideline", "project")
        .prefetch_related("spans__label", "response_labels__label")
        .filter(pk=annotation_id, user=user)
        .first()
    )
    if annotation is None:
        raise NotFoundError(f"no annotation {annotation_id} of yours")
    texts = dict(Response.objects.filter(pk__in=annotation.display_order).values_list("id", "text"))
    rewrites: dict[int, list[Response]] = {}
    for rewrite in Response.objects.filter(annotation=annotation).order_by("id"):
        rewrites.setdefault(rewrite.rewrite_of_id, []).append(rewrite)
    spans: dict[int, list[HistorySpan]] = {}
    for span in annotation.spans.all():
        quote = texts.get(span.response_id, "")[span.start : span.end]
        spans.setdefault(span.response_id, []).append(
            HistorySpan(span.label, span.start, span.end, quote, span.note)
        )
    labels: dict[int, list[TagLabel]] = {}
    for tag in annotation.response_labels.all():
        labels.setdefault(tag.response_id, []).append(tag.label)
    responses = [
        HistoryResponse(
            rid,
            LETTERS[index],
            texts.get(rid, ""),
            rewrites.get(rid, []),
            spans.get(rid, []),
            labels.get(rid, []),
        )
        for index, rid in enumerate(annotation.display_order)
    ]
    return AnnotationDetail(
        annotation=annotation,
        messages=annotation.item.prompt.messages,
        responses=responses,
        revisions=list(annotation.revisions.order_by("-number")),
    )


def written_prompts_for_review(*, project: Project, flagged_only: bool = False) -> QuerySet[Prompt]:
    """Prompts written on the platform, newest first, with their authors (for reviewers).

    ``flagged_only`` keeps those whose text, or any of whose responses, was mostly pasted.
    """
    pasted_responses = Count("responses", filter=Q(responses__mostly_pasted=True))
    prompts = (
        Prompt.objects.filter(project=project, source="written")
        .select_related("author")
        .annotate(pasted_responses=pasted_responses)
        .order_by("-created_at", "-id")
    )
    if flagged_only:
        prompts = prompts.filter(Q(mostly_pasted=True) | Q(pasted_responses__gt=0))
    return prompts


def write_assignment_check(*, project: Project, assignment_id: int | None) -> int:
    """The id of a write lease of this project; NotFoundError otherwise. A lease held in a
    project the user has since left stays out of reach, page and API alike."""
    found = (
        assignment_id is not None
        and WriteAssignment.objects.filter(pk=assignment_id, project=project).exists()
    )
    if not found:
        raise NotFoundError(f"no write assignment {assignment_id} of yours in this project")
    return assignment_id


def write_assignment_check_for_user(*, user, assignment_id: int) -> None:
    """Leaving the project ends access to its write leases (reported as missing)."""
    lease = WriteAssignment.objects.select_related("project").filter(pk=assignment_id).first()
    if lease is None or not has_capability(user, lease.project, Capability.ANNOTATE):
        raise NotFoundError(f"no write assignment {assignment_id} of yours")


def rewrite_original_text(*, project: Project, user, assignment_id: int, response_id) -> str:
    """The text of a response on the user's own leased item, for the rewrite diff;
    NotFoundError for anything else."""
    assignment = Assignment.objects.filter(pk=assignment_id, user=user, project=project).first()
    if assignment is None or response_id not in assignment.display_order:
        raise NotFoundError("no such response on your item")
    return Response.objects.values_list("text", flat=True).get(pk=response_id)
