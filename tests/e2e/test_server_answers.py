"""What the server answers to a background submit must keep the ranking page working."""

import pytest
from playwright.sync_api import expect

from annotation.models import Annotation
from projects.models import Role
from projects.services import guideline_publish
from tests.e2e.ranking_page import RankingPage
from tests.factories import add_member, make_items, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_ranking_page(page, live_server, log_in, **settings):
    project = make_project(slug="answers", responses_per_item=2, **settings)
    make_items(project, 4)
    add_member(project, Role.ANNOTATOR, "ann")
    log_in("ann")
    page.goto(f"{live_server.url}/p/answers/annotate/")
    screen = RankingPage(page)
    screen.ready()
    return project, screen


def test_guidelines_republished_mid_session_keep_the_stored_submit(page, live_server, log_in):
    # given the annotator is on an item when a manager publishes new guidelines
    project, screen = open_ranking_page(page, live_server, log_in)
    guideline_publish(project=project, author=project.created_by, body="# Rules v2")
    sent = screen.assignment_id()

    # when they submit it
    screen.press("1", "2")
    with page.expect_response(lambda r: r.url.endswith(f"/{sent}/submit/")) as answer:
        screen.press("Enter")

    # then it is stored once and the page does not claim otherwise
    assert Annotation.objects.filter(assignment_id=sent).count() == 1
    assert answer.value.ok, f"the stored submit was answered with HTTP {answer.value.status}"
    expect(page.locator("[data-error]:visible")).to_have_count(0)
    # and the next slot asks them to read the new version
    expect(page.locator("#prefetch [data-guidelines-changed]")).to_have_count(1)


def test_every_item_heartbeats_within_its_lease(page, live_server, log_in):
    # given a project whose leases last one minute (the page renews a third of the way in)
    _, screen = open_ranking_page(page, live_server, log_in, lease_minutes=1)

    # when an item arrives in the answer to a submit
    screen.press("1", "2")
    screen.send()

    # then it renews its lease as often as the items rendered with the page
    triggers = page.locator("#current [hx-trigger], #prefetch [hx-trigger]")
    expect(triggers).to_have_count(2)
    assert triggers.evaluate_all("els => els.map(e => e.getAttribute('hx-trigger'))") == [
        "every 20s",
        "every 20s",
    ]
