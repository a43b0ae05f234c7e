"""The quality pages in a browser: the manager's dashboard and its charts, the review queue."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from annotation.models import (
    Annotation,
    AnnotationKind,
    AnnotationStatus,
    Item,
    ItemResponse,
    Prompt,
    ReviewState,
)
from annotation.quality.models import Review
from annotation.quality.selectors.review import next_review_item_id
from annotation.quality.services.refresh import project_quality_refresh
from projects.models import Role
from tests.annotation.quality_helpers import annotate_all, by_id, first_shown_first
from tests.factories import add_member, make_items, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HOSTILE = "Which answer is kinder? <img src=x onerror=alert(1)>"
COMMENT = "Ranked by id, not by what the answers say."
CHARTS = {  # chart -> its kind and the header of its data table (the data it shows)
    "Progress per round": ("bar", ["round", "complete", "in progress", "open"]),
    "Annotations per day": ("line", ["day", "annotations"]),
    "Item agreement by day": ("line", ["day", "pairwise agreement"]),
    "Items by pairwise agreement": ("bar", ["pairwise agreement", "items"]),
    "Win rate per model": ("bar", ["model", "win rate"]),
}


def annotated_project(slug: str, items: int):
    """Items with a hostile prompt first, each ranked by two annotators who disagree.

    Every annotation is sampled for review, and the background pass has run, so the
    dashboard has its series.
    """
    project = make_project(slug=slug, responses_per_item=3, overlap=2, review_rate=1.0)
    made = make_items(project, items)
    Prompt.objects.filter(pk=made[0].prompt_id).update(
        messages=[{"role": "user", "content": HOSTILE}]
    )
    alice = add_member(project, Role.ANNOTATOR, "alice")
    bob = add_member(project, Role.ANNOTATOR, "bob")
    annotate_all(project, alice, by_id)
    annotate_all(project, bob, first_shown_first)
    # Half the work moves to yesterday, so every trend (sparklines, throughput) has two days.
    Annotation.objects.filter(item__in=made[: items // 2]).update(
        created_at=timezone.now() - timedelta(days=1)
    )
    project_quality_refresh(project_id=project.pk)
    return project, alice, bob


def watch_dialogs(page: Page) -> list[str]:
    """Messages of any alert() the page opens; a test asserts it stays empty."""
    opened: list[str] = []

    def _record(dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", _record)
    return opened


def assert_drawn(chart: Locator) -> None:
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0, box


def assert_hostile_text_inert(page: Page, where: Locator) -> None:
    expect(where).to_contain_text(HOSTILE)
    expect(page.locator("img[onerror]")).to_have_count(0)


def item_url(live_server, slug: str, item_id: int) -> str:
    return f"{live_server.url}/p/{slug}/review/items/{item_id}/"


def test_dashboard_draws_every_chart_sorts_annotators_and_links_to_review(
    page, live_server, log_in, page_errors
):
    # given eight items two annotators ranked differently, yesterday and today
    project, _, _ = annotated_project("dash", 8)
    dialogs = watch_dialogs(page)
    log_in(project.created_by.username)

    # when the manager opens the dashboard
    page.goto(f"{live_server.url}/p/dash/quality/")

    # then the agreement figures are there and every kind of chart is drawn, with data
    expect(page.locator("[data-agreement]")).to_contain_text("pairwise agreement")
    expect(page.locator("[data-agreement]")).to_contain_text("Krippendorff")
    expect(page.locator("figure.chart .chart-empty")).to_have_count(0)
    expect(page.locator("figure.chart")).to_have_count(len(CHARTS))
    for title, (kind, columns) in CHARTS.items():
        chart = page.locator("figure.chart", has=page.locator("figcaption", has_text=title))
        expect(chart).to_have_attribute("data-chart-kind", kind)
        assert_drawn(chart.locator(".chart-plot canvas"))
        expect(chart.locator("thead th")).to_have_text(columns)
        expect(chart.locator("tbody tr").first).to_be_attached()
    csv_link = page.get_by_role("link", name="Annotator table (CSV)")
    expect(csv_link).to_have_attribute("href", "/p/dash/quality/annotators.csv")
    exported = page.request.get(live_server.url + csv_link.get_attribute("href")).text()
    assert [line.split(",")[0] for line in exported.splitlines()] == ["username", "alice", "bob"]
    # and each annotator has a row with a sparkline of their items per day
    table = page.locator("[data-annotator-table]")
    names = table.locator("tbody tr[data-user] td:first-child")
    expect(names).to_have_count(2)
    for username in ("alice", "bob"):
        sparkline = table.locator(f'tr[data-user="{username}"] svg.chart.chart-sparkline')
        assert_drawn(sparkline)
        expect(sparkline.locator("path")).to_have_count(1)
        expect(sparkline).to_have_attribute("aria-label", re.compile(f"^{username}: items"))

    # when the manager sorts by annotator, then again the other way
    header = table.locator("thead").get_by_role("link", name="Annotator")
    # aria-sort belongs on the header cell, not on its link
    column = table.locator("thead th", has=page.get_by_role("link", name="Annotator"))
    header.click()

    # then the rows follow the names, A to Z, then Z to A
    expect(page).to_have_url(re.compile(r"\?sort=username&dir=asc#annotators$"))
    expect(column).to_have_attribute("aria-sort", "ascending")
    expect(names).to_have_text(["alice", "bob"])
    header.click()
    expect(page).to_have_url(re.compile(r"\?sort=username&dir=desc#annotators$"))
    expect(column).to_have_attribute("aria-sort", "descending")
    expect(names).to_have_text(["bob", "alice"])

    # and the disagreement list shows the hostile prompt as text and links to review
    disagreement = page.locator("[data-disagreement]")
    assert_hostile_text_inert(page, disagreement)
    link = disagreement.locator("tbody a").first
    item_id = int(link.inner_text().removeprefix("#"))
    link.click()
    expect(page).to_have_url(item_url(live_server, "dash", item_id))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Item #{item_id}")
    cards = page.locator("article[data-annotation]")
    expect(cards.locator("h3")).to_contain_text(["alice", "bob"])
    expect(cards.locator("[data-ranking]")).to_have_count(2)
    assert dialogs == []
    assert page_errors == []


def test_a_reviewer_rejects_accepts_and_corrects_from_the_queue(
    page, live_server, log_in, page_errors
):
    # given three items ranked by two annotators, and a reviewer who annotated nothing
    project, alice, bob = annotated_project("rq", 3)
    reviewer = add_member(project, Role.REVIEWER, "rev")
    dialogs = watch_dialogs(page)
    log_in("rev")

    # when the reviewer opens the queue and starts reviewing
    page.goto(f"{live_server.url}/p/rq/review/")
    queue = page.locator("[data-review-queue] tbody tr[data-item]")
    expect(queue).to_have_count(3)
    assert_hostile_text_inert(page, page.locator("[data-review-queue]"))
    first = int(queue.first.get_attribute("data-item"))
    page.get_by_role("link", name="Start reviewing").click()

    # then the first item in the queue shows both annotations side by side
    expect(page).to_have_url(item_url(live_server, "rq", first))
    cards = page.locator("article[data-annotation]")
    expect(cards.locator("h3")).to_contain_text(["alice", "bob"])
    expect(cards.locator("[data-status]")).to_have_text(["Counts", "Counts"])

    # when they reject alice's annotation with a comment
    rejected = Annotation.objects.get(item_id=first, user=alice)
    slots_before = Item.objects.get(pk=first).open_slots
    card = page.locator(f'article[data-annotation="{rejected.pk}"]')
    card.locator("textarea[name=comment]").fill(COMMENT)
    card.get_by_role("button", name="Reject").click()

    # then the page stays on the item: bob's annotation there still waits
    stayed(page, live_server, project, first, f"{rejected.pk}: rejected")

    # when they accept bob's annotation of that item
    accepted = Annotation.objects.get(item_id=first, user=bob)
    page.locator(f'article[data-annotation="{accepted.pk}"]').get_by_role(
        "button", name="Accept"
    ).click()

    # then, nothing left to review there, the next item in the queue opens
    second = moved_on(page, live_server, project, reviewer, first, f"{accepted.pk}: accepted")

    # when they correct alice's annotation of it, ranking C > B > A with the selects
    corrected = Annotation.objects.get(item_id=second, user=alice)
    order = list(
        ItemResponse.objects.filter(item_id=second)
        .order_by("position")
        .values_list("response_id", flat=True)
    )
    card = page.locator(f'article[data-annotation="{corrected.pk}"]')
    for rank, response_id in zip((3, 2, 1), order, strict=True):
        card.locator(f'select[name="rank-{response_id}"]').select_option(str(rank))
    card.get_by_role("button", name="Correct").click()
    stayed(page, live_server, project, second, f"{corrected.pk}: corrected")

    # then the verdicts are stored, each by the reviewer
    verdicts = Review.objects.filter(reviewer=reviewer).values_list(
        "annotation_id", "verdict", "comment"
    )
    assert sorted(verdicts) == sorted(
        [
            (rejected.pk, "rejected", COMMENT),
            (accepted.pk, "accepted", ""),
            (corrected.pk, "corrected", ""),
        ]
    )
    # and the rejected annotation stops counting and its item reopens for one more
    rejected.refresh_from_db()
    assert (rejected.status, rejected.review_state) == (AnnotationStatus.REJECTED, "done")
    assert Item.objects.get(pk=first).open_slots == slots_before + 1
    accepted.refresh_from_db()
    assert (accepted.status, accepted.review_state) == (AnnotationStatus.ACTIVE, "done")
    # and the correction is the reviewer's own annotation, with the original kept whole
    correction = Annotation.objects.get(item_id=second, kind=AnnotationKind.REVIEW_CORRECTION)
    assert correction.user == reviewer
    assert correction.ranking == [[rid] for rid in reversed(order)]
    assert Review.objects.get(annotation=corrected).correction == correction
    original_ranking = corrected.ranking
    corrected.refresh_from_db()
    assert corrected.status == AnnotationStatus.CORRECTED
    assert corrected.ranking == original_ranking

    # and the first item left the queue; the second waits on bob, the third on both
    page.goto(f"{live_server.url}/p/rq/review/")
    expect(queue).to_have_count(2)
    waiting = dict(
        zip(
            [int(i) for i in queue.evaluate_all("rows => rows.map(r => r.dataset.item)")],
            queue.locator("td:nth-child(3)").all_inner_texts(),
            strict=True,
        )
    )
    assert waiting[second] == "1" and len(waiting) == 2 and first not in waiting
    # and the first item shows the verdict and its comment on alice's annotation
    page.goto(item_url(live_server, "rq", first))
    card = page.locator(f'article[data-annotation="{rejected.pk}"]')
    expect(card.locator("[data-status]")).to_have_text("Rejected in review")
    expect(card).to_contain_text(f"Rejected by rev: “{COMMENT}”")
    expect(card.locator("form")).to_have_count(0)
    # and the hostile prompt's item shows it as text
    hostile = Item.objects.filter(project=project).order_by("pk").first()
    page.goto(item_url(live_server, "rq", hostile.pk))
    assert_hostile_text_inert(page, page.locator("main section.card").first)
    assert dialogs == []
    assert page_errors == []


def stayed(page: Page, live_server, project, acted_on: int, verdict: str) -> None:
    """Wait until the review POST has answered and the same item is shown again."""
    expect(page.locator(".messages")).to_contain_text(f"Annotation {verdict}.")
    expect(page).to_have_url(item_url(live_server, project.slug, acted_on))


def moved_on(page: Page, live_server, project, reviewer, acted_on: int, verdict: str) -> int:
    """Wait until the review POST on ``acted_on`` has answered; returns the item shown next.

    The view sends the reviewer to ``next_review_item_id(after=acted_on)``: by the time the
    new page is there, the database holds what the view saw, so the same read gives the item.
    """
    page.wait_for_url(
        lambda url: "/review/" in url and not url.endswith(f"/items/{acted_on}/"),
    )
    expect(page.locator(".messages")).to_contain_text(f"Annotation {verdict}.")
    following = next_review_item_id(project=project, reviewer=reviewer, after=acted_on)
    assert following is not None
    expect(page).to_have_url(item_url(live_server, project.slug, following))
    return following


def test_a_reviewer_never_sees_items_they_annotated(page, live_server, log_in, page_errors):
    # given a reviewer who ranked one of three items, next to two annotators
    project = make_project(slug="own", responses_per_item=3, overlap=2, review_rate=1.0)
    items = make_items(project, 3)
    alice = add_member(project, Role.ANNOTATOR, "alice")
    reviewer = add_member(project, Role.REVIEWER, "rev")
    annotate_all(project, alice, by_id)
    (own,) = annotate_all(project, reviewer, first_shown_first, limit=1)
    bob = add_member(project, Role.ANNOTATOR, "bob")
    annotate_all(project, bob, first_shown_first)
    assert Annotation.objects.filter(
        item_id=own.item_id, user=alice, review_state=ReviewState.PENDING
    ).exists()
    log_in("rev")

    # when the reviewer opens their queue
    page.goto(f"{live_server.url}/p/own/review/")

    # then only the two items they did not annotate wait there
    others = sorted(item.pk for item in items if item.pk != own.item_id)
    rows = page.locator("[data-review-queue] tbody tr[data-item]")
    expect(rows).to_have_count(2)
    assert sorted(int(i) for i in rows.evaluate_all("rs => rs.map(r => r.dataset.item)")) == others

    # and their own item, opened by address, is refused with the reason, showing nobody's work
    opened = page.goto(item_url(live_server, "own", own.item_id))
    assert opened.status == 403
    expect(page.locator("main")).to_contain_text("you annotated this item; someone else reviews it")
    expect(page.locator("article[data-annotation]")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("alice")

    # and a hand-made POST on alice's annotation there is refused
    theirs = Annotation.objects.get(item_id=own.item_id, user=alice)
    answer = page.request.post(
        f"{live_server.url}/p/own/review/items/{own.item_id}/annotations/{theirs.pk}/accept/",
        headers={"X-CSRFToken": csrf_token(page)},
    )
    assert answer.status == 403 and "someone else reviews it" in answer.text()
    assert not Review.objects.exists()
    theirs.refresh_from_db()
    assert theirs.review_state == ReviewState.PENDING
    assert page_errors == []


def csrf_token(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
