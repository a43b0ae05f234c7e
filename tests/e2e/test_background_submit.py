"""The instant swap and its background POST: retried once lost, rolled back when refused."""

import json
import time

import pytest
from playwright.sync_api import Page, Route, expect

from annotation.models import Annotation
from projects.models import Role
from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.ranking_page import RankingPage
from tests.factories import add_member, make_items, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SUBMITS = "**/submit/"


def open_ranking_page(page, live_server, log_in, slug: str) -> RankingPage:
    project = make_project(slug=slug, responses_per_item=2)
    make_items(project, 4)
    add_member(project, Role.ANNOTATOR, "ann")
    log_in("ann")
    page.goto(f"{live_server.url}/p/{slug}/annotate/")
    screen = RankingPage(page)
    screen.ready()
    return screen


def wait_until(page: Page, condition) -> None:
    """Poll a Python-side condition; each wait lets Playwright run the route handlers."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        page.wait_for_timeout(50)


def test_a_lost_answer_is_retried_and_stored_once(page, live_server, log_in, page_errors):
    # given the server stores the first submit but its answer never reaches the browser
    screen = open_ranking_page(page, live_server, log_in, "retry")
    server_statuses: list[int] = []

    def lose_first_answer(route: Route) -> None:
        if server_statuses:
            return route.continue_()
        server_statuses.append(route.fetch().status)
        route.fulfill(status=503, body="")

    page.route(SUBMITS, lose_first_answer)
    ids = screen.response_ids()
    sent = screen.assignment_id()

    # when the annotator submits
    screen.press("2", "1")
    with page.expect_response(lambda r: r.url.endswith(f"/{sent}/submit/") and r.ok):
        screen.press("Enter")
    screen.settled(sent)

    # then the retry (same client token) found the stored judgement instead of adding one
    assert server_statuses == [200]
    (annotation,) = Annotation.objects.filter(assignment_id=sent)
    assert [set(tier) for tier in annotation.ranking] == [{ids["B"]}, {ids["A"]}]
    assert Annotation.objects.count() == 1
    expect(page.locator("#progress-line")).to_contain_text("in all 1")
    assert page_errors == []


def test_a_refused_submit_brings_the_item_back(page, live_server, log_in, page_errors):
    # given submits are held back, unanswered, until the test answers them
    screen = open_ranking_page(page, live_server, log_in, "refused")
    held: list[Route] = []
    page.route(SUBMITS, lambda route: held.append(route))
    first = screen.assignment_id()

    # when the annotator submits, the next item is there at once
    screen.press("1", "2", "Enter")
    expect(screen.form).not_to_have_attribute("data-assignment", str(first))
    second = screen.assignment_id()
    # and submitting it while the first is still in flight says so instead of doing nothing
    screen.press("2", "1", "Enter")
    expect(page.locator("#toast")).to_have_text(
        "Still saving the previous item; press again in a moment."
    )
    expect(screen.form).to_have_attribute("data-assignment", str(second))
    # and when the server refuses the first submit
    wait_until(page, lambda: held)
    refusal = {"error": "conflict", "message": "this item was skipped"}
    held[0].fulfill(status=409, content_type="application/json", body=json.dumps(refusal))

    # then the first item is back with the reason, and the second waits in the prefetch slot
    expect(screen.form).to_have_attribute("data-assignment", str(first))
    expect(screen.error).to_have_text("Not saved: this item was skipped")
    expect(page.locator(f'#prefetch form[data-assignment="{second}"]')).to_have_count(1)
    assert not Annotation.objects.exists()
    # and both go through once the server answers again, each keeping what was entered
    page.unroute(SUBMITS)
    assert screen.send() == first
    assert screen.send() == second
    assert sorted(Annotation.objects.values_list("assignment_id", flat=True)) == [first, second]
    assert page_errors == []
