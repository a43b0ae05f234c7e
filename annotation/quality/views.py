"""Quality pages: the manager's dashboard (and its CSV), the review queue and review item,
and an annotator's own record (figures, history and the reviews of their work)."""

import csv
from functools import wraps

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from annotation.authoring.selectors import annotations_of_user
from annotation.quality.selectors.dashboard import SORT_KEYS, annotator_csv_rows
from annotation.quality.selectors.dashboard_page import dashboard_page
from annotation.quality.selectors.guideline_flags import guideline_flag_choices
from annotation.quality.selectors.own import own_quality
from annotation.quality.selectors.review import (
    review_item,
    review_item_after_verdict,
    review_queue,
    reviews_received,
)
from annotation.quality.services import gold, guideline_flags, review
from annotation.quality.services.refresh import project_quality_refresh_request
from common.errors import ApplicationError, PermissionDeniedError
from common.numbers import plain_int
from projects.decorators import project_view
from projects.permissions import Capability, has_capability

HISTORY_PAGE_SIZE = 25

COLUMNS = [
    ("username", "Annotator"), ("judgements", "Items"), ("gold_score", "Gold"),
    ("loo_agreement", "Agrees with peers"), ("median_time_s", "Median s"),
    ("skip_rate", "Skips"), ("position_z", "Position bias (z)"), ("length_bias", "Length bias"),
    ("cycle_rate", "Cycles"), ("weight", "Weight"), ("", "Items per day"),
]  # fmt: skip
assert {key for key, _ in COLUMNS if key} == set(SORT_KEYS)


@project_view(Capability.QUALITY)
def quality_dashboard(request, project):
    sort = request.GET.get("sort", "weight")
    descending = request.GET.get("dir", "asc") == "desc"
    context = {
        **dashboard_page(project, sort=sort, descending=descending),
        "project": project,
        "sort": sort,
        "descending": descending,
        "columns": COLUMNS,
        "can_manage": has_capability(request.user, project, Capability.MANAGE),
        "can_review": has_capability(request.user, project, Capability.REVIEW),
    }
    return render(request, "annotation/quality_dashboard.html", context)


class _Echo:
    def write(self, value):
        return value


@project_view(Capability.QUALITY)
def quality_annotators_csv(request, project):
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in annotator_csv_rows(project)), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-annotators.csv"'
    return response


@require_POST
@project_view(Capability.QUALITY)
def quality_refresh_now(request, project):
    project_quality_refresh_request(project=project)
    messages.info(request, "Refresh queued; the figures update in a few seconds.")
    return redirect("quality-dashboard", slug=project.slug)


@require_POST
@project_view(Capability.MANAGE)
def annotator_resume(request, project, user_id: int):
    closed = gold.annotator_resume(project=project, user_id=user_id, by=request.user)
    messages.success(request, f"Resumed; {closed} alert{'s' if closed != 1 else ''} closed.")
    return redirect("quality-dashboard", slug=project.slug)


@project_view(Capability.REVIEW)
def review_queue_page(request, project):
    queue = review_queue(project=project, reviewer=request.user)
    return render(request, "annotation/review_queue.html", {"project": project, "queue": queue})


def _refusal_as_page(view):
    """A review item refused to this user (they annotated it) is a 403 page saying why."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PermissionDeniedError as exc:
            return render(request, "403.html", {"message": exc.message}, status=403)

    return wrapper


def _review_item_or_404(request, project, item_id: int):
    view = review_item(project=project, item_id=item_id, reviewer=request.user)
    if view is None:
        raise Http404(f"no item {item_id} in this project")
    return view


@project_view(Capability.REVIEW)
@_refusal_as_page
def review_item_page(request, project, item_id: int):
    view = _review_item_or_404(request, project, item_id)
    return _review_item_render(request, project, view)


def _review_item_render(request, project, view, *, refused: dict | None = None, status=200):
    """The review page; ``refused`` puts a refused verdict's error and typed values back on
    its annotation's form."""
    return render(
        request,
        "annotation/review_item.html",
        {
            "project": project,
            "view": view,
            "ranks": range(1, len(view.responses) + 1),
            "can_manage": has_capability(request.user, project, Capability.MANAGE),
            "refused": refused,
        },
        status=status,
    )


def _ranking_from_post(post, view) -> list[list[int]]:
    """Per-response rank selects (``rank-<response id>``) to tiers; equal ranks tie."""
    ranks: dict[int, list[int]] = {}
    unranked = []
    for letter, response in view.responses:
        rank = plain_int(post.get(f"rank-{response.pk}", ""))
        if rank is None:
            unranked.append(letter)
            continue
        ranks.setdefault(rank, []).append(response.pk)
    if unranked:
        raise ApplicationError(
            f"Give every response a rank: {' and '.join(unranked)} "
            f"{'has' if len(unranked) == 1 else 'have'} none. Equal numbers tie.",
            extra={"field": "ranking"},
        )
    return [ranks[rank] for rank in sorted(ranks)]


def _refused_form(post, view, annotation_id: int, exc: ApplicationError) -> dict | None:
    """What the reviewer typed into the refused form, or None when that form is not on the
    page (the annotation was reviewed meanwhile): then the message goes to the top."""
    if not any(e.reviewable and e.annotation.pk == annotation_id for e in view.annotations):
        return None
    ranks = {r.pk: plain_int(post.get(f"rank-{r.pk}", "")) for _, r in view.responses}
    unranked = [pk for pk, rank in ranks.items() if rank is None]
    field = exc.extra.get("field", "")
    # The API's messages start with the field's name ("comment: say what…"); the page shows
    # the message at that field instead.
    message = exc.message.removeprefix(f"{field}: ") if field else exc.message
    return {
        "annotation_id": annotation_id,
        "message": message[:1].upper() + message[1:],
        "at": field if field in ("comment", "ranking") else "",
        "comment": post.get("comment", ""),
        "ranks": ranks,
        # autofocus scrolls the form into view at the field to fix (the page opens at its top)
        "focus": unranked[0] if field == "ranking" and unranked else "comment",
    }


def _review_verdict(request, project, item_id: int, annotation_id: int, *, verdict: str):
    """Give the verdict, then go on to what is left to review; a refused verdict shows the
    page again with what was typed (a redirect would clear the comment and ranks)."""
    view = _review_item_or_404(request, project, item_id)
    try:
        review.annotation_review(
            project=project,
            annotation_id=annotation_id,
            reviewer=request.user,
            verdict=verdict,
            comment=request.POST.get("comment", ""),
            ranking=_ranking_from_post(request.POST, view) if verdict == "correct" else None,
        )
    except ApplicationError as exc:
        refused = _refused_form(request.POST, view, annotation_id, exc)
        if refused is None:
            messages.error(request, exc.message)
            return redirect("review-item", slug=project.slug, item_id=item_id)
        return _review_item_render(request, project, view, refused=refused, status=exc.status_code)
    messages.success(request, f"Annotation {annotation_id}: {verdict}ed.")
    if request.POST.get("then") != "next":
        return redirect("review-item", slug=project.slug, item_id=item_id)
    following = review_item_after_verdict(project=project, reviewer=request.user, item_id=item_id)
    if following is None:
        return redirect("review-queue", slug=project.slug)
    return redirect("review-item", slug=project.slug, item_id=following)


@require_POST
@project_view(Capability.REVIEW)
@_refusal_as_page
def review_accept(request, project, item_id: int, annotation_id: int):
    return _review_verdict(request, project, item_id, annotation_id, verdict="accept")


@require_POST
@project_view(Capability.REVIEW)
@_refusal_as_page
def review_reject(request, project, item_id: int, annotation_id: int):
    return _review_verdict(request, project, item_id, annotation_id, verdict="reject")


@require_POST
@project_view(Capability.REVIEW)
@_refusal_as_page
def review_correct(request, project, item_id: int, annotation_id: int):
    return _review_verdict(request, project, item_id, annotation_id, verdict="correct")


@require_POST
@project_view(Capability.MANAGE)
@_refusal_as_page
def item_gold_mark(request, project, item_id: int):
    view = _review_item_or_404(request, project, item_id)
    try:
        ranking = _ranking_from_post(request.POST, view)
        gold.item_gold_mark(project=project, item_id=item_id, ranking=ranking)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Marked as gold with that ranking.")
    return redirect("review-item", slug=project.slug, item_id=item_id)


@require_POST
@project_view(Capability.MANAGE)
@_refusal_as_page
def item_gold_unmark(request, project, item_id: int):
    _review_item_or_404(request, project, item_id)  # the same refusals as the page's
    try:
        gold.item_gold_unmark(project=project, item_id=item_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The item is an ordinary item again.")
    return redirect("review-item", slug=project.slug, item_id=item_id)


@project_view(Capability.MANAGE)
def guideline_flag(request, project):
    if request.method == "POST":
        chosen = [name for name in request.POST.getlist("labels") if name]
        try:
            count, _ = guideline_flags.guideline_flag_superseded(
                project=project, action=request.POST.get("action", ""), label_names=chosen
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{count} annotation{'s' if count != 1 else ''} flagged.")
            return redirect("guideline-flag", slug=project.slug)
    context = {"project": project, **guideline_flag_choices(project)}
    return render(request, "annotation/guideline_flag.html", context)


@project_view(Capability.ANNOTATE)
def quality_own(request, project):
    """The annotator's own figures (gold left out) and the reviews of their work."""
    own = own_quality(project=project, user=request.user)
    return render(request, "annotation/quality_own.html", {"project": project, "own": own})


@project_view(Capability.ANNOTATE)
def history(request, project):
    """The annotator's own annotations (searchable, paged) with the latest reviews of them."""
    query = request.GET.get("q", "")
    annotations = annotations_of_user(user=request.user, project=project, query=query)
    page = Paginator(annotations, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "page": page,
        "query": query,
        "reviews": reviews_received(project=project, user=request.user, limit=10),
    }
    return render(request, "annotation/history_list.html", context)
