"""A manager's eleven project sections scroll sideways on a phone: the page opens with the
current section in view (static/js/nav.js), without moving the page itself."""

import pytest
from playwright.sync_api import Page, expect

from tests.factories import make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_on_a_phone_the_current_section_is_in_view_and_the_page_unscrolled(
    page: Page, live_server, log_in, page_errors
):
    # given a manager with a phone, on a project whose name is too long for 40% of the screen
    project = make_project(slug="rank-assistant-replies")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(project.created_by.username)

    # when they open the runs page (a section far right in the row)
    page.goto(f"{live_server.url}/p/{project.slug}/runs/")
    current = page.locator(".crumbs .sections a[aria-current=page]")
    expect(current).to_have_text("Runs")

    # then the Runs link is on the screen, the nav scrolled to it, the page not moved
    expect(current).to_be_in_viewport(ratio=1)
    box = current.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate("document.querySelector('.crumbs .sections').scrollLeft") > 0
    # and the project's name is shown whole
    name = page.locator(".crumbs .project-name")
    assert name.evaluate("n => n.scrollWidth <= n.clientWidth")
    assert page_errors == []
