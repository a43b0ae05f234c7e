"""The write-a-response queue: annotators answer prompts others wrote, one response each.

A prompt waiting here needs ``responses_per_item`` responses from as many different
people (never its author), which is the queue's overlap. Leasing follows the ranking
queue: ``FOR UPDATE SKIP LOCKED`` on the prompt, a signed ``open_write_slots`` counter
under the row lock, a unique (prompt, user) pair, expired leases returned to the pool.
When the last response arrives the prompt becomes an item for ranking.
"""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, OuterRef
from django.utils import timezone

from annotation.authoring.models import WriteAssignment
from annotation.models import AssignmentState, Prompt, PromptStatus, Response, ResponseOrigin
from annotation.services.claiming import work_allowed_check
from annotation.services.index_probe import ProbeExists
from annotation.services.instrumentation import writing_stats_clean
from annotation.services.items_build import item_create_for_prompt
from annotation.services.texts import text_clean
from common.errors import ApplicationError, ConflictError, NotFoundError
from common.tokens import client_token_checked
from projects.models import Project, ResponseSource


def _lease_end(project: Project, now: datetime) -> datetime:
    return now + timedelta(minutes=project.lease_minutes)


def write_leases_reap(*, project: Project, now: datetime) -> int:
    """Return expired write leases' slots to their prompts."""
    with transaction.atomic():
        expired = list(
            WriteAssignment.objects.select_for_update(skip_locked=True)
            .filter(project=project, state=AssignmentState.ACTIVE, lease_expires_at__lte=now)
            .values_list("id", "prompt_id")
        )
        for assignment_id, prompt_id in expired:
            WriteAssignment.objects.filter(pk=assignment_id).update(state=AssignmentState.EXPIRED)
            Prompt.objects.filter(pk=prompt_id).update(open_write_slots=F("open_write_slots") + 1)
    return len(expired)


def write_claim(*, user, project: Project) -> WriteAssignment | None:
    """The user's live write lease, else a newly leased prompt, else None."""
    if project.response_source != ResponseSource.QUEUE:
        raise ConflictError("this project has no response-writing queue")
    work_allowed_check(project=project, user=user)
    now = timezone.now()
    write_leases_reap(project=project, now=now)
    with transaction.atomic():
        # NO KEY UPDATE and a locked live lease, as in assignment_claim: a write submit
        # of the same user finishes first instead of deadlocking on its foreign key.
        user_rows = get_user_model().objects.select_for_update(no_key=True)
        user_rows.filter(pk=user.pk).values_list("pk").first()
        live = (
            WriteAssignment.objects.select_for_update(of=("self",))
            .filter(
                user=user, project=project, state=AssignmentState.ACTIVE, lease_expires_at__gt=now
            )
            .select_related("prompt")
            .first()
        )
        if live is not None:
            live.lease_expires_at = _lease_end(project, now)
            live.save(update_fields=["lease_expires_at"])
            return live
        had = WriteAssignment.objects.filter(prompt=OuterRef("pk"), user=user)
        prompt = (
            Prompt.objects.filter(project=project, open_write_slots__gt=0)
            .exclude(author=user)
            .exclude(ProbeExists(had))
            .order_by("id")
            .select_for_update(skip_locked=True)
            .only("id")
            .first()
        )
        if prompt is None:
            return None
        Prompt.objects.filter(pk=prompt.pk).update(open_write_slots=F("open_write_slots") - 1)
        return WriteAssignment.objects.create(
            prompt_id=prompt.pk,
            user=user,
            project=project,
            claimed_at=now,
            lease_expires_at=_lease_end(project, now),
        )


def _lock_own(assignment_id: int, user) -> WriteAssignment:
    assignment = (
        WriteAssignment.objects.select_for_update(of=("self",))
        .select_related("project", "prompt")
        .filter(pk=assignment_id, user=user)
        .first()
    )
    if assignment is None:
        raise NotFoundError(f"no write assignment {assignment_id} of yours")
    return assignment


def _revive(assignment: WriteAssignment, now: datetime) -> None:
    """An expired lease may still be submitted while the prompt has an open slot."""
    taken = Prompt.objects.filter(pk=assignment.prompt_id, open_write_slots__gt=0).update(
        open_write_slots=F("open_write_slots") - 1
    )
    if not taken:
        raise ConflictError("your lease on this prompt expired and others answered it")
    assignment.state = AssignmentState.ACTIVE


@transaction.atomic
def write_submit(
    *, assignment_id: int, user, text, writing=None, client_token: str | None = None
) -> tuple[Response, bool]:
    """Store the user's response to their leased prompt; returns (response, created)."""
    # Not create_once: the locked write assignment keeps the token and orders retries.
    client_token = client_token_checked(client_token)
    assignment = _lock_own(assignment_id, user)
    if assignment.state == AssignmentState.SUBMITTED:
        if client_token and assignment.client_token == client_token:
            return assignment.response, False
        raise ConflictError("you already answered this prompt")
    if assignment.state == AssignmentState.SKIPPED:
        raise ConflictError("you skipped this prompt")
    now = timezone.now()
    if assignment.state == AssignmentState.EXPIRED:
        _revive(assignment, now)
    text = text_clean(text, "text")
    stats, pasted = writing_stats_clean(writing, texts={"text": text})
    response = Response.objects.create(
        prompt=assignment.prompt, text=text, author=user, origin=ResponseOrigin.QUEUE,
        writing=stats, mostly_pasted=pasted,
    )  # fmt: skip
    assignment.state = AssignmentState.SUBMITTED
    assignment.finished_at = now
    assignment.response = response
    assignment.client_token = client_token or None
    assignment.save(update_fields=["state", "finished_at", "response", "client_token"])
    _complete_if_answered(assignment.prompt_id)
    return response, True


def _complete_if_answered(prompt_id: int) -> None:
    prompt = Prompt.objects.select_for_update().select_related("project").get(pk=prompt_id)
    if prompt.status != PromptStatus.NEEDS_RESPONSES:
        return
    written = list(
        Response.objects.filter(prompt=prompt, origin=ResponseOrigin.QUEUE).order_by("id")
    )
    if len(written) >= prompt.project.responses_per_item:
        item_create_for_prompt(
            prompt=prompt, responses=written[: prompt.project.responses_per_item]
        )


@transaction.atomic
def write_skip(*, assignment_id: int, user, reason: str = "") -> WriteAssignment:
    """Give the prompt back; it never comes back to this user."""
    assignment = _lock_own(assignment_id, user)
    if assignment.state != AssignmentState.ACTIVE:
        raise ConflictError(f"this write assignment is {assignment.state}")
    if len(reason) > 200:
        raise ApplicationError("reason: at most 200 characters", extra={"field": "reason"})
    assignment.state = AssignmentState.SKIPPED
    assignment.finished_at = timezone.now()
    assignment.save(update_fields=["state", "finished_at"])
    Prompt.objects.filter(pk=assignment.prompt_id).update(
        open_write_slots=F("open_write_slots") + 1
    )
    return assignment
