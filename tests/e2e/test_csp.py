"""The Content-Security-Policy keeps every page working, and refuses what it should.

Every e2e test fails on a CSP refusal (page_errors); this one walks the pages each role
reaches, with label colours, htmx swaps, charts and the API docs, in one project.
"""

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Annotation, SpanTag
from projects.labels.services import tag_label_save
from projects.models import Role
from tests.annotation.quality_helpers import annotate_all, by_id
from tests.e2e.ranking_page import RankingPage
from tests.factories import add_member, make_items, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def visit(page: Page, url: str) -> None:
    answer = page.goto(url)
    assert answer.status == 200, url
    assert "script-src 'self'" in answer.headers["content-security-policy"], url
    page.wait_for_load_state("networkidle")


def test_every_role_s_pages_run_under_the_policy(page, live_server, log_in, page_errors):
    # given a project with coloured labels, annotations (one with a span tag) to review
    project = make_project(slug="csp", responses_per_item=2, overlap=2, review_rate=1.0)
    label = tag_label_save(project=project, name="error", colour="#ff6b6b", hotkey="f")
    make_items(project, 3)
    alice = add_member(project, Role.ANNOTATOR, "alice")
    (first, *_) = annotate_all(project, alice, by_id)
    SpanTag.objects.create(
        annotation=first, response_id=first.display_order[0], label=label, start=0, end=3
    )
    add_member(project, Role.REVIEWER, "rev")
    add_member(project, Role.ANNOTATOR, "bob")
    base = f"{live_server.url}/p/csp"

    # when the annotator ranks an item and opens their history
    log_in("bob")
    visit(page, f"{base}/annotate/")
    screen = RankingPage(page)
    screen.ready()
    expect(screen.form.locator(".tag-button")).to_have_css("border-color", "rgb(255, 107, 107)")
    screen.press("1", "2")
    screen.settled(screen.send())
    visit(page, f"{base}/history/")
    page.context.clear_cookies()
    log_in("alice")
    visit(page, f"{base}/history/{first.pk}/")
    page.context.clear_cookies()

    # and the reviewer and the manager walk their pages
    log_in("rev")
    visit(page, f"{base}/review/")
    visit(page, f"{base}/review/items/{first.item_id}/")
    page.context.clear_cookies()
    log_in("csp-manager")
    for path in ("/", "/settings/", "/members/", "/labels/", "/quality/", "/guidelines/edit/"):
        visit(page, f"{base}{path}")
    expect(page.locator("#preview h1")).to_have_text("Rules")  # swapped in by htmx on load

    # and anyone opens the API docs
    visit(page, f"{live_server.url}/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("PrefLab API")

    # then nothing was refused and nothing failed
    assert Annotation.objects.filter(user__username="bob").count() == 1
    assert page_errors == []


def test_the_policy_refuses_an_injected_inline_handler(page, live_server, log_in, page_errors):
    # given a page of the site
    make_project(slug="csp2")
    log_in("csp2-manager")
    visit(page, f"{live_server.url}/p/csp2/")

    # when markup with an inline event handler and an inline script reaches the page
    page.evaluate(
        """() => {
          document.body.insertAdjacentHTML("beforeend", '<img src="/static/favicon.svg" onload="window.ran = 1">');
          const script = document.createElement("script");
          script.textContent = "window.ran = 2";
          document.body.append(script);
        }"""
    )
    page.wait_for_timeout(300)

    # then neither ran, and the refusals were reported
    assert page.evaluate("() => window.ran") is None
    assert len(page_errors) >= 2 and all("Content Security Policy" in e for e in page_errors)
