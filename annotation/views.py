"""The annotator's ranking page and the manager's import and batch pages."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from annotation.forms import judgement_payload_from_post
from annotation.selectors import (
    annotator_progress,
    generation_waiting,
    queue_empty_reason,
)
from annotation.services.claim_flow import claim_next
from annotation.services.claiming import (
    GuidelinesNotAcknowledged,
    assignment_heartbeat,
    assignment_skip,
)
from annotation.services.submission import annotation_submit
from common.errors import ApplicationError
from common.numbers import plain_ids
from projects.decorators import project_view
from projects.labels.models import LabelKind
from projects.permissions import Capability, has_capability
from projects.selectors import guideline_current

ITEM_PARTIAL = "annotation/partials/item.html"


def _wants_fragment(request) -> bool:
    return bool(request.htmx) or request.headers.get("X-Preflab-Fetch") == "1"


def _claim_view(request, project, exclude: tuple[int, ...] = ()):
    return claim_next(user=request.user, project=project, exclude_ids=exclude).view


def _item_context(project, view, request) -> dict:
    labels = list(project.tag_labels.all()) if view else []
    return {
        "project": project,
        "view": view,
        "progress": annotator_progress(user=request.user, project=project),
        "dimensions": list(project.rating_dimensions.all()) if view else [],
        "span_labels": [label for label in labels if label.kind == LabelKind.SPAN],
        "response_labels": [label for label in labels if label.kind == LabelKind.RESPONSE],
        # Renew well before the lease ends: every third of it, at most once a minute.
        "heartbeat_seconds": max(10, min(60, project.lease_minutes * 20)),
        # An empty queue says why: no items yet, items only others may take, or all done.
        "empty_reason": queue_empty_reason(project=project) if view is None else "",
        "generation_waiting": generation_waiting(project=project) if view is None else None,
        "may_manage": view is None and has_capability(request.user, project, Capability.MANAGE),
    }


@project_view(Capability.ANNOTATE)
def annotate(request, project):
    stopped = ""
    try:
        current = _claim_view(request, project)
        upcoming = (
            _claim_view(request, project, exclude=(current.assignment.pk,)) if current else None
        )
    except GuidelinesNotAcknowledged:
        return redirect(f"/p/{project.slug}/guidelines/?next=/p/{project.slug}/annotate/")
    except ApplicationError as exc:  # paused by quality control, an archived project
        current, upcoming, stopped = None, None, exc.message
    context = {
        **_item_context(project, current, request),
        "upcoming": upcoming,
        "guideline": guideline_current(project),
        "stopped": stopped,
    }
    return render(request, "annotation/annotate.html", context)


def _error(request, project, exc: ApplicationError):
    if _wants_fragment(request):
        return JsonResponse({"error": exc.code, "message": exc.message}, status=exc.status_code)
    messages.error(request, exc.message)
    return redirect("annotate", slug=project.slug)


def _then_next(request, project, action):
    """Run the action; answer with the next item's fragment (fetch) or the page (plain form)."""
    try:
        action()
    except ApplicationError as exc:
        return _error(request, project, exc)
    if not _wants_fragment(request):
        return redirect("annotate", slug=project.slug)
    # The item to prefetch next, excluding the one now on screen.
    shown = request.POST.get("shown", "")
    stopped = ""
    try:
        view = _claim_view(request, project, exclude=plain_ids(shown))
    except GuidelinesNotAcknowledged:
        # The judgement is stored; new guidelines were published meanwhile.
        view, guidelines_changed = None, True
    except ApplicationError as exc:  # stored, but no more work: paused, or archived
        view, guidelines_changed, stopped = None, False, exc.message
    else:
        guidelines_changed = False
    context = {
        **_item_context(project, view, request),
        "oob_progress": True,
        "guidelines_changed": guidelines_changed,
        "stopped": stopped,
    }
    return render(request, ITEM_PARTIAL, context)


@require_POST
@project_view(Capability.ANNOTATE)
def submit(request, project, assignment_id: int):
    def store():
        payload = judgement_payload_from_post(request.POST, project)
        if plain_ids(request.POST.get("time_spent_ms", "")):
            payload.setdefault("time_spent_ms", int(request.POST["time_spent_ms"]))
        annotation_submit(
            project_id=project.pk,
            assignment_id=assignment_id,
            user=request.user,
            payload=payload,
            client_token=request.POST.get("client_token") or None,
        )

    return _then_next(request, project, store)


@require_POST
@project_view(Capability.ANNOTATE)
def skip(request, project, assignment_id: int):
    reason = request.POST.get("reason", "")
    return _then_next(
        request,
        project,
        lambda: assignment_skip(
            assignment_id=assignment_id, user=request.user, reason=reason, project_id=project.pk
        ),
    )


@require_POST
@project_view(Capability.ANNOTATE)
def heartbeat(request, project, assignment_id: int):
    try:
        assignment = assignment_heartbeat(
            assignment_id=assignment_id, user=request.user, project_id=project.pk
        )
    except ApplicationError as exc:
        return JsonResponse({"error": exc.code, "message": exc.message}, status=exc.status_code)
    return JsonResponse({"lease_expires_at": assignment.lease_expires_at.isoformat()})


@require_POST
@project_view(Capability.ANNOTATE)
def prefetch(request, project):
    """Lease the next item besides the one on screen (``exclude=<assignment id>``).

    A POST: it leases work, so no image or link can trigger it.
    """
    stopped = ""
    try:
        view = _claim_view(request, project, exclude=plain_ids(request.POST.get("exclude", "")))
    except ApplicationError as exc:  # guidelines, a pause, an archived project
        view, stopped = None, exc.message
    return render(request, ITEM_PARTIAL, {**_item_context(project, view, request),
                                          "stopped": stopped})  # fmt: skip
