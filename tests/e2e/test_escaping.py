"""Hostile text in imports and guidelines shows as text and never runs, on every render path."""

import json

import pytest
from playwright.sync_api import Page, expect

from annotation.importing.services import import_job_create_from_path, import_job_run
from common.jobs import JobState
from projects.models import Role
from projects.services import guideline_publish
from tests.e2e.ranking_page import RankingPage
from tests.factories import add_member, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PROMPT = "Explain this page: <script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=2">'
CODE = "print('<b>bold?</b>')"
RESPONSES = [
    f"Look here: {IMG} and carry on.",
    f"Run this:\n\n```python\n{CODE}\n```\n",
    '[click me](javascript:window.__pwned=3) or <a href="javascript:window.__pwned=4">me</a>',
]
GUIDELINE = "# Rules\n\n<script>window.__pwned=5</script>\n\nRank honestly. " + IMG.replace(
    "2", "6"
)
SUMMARY = "<script>window.__pwned=7</script>"


def import_items(project, tmp_path, count: int) -> None:
    """Load the hostile rows through the real import pipeline (parsed and stored by the service)."""
    path = tmp_path / "hostile.jsonl"
    rows = [{"id": f"evil-{n}", "prompt": PROMPT, "responses": RESPONSES} for n in range(count)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    job = import_job_create_from_path(project=project, user=None, path=str(path))
    job = import_job_run(job_id=job.pk)
    assert job.state == JobState.SUCCEEDED, job.message


def settle(page: Page) -> None:
    """Let every fetch (the htmx guidelines load, broken images) finish before checking."""
    page.wait_for_load_state("networkidle")


def assert_nothing_ran(page: Page) -> None:
    assert page.evaluate("() => window.__pwned") is None
    expect(page.locator("main script")).to_have_count(0)
    expect(page.locator("img[onerror]")).to_have_count(0)
    expect(page.locator('a[href^="javascript:" i]')).to_have_count(0)


def assert_item_shows_text(screen: RankingPage) -> None:
    form = screen.form
    expect(form.locator(".prompt")).to_contain_text("<script>window.__pwned=1</script>")
    expect(form.locator(".prompt script")).to_have_count(0)
    expect(form.locator("article.response").filter(has_text=IMG)).to_have_count(1)
    expect(form.locator("article.response img")).to_have_count(0)
    code = form.locator("article.response pre > code")
    expect(code).to_have_count(1)
    expect(code).to_have_text(CODE)
    expect(code.locator("b")).to_have_count(0)
    expect(form.locator("article.response").filter(has_text="click me")).to_have_count(1)


def test_hostile_items_and_guidelines_render_as_text(
    page, live_server, log_in, page_errors, tmp_path
):
    # given a project whose guidelines and three imported items carry scripts and handlers
    project = make_project(slug="esc", guidelines=False, responses_per_item=3)
    guideline_publish(project=project, author=project.created_by, body=GUIDELINE, summary=SUMMARY)
    import_items(project, tmp_path, 3)
    add_member(project, Role.ANNOTATOR, "ann")
    screen = RankingPage(page)
    log_in("ann")

    # when the annotator works through them: the first is rendered with the page, the
    # second was prefetched into it, the third arrives in a background POST's answer
    page.goto(f"{live_server.url}/p/esc/annotate/")
    screen.ready()
    for _ in range(3):
        settle(page)
        # then nothing ran and the text is shown literally
        assert_nothing_ran(page)
        assert_item_shows_text(screen)
        screen.press("1", "2", "3")
        screen.send("Enter", "submit")
    settle(page)
    assert_nothing_ran(page)

    # and the guidelines (dialog loaded by htmx, and their own page) are text too
    screen.press("g")
    dialog = page.locator("#guidelines-dialog")
    expect(dialog).to_contain_text("<script>window.__pwned=5</script>")
    expect(dialog).to_contain_text(SUMMARY)
    page.goto(f"{live_server.url}/p/esc/guidelines/")
    settle(page)
    body = page.locator("#guideline-body")
    expect(body.locator("h1")).to_have_text("Rules")
    expect(body).to_contain_text("<script>window.__pwned=5</script>")
    expect(body).to_contain_text('onerror="window.__pwned=6"')
    expect(body).to_contain_text(SUMMARY)
    assert_nothing_ran(page)
    assert page_errors == []
