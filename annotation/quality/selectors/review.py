"""Reads for reviewers: the review queue and one item with all its annotations side by side.

Reviewers see who annotated what (that is their job); annotators never reach these reads
(the views and API check the review capability). An item a reviewer annotated themselves
never appears in their queue, and its review view is refused them, page and API alike:
the others' names, rankings and rationales are someone else's to review.
"""

from dataclasses import dataclass, field
from string import ascii_uppercase

from django.db.models import Count, F, Min, OuterRef, Q, Subquery

from annotation.models import (
    Annotation,
    AnnotationKind,
    AnnotationStatus,
    Assignment,
    AssignmentState,
    Item,
    ItemResponse,
    ReviewState,
)
from annotation.quality.models import ItemStats, Review
from common.errors import PermissionDeniedError
from projects.models import Project


def _own_items(project: Project, reviewer):
    return (
        Annotation.objects.filter(project=project, user=reviewer)
        .exclude(kind=AnnotationKind.REVIEW_CORRECTION)
        .values("item_id")
    )


def _leased_items(project: Project, reviewer):
    """Items the reviewer holds to annotate: reviewing one would show them the others'
    answers before they give their own."""
    return Assignment.objects.filter(
        project=project, user=reviewer, state=AssignmentState.ACTIVE
    ).values("item_id")


@dataclass(frozen=True)
class QueueEntry:
    item_id: int
    prompt: str
    pending: int
    unsure: bool
    agreement: float | None
    oldest: object


def review_queue(*, project: Project, reviewer, limit: int = 50) -> list[QueueEntry]:
    """Items with annotations waiting for review, lowest agreement first.

    Items without an agreement yet (one annotator so far) come after those that have one.
    """
    agreement = ItemStats.objects.filter(pk=OuterRef("item_id")).values("agreement")
    rows = (
        Annotation.objects.filter(
            project=project, review_state=ReviewState.PENDING, status=AnnotationStatus.ACTIVE
        )
        .exclude(user=reviewer)
        .exclude(item_id__in=_own_items(project, reviewer))
        .exclude(item_id__in=_leased_items(project, reviewer))
        .values("item_id")
        .annotate(
            pending=Count("id"),
            unsure_count=Count("id", filter=Q(unsure=True)),
            oldest=Min("created_at"),
            agreement=Subquery(agreement),
        )
        .order_by(F("agreement").asc(nulls_last=True), "oldest", "item_id")[:limit]
    )
    rows = list(rows)
    prompts = dict(
        Item.objects.filter(pk__in=[r["item_id"] for r in rows]).values_list(
            "pk", "prompt__messages"
        )
    )
    return [
        QueueEntry(
            item_id=r["item_id"],
            prompt=_last_user_turn(prompts.get(r["item_id"], [])),
            pending=r["pending"],
            unsure=r["unsure_count"] > 0,
            agreement=r["agreement"],
            oldest=r["oldest"],
        )
        for r in rows
    ]


def review_queue_count(*, project: Project, reviewer) -> int:
    return (
        Annotation.objects.filter(
            project=project, review_state=ReviewState.PENDING, status=AnnotationStatus.ACTIVE
        )
        .exclude(user=reviewer)
        .exclude(item_id__in=_own_items(project, reviewer))
        .exclude(item_id__in=_leased_items(project, reviewer))
        .aggregate(n=Count("item_id", distinct=True))["n"]
    )


def _last_user_turn(messages: list) -> str:
    for message in reversed(messages or []):
        if message.get("role") == "user":
            return message.get("content", "")
    return ""


@dataclass
class ReviewedAnnotation:
    annotation: Annotation
    tiers: list[list[str]]  # letters, best first
    reviews: list[Review] = field(default_factory=list)
    reviewable: bool = False


@dataclass
class ReviewItem:
    item: Item
    letters: dict[int, str]  # response id -> letter, in the item's source order
    responses: list  # (letter, response)
    annotations: list[ReviewedAnnotation]
    stats: ItemStats | None
    consensus: list[list[str]]
    gold: list[list[str]]


def _as_letters(tiers: list, letters: dict[int, str]) -> list[list[str]]:
    return [[letters.get(int(rid), "?") for rid in tier] for tier in tiers]


def review_item(*, project: Project, item_id: int, reviewer) -> ReviewItem | None:
    """One item with every annotation on it (who, time, guideline version, verdicts).

    None when the item is not in the project or the reviewer holds it to annotate;
    PermissionDeniedError when they annotated it (the rule the review actions follow).
    """
    item = Item.objects.select_related("prompt").filter(pk=item_id, project=project).first()
    if item is None or _leased_items(project, reviewer).filter(item_id=item_id).exists():
        return None
    links = list(ItemResponse.objects.filter(item=item).select_related("response"))
    letters = {link.response_id: ascii_uppercase[i] for i, link in enumerate(links)}
    annotations = list(
        Annotation.objects.filter(item=item)
        .select_related("user", "guideline")
        .prefetch_related("reviews__reviewer", "spans__label", "response_labels__label")
        .order_by("created_at", "pk")
    )
    if any(
        a.user_id == reviewer.pk and a.kind != AnnotationKind.REVIEW_CORRECTION for a in annotations
    ):
        raise PermissionDeniedError("you annotated this item; someone else reviews it")
    stats = ItemStats.objects.filter(pk=item.pk).first()
    return ReviewItem(
        item=item,
        letters=letters,
        responses=[(letters[link.response_id], link.response) for link in links],
        annotations=[
            ReviewedAnnotation(
                annotation=a,
                tiers=_as_letters(a.ranking, letters),
                reviews=list(a.reviews.all()),
                reviewable=(
                    a.user_id != reviewer.pk
                    and a.kind != AnnotationKind.REVIEW_CORRECTION
                    and a.status == AnnotationStatus.ACTIVE
                    and a.review_state != ReviewState.DONE
                ),
            )
            for a in annotations
        ],
        stats=stats,
        consensus=_as_letters(stats.consensus, letters) if stats else [],
        gold=_as_letters(item.gold_ranking or [], letters),
    )


def reviews_received(*, project: Project, user, limit: int = 20) -> list[Review]:
    """Verdicts on the user's own annotations, newest first (rejections carry comments)."""
    return list(
        Review.objects.filter(project=project, annotation__user=user)
        .select_related("annotation__item__prompt")
        .order_by("-created_at", "-pk")[:limit]
    )


def next_review_item_id(*, project: Project, reviewer, after: int | None = None) -> int | None:
    queue = review_queue(project=project, reviewer=reviewer, limit=2)
    ids = [entry.item_id for entry in queue if entry.item_id != after]
    return ids[0] if ids else None


def review_item_after_verdict(*, project: Project, reviewer, item_id: int) -> int | None:
    """Where a reviewer goes on after a verdict: the same item while it still has
    annotations for them to review, else the next item of their queue (None: queue empty)."""
    item = review_item(project=project, item_id=item_id, reviewer=reviewer)
    if item is not None and any(entry.reviewable for entry in item.annotations):
        return item_id
    return next_review_item_id(project=project, reviewer=reviewer, after=item_id)


def annotation_project_slug(annotation_id: int) -> str | None:
    """The slug of the project an annotation belongs to (None: no such annotation)."""
    return (
        Annotation.objects.filter(pk=annotation_id).values_list("project__slug", flat=True).first()
    )
