"""Quality pages: the manager's dashboard (and its CSV), the review queue and review item."""

import csv
from functools import wraps

from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotation.quality.selectors.dashboard import (
    SORT_KEYS,
    annotator_csv_rows,
    annotator_table,
    dashboard,
)
from annotation.quality.selectors.figures import annotator_pairs, disagreement_list
from annotation.quality.selectors.review import next_review_item_id, review_item, review_queue
from annotation.quality.services import gold, guideline_flags, review
from annotation.quality.services.summary import day_labels
from common import charts
from common.errors import ApplicationError, PermissionDeniedError
from common.numbers import plain_int
from common.queueing import task_send, task_send_on_commit
from projects.decorators import project_view
from projects.permissions import Capability, has_capability
from projects.selectors import guideline_current


def _daily(name: str, values: list) -> charts.Series:
    return charts.Series(name, list(enumerate(values)))


def _round_segments(r: dict) -> list:
    return [("complete", r["complete"]), ("in progress", r["in_progress"]), ("open", r["open"])]


def _win_row(w: dict) -> charts.IntervalRow:
    return charts.IntervalRow(w["model"], w["rate"], w["low"], w["high"], f"{w['games']} games")


def _reward_rows(agreement: dict | None) -> list[dict]:
    """The per-annotator table's rows, each with its trend line by day."""
    return [
        {**a, "sparkline": charts.sparkline(
            a["by_day"], y_min=0, y_max=1, title=f"{a['username']}: agreement with the model by day"
        )}
        for a in (agreement or {}).get("annotators", [])
    ]  # fmt: skip


CHART_ANNOTATORS = 40  # rows of the per-annotator chart; the table below has everyone


def _reward_charts(agreement: dict | None) -> dict:
    """Agreement with the reward model per annotator (95% intervals) and per day, blind and
    assisted apart."""
    if not agreement:
        return {}
    people = agreement["annotators"]
    title = "Agreement with the reward model per annotator (95% interval)"
    if len(people) > CHART_ANNOTATORS:
        most = {
            a["user_id"] for a in sorted(people, key=lambda a: -a["annotations"])[:CHART_ANNOTATORS]
        }
        people = [a for a in people if a["user_id"] in most]
        title += f": the {CHART_ANNOTATORS} with the most rankings"
    note = "{annotations} rankings, {pairs} pairs"
    rows = [
        charts.IntervalRow(a["username"], a["rate"], a["low"], a["high"], note.format(**a))
        for a in people
    ]
    series = [_daily("blind", agreement["blind_by_day"])]
    if agreement["assisted"]["pairs"]:
        series.append(_daily("assisted", agreement["assisted_by_day"]))
    return {
        "reward_annotators": charts.interval_bars(rows, title=title),
        "reward_days": charts.line_chart(
            series,
            title="Agreement with the reward model by day",
            x_labels=day_labels(agreement["days"]),
            y_min=0,
            y_max=1,
        ),
    }


def _charts(summary) -> dict:
    series = summary.series if summary else {}
    labels = day_labels(series.get("days", []))
    return {
        **_reward_charts(series.get("reward_agreement")),
        "throughput": charts.line_chart(
            [_daily("annotations", series.get("annotations", []))],
            title="Annotations per day", x_labels=labels, y_min=0, y_format="{:.0f}",
        ),
        "agreement": charts.line_chart(
            [_daily("pairwise agreement", series.get("agreement", []))],
            title="Item agreement by day", x_labels=labels, y_min=0, y_max=1,
        ),
        "distribution": charts.histogram(
            [tuple(b) for b in series.get("agreement_bins", [])],
            title="Items by pairwise agreement",
        ),
        "rounds": charts.stacked_bars(
            [(f"Round {r['round']}", _round_segments(r)) for r in series.get("rounds", [])],
            title="Progress per round (gold items left out)",
            colours={"complete": "#009E73", "in progress": "#E69F00", "open": "#cccccc"},
        ),
        "wins": charts.interval_bars(
            [_win_row(w) for w in series.get("wins", [])],
            title="Win rate per model (95% interval)",
        ),
    }  # fmt: skip


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
    board = dashboard(project)  # folds waiting deltas once for the whole page
    rows = annotator_table(project, sort=sort, descending=descending, fold=False)
    for row in rows:
        row.sparkline = charts.sparkline(row.trend_counts, title=f"{row.username}: items per day")
    reward = board.summary.series.get("reward_agreement") if board.summary else None
    return render(
        request,
        "annotation/quality_dashboard.html",
        {
            "project": project,
            "board": board,
            "charts": _charts(board.summary),
            "rows": rows,
            "sort": sort,
            "descending": descending,
            "columns": COLUMNS,
            "worst": disagreement_list(project),
            "pairs": annotator_pairs(project, limit=20, fold=False),
            "tags": (board.summary.series.get("tags", []) if board.summary else [])[:30],
            "reward": reward,
            "reward_rows": _reward_rows(reward),
            "can_manage": has_capability(request.user, project, Capability.MANAGE),
            "can_review": has_capability(request.user, project, Capability.REVIEW),
        },
    )


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
    task_send("annotation.quality_refresh", project.pk)
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


@project_view(Capability.REVIEW)
@_refusal_as_page
def review_item_page(request, project, item_id: int):
    view = review_item(project=project, item_id=item_id, reviewer=request.user)
    if view is None:
        raise Http404(f"no item {item_id} in this project")
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
    return {
        "annotation_id": annotation_id,
        "message": exc.message,
        "comment": post.get("comment", ""),
        "ranks": ranks,
        # autofocus scrolls the form into view at the field to fix (the page opens at its top)
        "focus": unranked[0] if exc.extra.get("field") == "ranking" and unranked else "comment",
    }


@require_POST
@project_view(Capability.REVIEW)
@_refusal_as_page
def review_act(request, project, item_id: int, annotation_id: int):
    verdict = request.POST.get("verdict")
    comment = request.POST.get("comment", "")
    view = review_item(project=project, item_id=item_id, reviewer=request.user)
    if view is None:
        raise Http404(f"no item {item_id} in this project")
    try:
        if verdict == "accept":
            review.annotation_review_accept(
                project=project, annotation_id=annotation_id, reviewer=request.user, comment=comment
            )
        elif verdict == "reject":
            review.annotation_review_reject(
                project=project, annotation_id=annotation_id, reviewer=request.user, comment=comment
            )
        elif verdict == "correct":
            review.annotation_review_correct(
                project=project,
                annotation_id=annotation_id,
                reviewer=request.user,
                ranking=_ranking_from_post(request.POST, view),
                comment=comment,
            )
        else:
            raise ApplicationError("verdict: accept, reject or correct")
    except ApplicationError as exc:
        # A refused verdict keeps what was typed: a redirect would clear the comment and ranks.
        refused = _refused_form(request.POST, view, annotation_id, exc)
        if refused is None:
            messages.error(request, exc.message)
            return redirect("review-item", slug=project.slug, item_id=item_id)
        return _review_item_render(request, project, view, refused=refused, status=exc.status_code)
    messages.success(request, f"Annotation {annotation_id}: {verdict}ed.")
    after = review_item(project=project, item_id=item_id, reviewer=request.user)
    still_waiting = after is not None and any(entry.reviewable for entry in after.annotations)
    if request.POST.get("then") == "next" and not still_waiting:
        following = next_review_item_id(project=project, reviewer=request.user, after=item_id)
        if following:
            return redirect("review-item", slug=project.slug, item_id=following)
        return redirect("review-queue", slug=project.slug)
    return redirect("review-item", slug=project.slug, item_id=item_id)


@require_POST
@project_view(Capability.MANAGE)
@_refusal_as_page
def item_gold(request, project, item_id: int):
    view = review_item(project=project, item_id=item_id, reviewer=request.user)
    if view is None:
        raise Http404(f"no item {item_id} in this project")
    try:
        if request.POST.get("action") == "unmark":
            gold.item_gold_unmark(project=project, item_id=item_id)
            messages.success(request, "The item is an ordinary item again.")
        else:
            gold.item_gold_mark(
                project=project, item_id=item_id, ranking=_ranking_from_post(request.POST, view)
            )
            messages.success(request, "Marked as gold with that ranking.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("review-item", args=[project.slug, item_id]))


@project_view(Capability.MANAGE)
def guideline_flag(request, project):
    labels = list(project.tag_labels.values_list("name", flat=True))
    if request.method == "POST":
        chosen = [name for name in request.POST.getlist("labels") if name]
        try:
            count, items = guideline_flags.guideline_flag_superseded(
                project=project, action=request.POST.get("action", ""), label_names=chosen
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            if items:
                task_send_on_commit("annotation.items_quality_refresh", items)
            messages.success(request, f"{count} annotation{'s' if count != 1 else ''} flagged.")
            return redirect("guideline-flag", slug=project.slug)
    return render(
        request,
        "annotation/guideline_flag.html",
        {
            "project": project,
            "labels": labels,
            "current": guideline_current(project),
            "superseded": guideline_flags.superseded_annotations(project=project).count(),
        },
    )
