"""A claim from the project's slug to what the annotator is shown, in as few statements as
the database allows.

On PostgreSQL, for a member, a claim is one transaction of two statements:

1. the gate (``GATE_SQL``): the member's row, locked ``FOR NO KEY UPDATE`` (one claim per
   user at a time), with the project, the role, the pause and whether the current
   guidelines are acknowledged;
2. the claim statement (``claim_statement.py``): renew or lease, and read the item.

Everything else takes the general path (``claiming.assignment_claim``, then
``assignment_view``), in the same transaction when the gate was passed: a claim that
serves a gold item (a draw at the project's gold rate), an assisted project (the
suggestion reads the reward model's scores), SQLite, and anyone the gate does not know
(a superuser who is no member, a stranger: the general path answers 404 or 403).
Expired leases go back to the pool every few seconds per project (``reap_due``) and at
once when the pool looks empty, as on the general path.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from annotation.selectors import AssignmentView, assignment_view, responses_lettered
from annotation.services.claim_statement import Claimed, claim_run
from annotation.services.claiming import (
    assignment_claim,
    assignments_reap_expired,
    claim_locked,
    lease_end,
    reap_due,
    work_allowed_check,
)
from annotation.services.gold_queue import gold_due
from common.db_prepared import prepared_cursor
from common.model_rows import model_columns, model_from_row, model_width
from projects.models import AssistMode, Project
from projects.permissions import Capability, has_capability, pause_wording, remember_role
from projects.selectors import project_get_for_user


@dataclass(frozen=True)
class ClaimOutcome:
    project: Project
    view: AssignmentView | None  # None: nothing left for this annotator


@dataclass(frozen=True)
class _Gate:
    """The user's membership of the project as the gate reads it."""

    project: Project
    role: str
    paused: str | None  # why quality control paused them, or None
    needs_ack: bool  # the current guidelines await their acknowledgement


def _gate_sql(key: str) -> str:
    # Written by hand, not with the ORM: compiling the ORM's version of this one query
    # cost more CPU than the rest of the claim (common/model_rows.py).
    return f"""
SELECT {model_columns(Project, "p")}, m.role, m.paused_at, m.paused_reason,
       (SELECT NOT EXISTS (
                SELECT 1 FROM projects_guidelineack a
                 WHERE a.guideline_id = g.id AND a.user_id = %(user)s)
          FROM projects_guideline g WHERE g.project_id = m.project_id
         ORDER BY g.version DESC LIMIT 1)
FROM projects_membership m JOIN projects_project p ON p.id = m.project_id
WHERE {key} = %(key)s AND m.user_id = %(user)s
FOR NO KEY UPDATE OF m
"""


GATE_SQL = {"slug": _gate_sql("p.slug"), "project_id": _gate_sql("m.project_id")}


def _gate_locked(*, key: str, value, user) -> _Gate | None:
    """The user's membership of the project (by ``slug`` or ``project_id``), locked;
    None: not a member."""
    with prepared_cursor() as cursor:
        cursor.execute(GATE_SQL[key], {"key": value, "user": user.pk})
        row = cursor.fetchone()
    if row is None:
        return None
    width = model_width(Project)
    role, paused_at, paused_reason, needs_ack = row[width:]
    return _Gate(
        project=model_from_row(Project, row[:width]),
        role=role,
        paused=pause_wording(paused_at, paused_reason),
        needs_ack=bool(needs_ack),
    )


def _shown(claimed: Claimed) -> AssignmentView:
    return AssignmentView(
        assignment=claimed.assignment,
        messages=claimed.messages,
        responses=responses_lettered(claimed.assignment.display_order, claimed.texts),
    )


def _one_statement_fits(project: Project) -> bool:
    """Whether this claim can be the claim statement: no gold draw, no suggestion."""
    assisted = project.assist_mode == AssistMode.ASSISTED and project.reward_model_id is not None
    return not assisted and not gold_due(project)


def _claim_gated(*, key: str, value, user, exclude_ids: tuple[int, ...]) -> ClaimOutcome | None:
    """The claim behind the gate; None when the gate does not know the user."""
    with transaction.atomic():
        gate = _gate_locked(key=key, value=value, user=user)
        if gate is None:
            return None
        project = gate.project
        remember_role(user, project, gate.role, paused=gate.paused)
        if not has_capability(user, project, Capability.ANNOTATE):
            return None  # the general path words the refusal
        work_allowed_check(project=project, user=user, needs_ack=gate.needs_ack)
        now = timezone.now()
        if reap_due(project):
            assignments_reap_expired(project=project, now=now)
        if _one_statement_fits(project):
            claimed = claim_run(
                user_id=user.pk,
                project_id=project.pk,
                now=now,
                lease_end=lease_end(project, now),
                exclude_ids=exclude_ids,
                max_leases=settings.PREFLAB_MAX_LEASES_PER_USER,
            )
            return ClaimOutcome(project, _shown(claimed) if claimed else None)
        assignment = claim_locked(user=user, project=project, exclude_ids=exclude_ids, now=now)
        return ClaimOutcome(project, assignment_view(assignment) if assignment else None)


def claim_next(
    *,
    user,
    slug: str | None = None,
    project: Project | None = None,
    exclude_ids: tuple[int, ...] = (),
) -> ClaimOutcome:
    """The user's live lease in the project (by ``slug``, or the ``project`` a caller
    already checked), else a newly leased item, else nothing.

    Raises what ``project_get_for_user`` and ``assignment_claim`` raise: 404 for
    strangers, 403 without the annotate capability, 409 while paused or before the
    current guidelines are acknowledged.
    """
    key, value = ("project_id", project.pk) if project is not None else ("slug", slug)
    if connection.vendor == "postgresql":
        outcome = _claim_gated(key=key, value=value, user=user, exclude_ids=exclude_ids)
        if outcome is not None and outcome.view is None:
            # An empty pool may be leases that ran out: return them and look once more.
            if assignments_reap_expired(project=outcome.project):
                outcome = _claim_gated(key=key, value=value, user=user, exclude_ids=exclude_ids)
        if outcome is not None:
            return outcome
    if project is None:
        project = project_get_for_user(slug=slug, user=user, capability=Capability.ANNOTATE)
    assignment = assignment_claim(user=user, project=project, exclude_ids=exclude_ids)
    return ClaimOutcome(project, assignment_view(assignment) if assignment else None)
