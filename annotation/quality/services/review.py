"""Review: reviewers accept, reject or correct other people's annotations.

- Accept: the annotation stands, marked reviewed.
- Reject (with a comment the annotator sees): the annotation stops counting and the item
  goes back to the pool for one more annotation.
- Correct: the reviewer's ranking is stored as their own annotation of the item (kind
  ``review_correction``) and counts instead of the original, which is kept whole.

Nobody reviews an item they annotated themselves. What reaches the queue is chosen at
submit (``review_sampling``): everything the annotator flagged unsure, a random sample at
the project's review rate, and what a guideline change flags again.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotation.authoring.services.revisions import annotation_content
from annotation.models import (
    Annotation,
    AnnotationKind,
    AnnotationRevision,
    AnnotationStatus,
    Assignment,
    AssignmentState,
    Item,
    ItemResponse,
    ReviewState,
)
from annotation.quality.models import Review, ReviewVerdict
from annotation.quality.services.item_quality import item_quality_refresh
from annotation.services.judgements import tiers_check
from common.errors import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from projects.models import Project
from projects.selectors import guideline_current

MAX_COMMENT_CHARS = 5000


def _comment(value: object, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ApplicationError("comment: must be a string", extra={"field": "comment"})
    comment = value.strip()
    if "\x00" in comment:
        raise ApplicationError(
            "comment: must not contain NUL characters", extra={"field": "comment"}
        )
    if required and not comment:
        raise ApplicationError(
            "comment: say what is wrong; the annotator sees it", extra={"field": "comment"}
        )
    if len(comment) > MAX_COMMENT_CHARS:
        raise ApplicationError(
            f"comment: at most {MAX_COMMENT_CHARS:,} characters", extra={"field": "comment"}
        )
    return comment


def _lock_for_review(*, project: Project, annotation_id: int, reviewer) -> Annotation:
    annotation = (
        Annotation.objects.select_for_update(of=("self",))
        .filter(pk=annotation_id, project=project)
        .first()
    )
    if annotation is None:
        raise NotFoundError(f"no annotation {annotation_id} in this project")
    if annotation.user_id == reviewer.pk:
        raise PermissionDeniedError("you cannot review your own annotation")
    own_work = Annotation.objects.filter(item_id=annotation.item_id, user=reviewer).exclude(
        kind=AnnotationKind.REVIEW_CORRECTION
    )
    if own_work.exists():
        raise PermissionDeniedError("you annotated this item; someone else reviews it")
    if annotation.kind == AnnotationKind.REVIEW_CORRECTION:
        raise ConflictError("a reviewer's correction is not reviewed again")
    if annotation.status != AnnotationStatus.ACTIVE:
        raise ConflictError(f"this annotation was already {annotation.status}")
    if annotation.review_state == ReviewState.DONE:
        raise ConflictError("this annotation was already reviewed")
    return annotation


def _conclude(annotation: Annotation, *, status: str | None = None) -> None:
    annotation.review_state = ReviewState.DONE
    annotation.reviewed_at = timezone.now()
    fields = ["review_state", "reviewed_at"]
    if status:
        annotation.status = status
        fields.append("status")
    annotation.save(update_fields=fields)


@transaction.atomic
def annotation_review_accept(
    *, project: Project, annotation_id: int, reviewer, comment: str = ""
) -> Review:
    """The annotation stands as it is."""
    annotation = _lock_for_review(project=project, annotation_id=annotation_id, reviewer=reviewer)
    text = _comment(comment, required=False)
    _conclude(annotation)
    return Review.objects.create(
        annotation=annotation,
        project=project,
        reviewer=reviewer,
        verdict=ReviewVerdict.ACCEPTED,
        comment=text,
    )


@transaction.atomic
def annotation_review_reject(
    *, project: Project, annotation_id: int, reviewer, comment: str
) -> Review:
    """The annotation stops counting; its item reopens for one more annotation."""
    annotation = _lock_for_review(project=project, annotation_id=annotation_id, reviewer=reviewer)
    text = _comment(comment, required=True)
    _conclude(annotation, status=AnnotationStatus.REJECTED)
    Item.objects.filter(pk=annotation.item_id).update(open_slots=F("open_slots") + 1)
    item_quality_refresh(item_id=annotation.item_id)
    return Review.objects.create(
        annotation=annotation,
        project=project,
        reviewer=reviewer,
        verdict=ReviewVerdict.REJECTED,
        comment=text,
    )


def _correction_store(*, project: Project, item_id: int, reviewer, ranking: list) -> Annotation:
    """The reviewer's own ranking of the item; a second correction revises the first."""
    existing = (
        Annotation.objects.select_for_update()
        .filter(item_id=item_id, user=reviewer, kind=AnnotationKind.REVIEW_CORRECTION)
        .first()
    )
    now = timezone.now()
    # Reviewing needs no acknowledgement, so what the reviewer last acknowledged may be
    # nothing or an old version; a correction is judged against the guidelines in force.
    guideline = guideline_current(project)
    if existing is not None:
        AnnotationRevision.objects.create(
            annotation=existing,
            number=existing.revision,
            content=annotation_content(existing),
            made_at=existing.revised_at or existing.created_at,
        )
        existing.ranking, existing.guideline = ranking, guideline
        existing.revision, existing.revised_at = existing.revision + 1, now
        existing.save(update_fields=["ranking", "guideline", "revision", "revised_at"])
        return existing
    order = list(
        ItemResponse.objects.filter(item_id=item_id)
        .order_by("position")
        .values_list("response_id", flat=True)
    )
    assignment, created = Assignment.objects.get_or_create(
        item_id=item_id,
        user=reviewer,
        defaults=dict(
            project=project, state=AssignmentState.SUBMITTED, claimed_at=now,
            lease_expires_at=now, finished_at=now, display_order=order,
        ),
    )  # fmt: skip
    if not created:
        raise ConflictError(
            "you hold or skipped this item as an annotator; it is not yours to correct"
        )
    return Annotation.objects.create(
        assignment=assignment,
        item_id=item_id,
        user=reviewer,
        project=project,
        mode=project.ranking_mode,
        kind=AnnotationKind.REVIEW_CORRECTION,
        ranking=ranking,
        guideline=guideline,
        display_order=order,
    )


@transaction.atomic
def annotation_review_correct(
    *, project: Project, annotation_id: int, reviewer, ranking: list, comment: str = ""
) -> Review:
    """Store the reviewer's ranking in place of the annotation's; the original is kept.

    Whatever the project's mode, a correction is a ranking (tiers of the item's response
    ids, best first): it is what agreement, consensus and exports read.
    """
    annotation = _lock_for_review(project=project, annotation_id=annotation_id, reviewer=reviewer)
    text = _comment(comment, required=False)
    ranking = tiers_check(
        ranking, list(annotation.display_order), ties_allowed=project.ties_allowed
    )
    Item.objects.select_for_update().filter(pk=annotation.item_id).values_list("pk").first()
    correction = _correction_store(
        project=project, item_id=annotation.item_id, reviewer=reviewer, ranking=ranking
    )
    _conclude(annotation, status=AnnotationStatus.CORRECTED)
    item_quality_refresh(item_id=annotation.item_id)
    return Review.objects.create(
        annotation=annotation,
        project=project,
        reviewer=reviewer,
        verdict=ReviewVerdict.CORRECTED,
        comment=text,
        correction=correction,
    )


VERDICTS = ("accept", "reject", "correct")


def annotation_review(
    *,
    project: Project,
    annotation_id: int,
    reviewer,
    verdict: str,
    comment: str = "",
    ranking: list | None = None,
) -> Review:
    """Give one of the three verdicts (``accept``, ``reject``, ``correct``); the page and the
    API both come through here. A correction needs ``ranking``."""
    common = {"project": project, "annotation_id": annotation_id, "reviewer": reviewer}
    if verdict == "accept":
        return annotation_review_accept(**common, comment=comment)
    if verdict == "reject":
        return annotation_review_reject(**common, comment=comment)
    if verdict != "correct":
        raise ApplicationError(f"verdict: {', '.join(VERDICTS)}", extra={"field": "verdict"})
    if ranking is None:
        raise ApplicationError(
            "ranking: a correction needs your ranking", extra={"field": "ranking"}
        )
    return annotation_review_correct(**common, ranking=ranking, comment=comment)
