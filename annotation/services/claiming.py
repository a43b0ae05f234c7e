"""Lease items to annotators: claim, renew, skip, expire.

Correctness under concurrency rests on three things:
- PostgreSQL: the candidate item is locked with ``FOR UPDATE SKIP LOCKED``, so
  concurrent claimers take different rows without waiting on each other, and its
  ``open_slots`` counter is decremented under that lock (an item never exceeds
  its overlap).
- SQLite: settings open every transaction with ``BEGIN IMMEDIATE``, so claims are
  serialised by SQLite's write lock and read-then-write cannot interleave.
- Everywhere: a unique (item, user) constraint on assignments, so an item can
  never reach one annotator twice, whatever a bug upstream might do.
- One user's requests at once (a double click, a second tab) queue on the user's
  row, taken ``FOR NO KEY UPDATE`` so that it never conflicts with the foreign-key
  check a submit of the same user makes at commit: no deadlock between them.
"""

import functools
import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import BigIntegerField, Exists, F, OuterRef, Q, Subquery, Value
from django.utils import timezone

from annotation.models import Annotation, Assignment, AssignmentState, Batch, Item, ItemResponse
from annotation.services.gold_queue import gold_candidate, gold_due
from annotation.services.index_probe import ProbeExists
from annotation.services.suggestions import suggested_order
from common.db_prepared import prepared_cursor
from common.debounce import remember_taken, taken_here
from common.errors import ApplicationError, ConflictError, NotFoundError
from common.model_rows import model_columns, model_from_row, model_width
from projects.labels.models import RatingDimension
from projects.models import Guideline, GuidelineAck, Membership, Project
from projects.permissions import (
    Capability,
    has_capability,
    pause_wording,
    paused_reason,
    remember_role,
)
from projects.selectors import guideline_needs_ack

logger = logging.getLogger(__name__)

REAP_BATCH = 100
# Reaping expired leases costs a transaction; one claimer per project does it this often,
# and any claimer that finds the pool empty does it at once.
REAP_EVERY_SECONDS = 5


class GuidelinesNotAcknowledged(ConflictError):
    code = "guidelines_not_acknowledged"


class AnnotatorPaused(ConflictError):
    code = "annotator_paused"


def work_allowed_check(*, project: Project, user, needs_ack: bool | None = None) -> None:
    """Any work (claiming, writing) waits until the current guidelines are acknowledged,
    and stops while quality control has the annotator paused.

    ``needs_ack``: whether the current guidelines still await the user's acknowledgement,
    when the caller read it already (the claim's gate); None reads it here.
    """
    if project.archived:
        raise ConflictError("this project is archived; it takes no more work")
    paused = paused_reason(user, project)
    if paused is not None:
        raise AnnotatorPaused(
            f"your work in this project is paused until a manager resumes it: {paused}"
        )
    if needs_ack is None:
        needs_ack = guideline_needs_ack(project=project, user=user) is not None
    if needs_ack:
        raise GuidelinesNotAcknowledged(
            "acknowledge the current guidelines before starting work",
            extra={"guidelines_url": f"/p/{project.slug}/guidelines/"},
        )


def lease_end(project: Project, now: datetime) -> datetime:
    """When a lease taken or renewed now ends."""
    return now + timedelta(minutes=project.lease_minutes)


def _allowed_batches(*, user, project: Project):
    """Restricted batches open to this user, as a subquery of the claim query."""
    return (
        Batch.objects.filter(project=project, restricted=True)
        .filter(Q(allowed_users=user) | Q(allowed_groups__members=user))
        .values("id")
    )


def reap_due(project: Project) -> bool:
    """Whether this claim should return the project's expired leases first: once per
    interval across every process, taken through a cache key. Each process asks the cache
    at most once per interval per project (whoever took the key reaps in that interval),
    instead of once per claim."""
    cache_key = f"preflab:reap:{project.pk}"
    if taken_here(cache_key):
        return False
    remember_taken(cache_key, REAP_EVERY_SECONDS)
    try:
        return cache.add(cache_key, True, timeout=REAP_EVERY_SECONDS)
    except Exception:  # the cache is down: reap once per interval here rather than fail
        logger.warning("cache unavailable; this process reaps on its own", exc_info=True)
        return True


def assignments_reap_expired(*, project: Project, now: datetime | None = None) -> int:
    """Return expired leases' items to the pool; skips rows others hold, so it never waits."""
    now = now or timezone.now()
    with transaction.atomic():
        expired = list(
            Assignment.objects.select_for_update(skip_locked=True)
            .filter(project=project, state=AssignmentState.ACTIVE, lease_expires_at__lte=now)
            .values_list("id", "item_id")[:REAP_BATCH]
        )
        if not expired:
            return 0
        free_items = set(
            Item.objects.select_for_update(skip_locked=True)
            .filter(pk__in={item_id for _, item_id in expired})
            .values_list("id", flat=True)
        )
        reaped = [(aid, item_id) for aid, item_id in expired if item_id in free_items]
        Assignment.objects.filter(pk__in=[aid for aid, _ in reaped]).update(
            state=AssignmentState.EXPIRED, finished_at=now
        )
        per_item: dict[int, int] = {}
        for _, item_id in reaped:
            per_item[item_id] = per_item.get(item_id, 0) + 1
        for item_id, count in sorted(per_item.items()):
            Item.objects.filter(pk=item_id).update(open_slots=F("open_slots") + count)
    if reaped:
        logger.info("returned %d expired leases to the pool in %s", len(reaped), project.slug)
    return len(reaped)


def _shuffled_response_ids(item_id: int) -> list[int]:
    ids = list(
        ItemResponse.objects.filter(item_id=item_id)
        .order_by("position")
        .values_list("response_id", flat=True)
    )
    random.SystemRandom().shuffle(ids)
    return ids


def _pick_candidate(*, user, project: Project) -> Item | None:
    already_had = Assignment.objects.filter(item=OuterRef("pk"), user=user)
    candidates = (
        Item.objects.filter(project=project, open_slots__gt=0, is_gold=False)
        .filter(Q(restricted=False) | Q(batch_id__in=_allowed_batches(user=user, project=project)))
        .exclude(ProbeExists(already_had))
        .order_by("-priority", "id")
    )
    return candidates.select_for_update(skip_locked=True, of=("self",)).only("id").first()


def assignment_claim(
    *, user, project: Project, exclude_ids: tuple[int, ...] = ()
) -> Assignment | None:
    """The user's live lease (refresh-safe), else a newly leased item, else None.

    ``exclude_ids`` lets the page prefetch a second item while one is open.
    """
    work_allowed_check(project=project, user=user)
    now = timezone.now()
    if reap_due(project):
        assignments_reap_expired(project=project, now=now)
    assignment = claim_locked(user=user, project=project, exclude_ids=exclude_ids, now=now)
    if assignment is None and assignments_reap_expired(project=project, now=now):
        assignment = claim_locked(user=user, project=project, exclude_ids=exclude_ids, now=now)
    return assignment


def claims_serialise(*, user, project: Project) -> None:
    """One claim per user and project at a time: a double click or a second tab waits
    here instead of leasing a second item. The lock is the membership row's, which the
    one-statement claim's gate takes too (``claim_flow``); a superuser who is no member
    waits on their user row. NO KEY UPDATE, not UPDATE: a submit of the same user checks
    its foreign key to the user row at commit (KEY SHARE) while a claim waits for its
    assignment, and UPDATE would deadlock with it."""
    membership = Membership.objects.select_for_update(no_key=True)
    if membership.filter(user=user, project=project).values_list("pk").first() is None:
        user_rows = get_user_model().objects.select_for_update(no_key=True)
        user_rows.filter(pk=user.pk).values_list("pk").first()


def claim_locked(*, user, project: Project, exclude_ids: tuple[int, ...], now: datetime):
    with transaction.atomic():
        claims_serialise(user=user, project=project)
        # Locked so that a submit or skip in flight finishes first and its lease is
        # read as it ends, never renewed and served again once submitted.
        held = list(
            Assignment.objects.select_for_update()
            .filter(
                user=user, project=project, state=AssignmentState.ACTIVE, lease_expires_at__gt=now
            )
            .order_by("claimed_at", "id")
        )
        live = next((a for a in held if a.pk not in exclude_ids), None)
        if live is not None:
            live.lease_expires_at = lease_end(project, now)
            live.save(update_fields=["lease_expires_at"])
            return live
        if len(held) >= settings.PREFLAB_MAX_LEASES_PER_USER:
            return None
        item = None
        if gold_due(project):
            allowed = _allowed_batches(user=user, project=project)
            item = gold_candidate(user=user, project=project, allowed_batches=allowed)
        if item is None:
            item = _pick_candidate(user=user, project=project)
            if item is None:
                return None
            Item.objects.filter(pk=item.pk).update(open_slots=F("open_slots") - 1)
        return Assignment.objects.create(
            item_id=item.pk,
            user=user,
            project=project,
            claimed_at=now,
            lease_expires_at=lease_end(project, now),
            display_order=_shuffled_response_ids(item.pk),
            # Fixed at claim time: the annotation records what this annotator was shown.
            suggestion=suggested_order(project=project, item_id=item.pk),
        )


def assignment_lock_own(
    *, assignment_id: int, user, project_id: int | None = None, **reads
) -> Assignment:
    """Lock the user's assignment; only while they may still annotate in its project.

    Someone else's assignment, one in another project than ``project_id``, or one
    whose project the user has left is reported as missing, not forbidden: no leak.
    The user's role comes in the same statement, and so do ``reads`` (expressions
    annotated on the assignment, such as what a submit needs).
    """
    member = Membership.objects.filter(project=OuterRef("project_id"), user_id=user.pk)
    assignments = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("project")
        .annotate(
            viewer_role=Subquery(member.values("role")[:1]),
            viewer_paused_at=Subquery(member.values("paused_at")[:1]),
            viewer_paused_reason=Subquery(member.values("paused_reason")[:1]),
            **reads,
        )
    )
    if project_id is not None:
        assignments = assignments.filter(project_id=project_id)
    assignment = assignments.filter(pk=assignment_id, user=user).first()
    _member_check(user, assignment, assignment_id)
    return assignment


def _member_check(user, assignment: Assignment | None, assignment_id: int) -> None:
    """Remember the role read with the assignment; refuse unless they may annotate."""
    if assignment is not None:
        paused = pause_wording(assignment.viewer_paused_at, assignment.viewer_paused_reason)
        remember_role(user, assignment.project, assignment.viewer_role, paused=paused)
    if assignment is None or not has_capability(user, assignment.project, Capability.ANNOTATE):
        raise NotFoundError(f"no assignment {assignment_id} for you")


@functools.cache
def _submit_lock_sql() -> str:
    # Written by hand, not with the ORM: the ORM's version of this one statement (seven
    # subqueries) cost more CPU to compile than the rest of the submit (model_rows.py).
    return f"""
SELECT {model_columns(Assignment, "s")}, {model_columns(Project, "p")},
       m.role, m.paused_at, m.paused_reason, g.id, g.version,
       EXISTS (SELECT 1 FROM projects_ratingdimension d WHERE d.project_id = s.project_id),
       (SELECT x.id FROM annotation_annotation x
         WHERE x.user_id = %(user)s AND x.client_token = %(token)s LIMIT 1)
FROM annotation_assignment s
JOIN projects_project p ON p.id = s.project_id
LEFT JOIN projects_membership m ON m.project_id = s.project_id AND m.user_id = %(user)s
LEFT JOIN LATERAL (
    SELECT g.id, g.version FROM projects_guidelineack a
      JOIN projects_guideline g ON g.id = a.guideline_id
     WHERE a.user_id = %(user)s AND g.project_id = s.project_id
     ORDER BY g.version DESC LIMIT 1) g ON true
WHERE s.id = %(assignment)s AND s.user_id = %(user)s
  AND (%(project)s::bigint IS NULL OR s.project_id = %(project)s::bigint)
FOR UPDATE OF s
"""


def _submit_lock_raw(*, assignment_id: int, user, client_token, project_id) -> Assignment | None:
    params = {
        "assignment": assignment_id,
        "user": user.pk,
        "token": client_token or None,
        "project": project_id,
    }
    with prepared_cursor() as cursor:
        cursor.execute(_submit_lock_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    a_end = model_width(Assignment)
    p_end = a_end + model_width(Project)
    assignment = model_from_row(Assignment, row[:a_end])
    assignment.project = model_from_row(Project, row[a_end:p_end])
    (
        assignment.viewer_role,
        assignment.viewer_paused_at,
        assignment.viewer_paused_reason,
        assignment.read_guideline_id,
        assignment.read_guideline_version,
        assignment.has_rubric,
        assignment.token_annotation_id,
    ) = row[p_end:]
    return assignment


def assignment_lock_for_submit(
    *, assignment_id: int, user, client_token: str | None, project_id: int | None = None
) -> Assignment:
    """``assignment_lock_own`` for a submit, which reads in the same statement what it needs
    besides: the annotation a retry stored under ``client_token`` (``token_annotation_id``),
    the newest guideline version the user acknowledged (``guideline_read``) and whether
    the project has a rubric (``has_rubric``)."""
    if connection.vendor == "postgresql":
        assignment = _submit_lock_raw(
            assignment_id=assignment_id,
            user=user,
            client_token=client_token,
            project_id=project_id,
        )
        _member_check(user, assignment, assignment_id)
    else:
        assignment = _submit_lock_orm(
            assignment_id=assignment_id,
            user=user,
            client_token=client_token,
            project_id=project_id,
        )
    assignment.guideline_read = (
        Guideline(
            pk=assignment.read_guideline_id,
            project_id=assignment.project_id,
            version=assignment.read_guideline_version,
        )
        if assignment.read_guideline_id
        else None
    )
    return assignment


def _submit_lock_orm(
    *, assignment_id: int, user, client_token: str | None, project_id: int | None
) -> Assignment:
    acks = GuidelineAck.objects.filter(
        user_id=user.pk, guideline__project=OuterRef("project_id")
    ).order_by("-guideline__version")
    stored = Annotation.objects.filter(user_id=user.pk, client_token=client_token)
    return assignment_lock_own(
        assignment_id=assignment_id,
        user=user,
        project_id=project_id,
        read_guideline_id=Subquery(acks.values("guideline_id")[:1]),
        read_guideline_version=Subquery(acks.values("guideline__version")[:1]),
        has_rubric=Exists(RatingDimension.objects.filter(project=OuterRef("project_id"))),
        token_annotation_id=(
            Subquery(stored.values("id")[:1])
            if client_token
            else Value(None, output_field=BigIntegerField())
        ),
    )


def assignment_revive(assignment: Assignment, now: datetime) -> None:
    """Take back an expired lease if its item still has room; else raise ConflictError."""
    # Gold items are outside the overlap pool: any annotator may take theirs back.
    taken = Item.objects.filter(
        Q(open_slots__gt=0) | Q(is_gold=True), pk=assignment.item_id
    ).update(open_slots=F("open_slots") - 1)
    if not taken:
        raise ConflictError("your lease on this item expired and it went to someone else")
    assignment.state = AssignmentState.ACTIVE
    assignment.finished_at = None
    assignment.lease_expires_at = lease_end(assignment.project, now)
    assignment.save(update_fields=["state", "finished_at", "lease_expires_at"])


@transaction.atomic
def assignment_heartbeat(*, assignment_id: int, user, project_id: int | None = None) -> Assignment:
    """Renew the lease while the annotator still has the item open."""
    assignment = assignment_lock_own(assignment_id=assignment_id, user=user, project_id=project_id)
    now = timezone.now()
    if assignment.state == AssignmentState.EXPIRED:
        assignment_revive(assignment, now)
    elif assignment.state != AssignmentState.ACTIVE:
        raise ConflictError(f"this assignment is already {assignment.state}")
    else:
        assignment.lease_expires_at = lease_end(assignment.project, now)
        assignment.save(update_fields=["lease_expires_at"])
    return assignment


@transaction.atomic
def assignment_skip(
    *, assignment_id: int, user, reason: str = "", project_id: int | None = None
) -> Assignment:
    """Give the item back for someone else; it never returns to this annotator."""
    if "\x00" in reason:
        raise ApplicationError("reason: must not contain NUL characters", extra={"field": "reason"})
    assignment = assignment_lock_own(assignment_id=assignment_id, user=user, project_id=project_id)
    if assignment.state == AssignmentState.SKIPPED:
        return assignment  # a retried skip changes nothing
    if assignment.state == AssignmentState.SUBMITTED:
        raise ConflictError("this item was already submitted")
    was_holding_slot = assignment.state == AssignmentState.ACTIVE
    assignment.state = AssignmentState.SKIPPED
    assignment.skip_reason = reason[:200]
    assignment.finished_at = timezone.now()
    assignment.save(update_fields=["state", "skip_reason", "finished_at"])
    if was_holding_slot:
        Item.objects.filter(pk=assignment.item_id).update(open_slots=F("open_slots") + 1)
    return assignment


def items_resize_overlap(*, project: Project, old_overlap: int) -> None:
    """Shift every item's open slots by the overlap change.

    Not clamped at zero: an item with more leases than its new overlap owes slots,
    and a later skip or expiry pays them back instead of opening a slot too many.
    """
    delta = project.overlap - old_overlap
    if delta:
        Item.objects.filter(project=project).update(open_slots=F("open_slots") + delta)
