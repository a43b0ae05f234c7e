"""Pages for writing prompts and responses, revising one's own annotations, and written
prompts. The history list lives with quality (``quality.views.history``): it shows the
reviews of one's work beside it."""

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotation.authoring.diffing import diff_counts, word_diff
from annotation.authoring.forms import (
    prompt_payload_from_post,
    response_payload_from_post,
    revision_payload_from_post,
)
from annotation.authoring.selectors import (
    annotation_detail_for_user,
    rewrite_original_text,
    write_assignment_check,
    written_prompts_for_review,
)
from annotation.authoring.services.prompts import (
    messages_clean,
    prompt_duplicates_find,
    prompt_write,
    prompt_write_progress,
)
from annotation.authoring.services.response_queue import write_claim, write_skip, write_submit
from annotation.authoring.services.revisions import annotation_revise
from annotation.selectors import generation_waiting
from annotation.services.claiming import GuidelinesNotAcknowledged
from common.errors import ApplicationError, ConflictError, NotFoundError
from common.numbers import plain_int
from projects.decorators import project_view
from projects.models import ResponseSource
from projects.permissions import Capability
from projects.selectors import guideline_needs_ack


def _guidelines_first(project):
    return redirect(f"/p/{project.slug}/guidelines/?next={_here(project)}")


def _here(project) -> str:
    return f"/p/{project.slug}/write/"


def _write_context(project, request, **extra) -> dict:
    return {
        "project": project,
        "writer_mode": project.response_source == ResponseSource.WRITER,
        "k_range": range(project.responses_per_item),
        "progress": prompt_write_progress(project=project, user=request.user),
        "client_token": uuid.uuid4().hex,
        "turns": [""],
        # Model projects: written prompts still waiting, and why (no generator yet).
        "generation_waiting": generation_waiting(project=project)
        if project.response_source == ResponseSource.MODEL
        else None,
        **extra,
    }


@project_view(Capability.ANNOTATE)
def prompt_write_page(request, project):
    if not project.prompt_writing:
        raise Http404("this project does not take written prompts")
    if request.method != "POST":
        # Ask for the guidelines before the writer types, not after Save (the ranking page
        # does the same through its claim).
        if guideline_needs_ack(project=project, user=request.user) is not None:
            return _guidelines_first(project)
        return render(request, "annotation/prompt_write.html", _write_context(project, request))
    payload = {"category": request.POST.get("category", ""),
               "client_token": request.POST.get("client_token") or None}  # fmt: skip
    try:
        payload = prompt_payload_from_post(request.POST)  # a malformed field is named, not a 500
        written = prompt_write(project=project, user=request.user, **payload)
    except GuidelinesNotAcknowledged:
        return _guidelines_first(project)
    except ApplicationError as exc:
        return _write_refused(request, project, exc, payload)
    prompt = written.prompt
    messages.success(request, f"Prompt {prompt.pk} saved: {prompt.get_status_display().lower()}.")
    # The token names the draft the page may now drop from the browser's storage (writing.js).
    saved = "?" + urlencode({"saved": payload["client_token"]}) if payload["client_token"] else ""
    return redirect(reverse("prompt-write", kwargs={"slug": project.slug}) + saved)


def _write_refused(request, project, exc: ApplicationError, payload: dict):
    """The writing page again with what was typed, the reason and any near duplicates."""
    context = _write_context(
        project, request,
        error=exc.message, duplicates=exc.extra.get("duplicates", []),
        turns=request.POST.getlist("turn") or [""],
        answers=request.POST.getlist("response"), category=payload["category"],
        order=request.POST.get("order", ""), client_token=payload["client_token"],
    )  # fmt: skip
    status = 409 if isinstance(exc, ConflictError) else 400
    return render(request, "annotation/prompt_write.html", context, status=status)


@require_POST
@project_view(Capability.ANNOTATE)
def prompt_duplicates(request, project):
    """The live duplicate hint under the prompt editor (htmx)."""
    turns = request.POST.getlist("turn")
    conversation = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)
    ]
    try:
        matches = prompt_duplicates_find(project=project, messages=messages_clean(conversation))
    except ApplicationError:
        matches = []  # an unfinished conversation has nothing to compare yet
    return render(request, "annotation/partials/duplicates.html", {"duplicates": matches})


def _guidelines_first_for_responses(project):
    return redirect(f"/p/{project.slug}/guidelines/?next=/p/{project.slug}/write-responses/")


@project_view(Capability.ANNOTATE)
def response_write_page(request, project):
    if project.response_source != ResponseSource.QUEUE:
        raise Http404("this project has no response-writing queue")
    try:
        lease = write_claim(user=request.user, project=project)
    except GuidelinesNotAcknowledged:
        return _guidelines_first_for_responses(project)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("response-write", slug=project.slug)
    context = {"project": project, "lease": lease, "client_token": uuid.uuid4().hex}
    return render(request, "annotation/response_write.html", context)


def _response_write_act(request, project, act) -> HttpResponse:
    """Run ``act`` on the posted lease of this project, then back to the queue page."""
    if project.response_source != ResponseSource.QUEUE:
        raise Http404("this project has no response-writing queue")
    try:
        assignment_id = write_assignment_check(
            project=project, assignment_id=plain_int(request.POST.get("assignment", ""))
        )
        act(assignment_id)
    except GuidelinesNotAcknowledged:
        return _guidelines_first_for_responses(project)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("response-write", slug=project.slug)


@require_POST
@project_view(Capability.ANNOTATE)
def response_write_submit(request, project):
    def submit(assignment_id: int) -> None:
        payload = response_payload_from_post(request.POST)
        write_submit(assignment_id=assignment_id, user=request.user, **payload)
        messages.success(request, "Response saved. Thank you!")

    return _response_write_act(request, project, submit)


@require_POST
@project_view(Capability.ANNOTATE)
def response_write_skip(request, project):
    def skip(assignment_id: int) -> None:
        write_skip(assignment_id=assignment_id, user=request.user)
        messages.info(request, "Skipped; that prompt will not come back to you.")

    return _response_write_act(request, project, skip)


@project_view(Capability.ANNOTATE)
def history_detail(request, project, annotation_id: int):
    try:
        detail = annotation_detail_for_user(user=request.user, annotation_id=annotation_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    if detail.annotation.project_id != project.pk:
        raise Http404("no such annotation in this project")
    error = None
    if request.method == "POST":
        base = request.POST.get("base_revision", "")
        try:
            annotation_revise(
                annotation_id=annotation_id,
                user=request.user,
                payload=revision_payload_from_post(request.POST, detail.annotation),
                base_revision=plain_int(base),
            )
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, "Revision saved; the earlier one is kept.")
            return redirect("history-detail", slug=project.slug, annotation_id=annotation_id)
    context = {"project": project, "detail": detail, "error": error, **_revise_form(detail)}
    return render(request, "annotation/history_detail.html", context, status=400 if error else 200)


def _revise_form(detail) -> dict:
    """Current values for the revise form: each response's rank, score and the choice."""
    annotation = detail.annotation
    ranks = {rid: tier + 1 for tier, ids in enumerate(annotation.ranking) for rid in ids}
    best = annotation.ranking[0] if annotation.ranking else []
    return {
        "ranks": ranks,
        "scores": {int(k): v for k, v in annotation.ratings.items()},
        "choice": best[0] if len(best) == 1 else "tie",
        "mode": "rank" if annotation.kind == "writer_order" else annotation.mode,
        "rank_range": range(1, len(annotation.display_order) + 1),
    }


@project_view(Capability.REVIEW)
def written_prompts(request, project):
    """Reviewers and managers see written prompts with their paste flags and status."""
    prompts = written_prompts_for_review(
        project=project, flagged_only=request.GET.get("flagged") == "1"
    )
    page = Paginator(prompts, 50).get_page(request.GET.get("page"))
    context = {"project": project, "page": page, "flagged_only": request.GET.get("flagged") == "1"}
    return render(request, "annotation/written_prompts.html", context)


@require_POST
@project_view(Capability.ANNOTATE)
def rewrite_diff(request, project, assignment_id: int):
    """The diff between a response on the user's leased item and their rewrite (htmx)."""
    original = rewrite_original_text(
        project=project,
        user=request.user,
        assignment_id=assignment_id,
        response_id=plain_int(request.POST.get("response", "")),
    )
    pieces = word_diff(original, request.POST.get("text", "").strip())
    context = {"pieces": pieces, "counts": diff_counts(pieces)}
    return render(request, "annotation/partials/rewrite_diff.html", context)
