"""Store an annotator's judgement on their leased item, exactly once."""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from annotation.models import Annotation, Assignment, AssignmentState, Item
from annotation.services.claiming import assignment_lock_for_submit, assignment_revive
from annotation.services.judgements import Judgement, judgement_validate, project_dimensions
from annotation.services.review_sampling import review_selection
from annotation.services.rewrites import ValidRewrite, rewrites_store, rewrites_validate
from annotation.services.spans import Tags, tags_store, tags_validate
from annotation.signals import annotation_submitted
from common.db_prepared import prepared_cursor
from common.errors import ApplicationError, ConflictError
from common.model_rows import model_insert
from common.tokens import client_token_checked
from projects.models import Guideline, GuidelineAck

MAX_TIME_SPENT_MS = 24 * 3600 * 1000

# The assignment finished and its item counted in one statement (PostgreSQL).
FINISH_SQL = """
WITH finished AS (
    UPDATE annotation_assignment SET state = 'submitted', finished_at = %(now)s
    WHERE id = %(assignment)s RETURNING item_id
)
UPDATE annotation_item SET submitted_count = submitted_count + 1, stats_stale = true
WHERE id = (SELECT item_id FROM finished)
"""


def guideline_read_by(*, user, project) -> Guideline | None:
    """The newest guideline version the annotator acknowledged: the one they worked under."""
    ack = (
        GuidelineAck.objects.filter(user=user, guideline__project=project)
        .select_related("guideline")
        .order_by("-guideline__version")
        .first()
    )
    return ack.guideline if ack else None


def _time_spent(assignment: Assignment, claimed: object) -> int:
    if claimed is None:
        elapsed = timezone.now() - assignment.claimed_at
        return min(int(elapsed.total_seconds() * 1000), MAX_TIME_SPENT_MS)
    if isinstance(claimed, bool) or not isinstance(claimed, int) or claimed < 0:
        raise ApplicationError(
            "time_spent_ms: must be a non-negative integer", extra={"field": "time_spent_ms"}
        )
    return min(claimed, MAX_TIME_SPENT_MS)


def _existing_for_token(*, user, client_token: str, assignment_id: int) -> Annotation | None:
    existing = Annotation.objects.filter(user=user, client_token=client_token).first()
    if existing is not None and existing.assignment_id != assignment_id:
        raise ConflictError("client_token was already used for another assignment")
    return existing


@transaction.atomic
def annotation_submit(
    *,
    assignment_id: int,
    user,
    payload: dict,
    client_token: str | None = None,
    project_id: int | None = None,
) -> tuple[Annotation, bool]:
    """Validate and store the judgement; returns (annotation, created).

    A retried request with the same ``client_token`` returns the stored annotation
    (created=False) instead of storing a second one.
    """
    # Not create_once: the locked assignment, not the token's constraint, orders retries.
    client_token = client_token_checked(client_token)
    # Lock first: concurrent retries of one submit queue here, then see each other's result.
    assignment = assignment_lock_for_submit(
        assignment_id=assignment_id, user=user, client_token=client_token, project_id=project_id
    )
    if client_token and (
        assignment.token_annotation_id is not None
        # A retry that waited for the lock read the token with the snapshot it had before:
        # the assignment, read after the wait, says whether to look again.
        or assignment.state == AssignmentState.SUBMITTED
    ):
        existing = _existing_for_token(
            user=user, client_token=client_token, assignment_id=assignment_id
        )
        if existing is not None:
            return existing, False
    now = timezone.now()
    _reopen_or_refuse(assignment, now)
    judged = _judged(assignment, payload)
    annotation = _annotation_create(assignment, user, payload, judged, client_token)
    _assignment_finish(assignment, user, now)
    return annotation, True


def _reopen_or_refuse(assignment: Assignment, now: datetime) -> None:
    """A finished assignment takes no second judgement; an expired one is taken back."""
    if assignment.state == AssignmentState.SUBMITTED:
        raise ConflictError(
            "this item was already submitted", extra={"annotation_id": assignment.annotation.pk}
        )
    if assignment.state == AssignmentState.SKIPPED:
        raise ConflictError("this item was skipped")
    if assignment.state == AssignmentState.EXPIRED:
        assignment_revive(assignment, now)


@dataclass(frozen=True)
class _Judged:
    """The payload's parts, each checked against the assignment's item and project."""

    judgement: Judgement
    tags: Tags
    rewrites: list[ValidRewrite]
    unsure: bool


def _judged(assignment: Assignment, payload: dict) -> _Judged:
    project = assignment.project
    response_ids = list(assignment.display_order)
    judgement = judgement_validate(
        dimensions=project_dimensions(project) if assignment.has_rubric else [],
        project=project,
        response_ids=response_ids,
        payload=payload,
    )
    tags = tags_validate(project=project, response_ids=response_ids, payload=payload)
    rewrites = rewrites_validate(payload.get("rewrites"), response_ids=response_ids)
    unsure = payload.get("unsure", False)
    if not isinstance(unsure, bool):
        raise ApplicationError("unsure: must be true or false", extra={"field": "unsure"})
    return _Judged(judgement, tags, rewrites, unsure)


def _annotation_create(
    assignment: Assignment, user, payload: dict, judged: _Judged, client_token: str | None
) -> Annotation:
    project = assignment.project
    judgement = judged.judgement
    annotation = Annotation(
        assignment=assignment,
        item_id=assignment.item_id,
        user=user,
        project=project,
        mode=project.ranking_mode,
        ranking=judgement.ranking,
        ratings=judgement.ratings,
        rubric_scores=judgement.rubric_scores,
        strength=judgement.strength,
        none_acceptable=judgement.none_acceptable,
        rationale=judgement.rationale,
        time_spent_ms=_time_spent(assignment, payload.get("time_spent_ms")),
        guideline=assignment.guideline_read,
        display_order=assignment.display_order,
        client_token=client_token,
        unsure=judged.unsure,
        assisted=assignment.suggestion is not None,
        **review_selection(project=project, unsure=judged.unsure),
    )
    model_insert(annotation)
    tags_store(annotation, judged.tags)
    rewrites_store(annotation, judged.rewrites)
    return annotation


def _assignment_finish(assignment: Assignment, user, now: datetime) -> None:
    assignment.state = AssignmentState.SUBMITTED
    assignment.finished_at = now
    # The item is counted and marked for quality's worker, under its row lock, which
    # orders this submit with that worker's pass over the item.
    if connection.vendor == "postgresql":
        with prepared_cursor() as cursor:
            cursor.execute(FINISH_SQL, {"assignment": assignment.pk, "now": now})
    else:
        assignment.save(update_fields=["state", "finished_at"])
        Item.objects.filter(pk=assignment.item_id).update(
            submitted_count=F("submitted_count") + 1, stats_stale=True
        )
    annotation_submitted.send(
        sender=Annotation, project=assignment.project, item_id=assignment.item_id, user_id=user.pk
    )
