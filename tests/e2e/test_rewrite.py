"""Improve a response: rewrite it, review the diff, keep it, and submit it with the ranking."""

import pytest
from playwright.sync_api import expect

from annotation.models import Annotation, Response
from projects.models import Role
from tests.e2e.ranking_page import RankingPage
from tests.factories import add_member, make_items, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_rewrite_a_response_with_a_diff_before_keeping_it(page, live_server, log_in, page_errors):
    # given a K=2 rank project
    project = make_project(slug="improve", responses_per_item=2, ties_allowed=False)
    make_items(project, 2)
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    log_in("ann")
    page.goto(f"{live_server.url}/p/improve/annotate/")
    screen = RankingPage(page)
    screen.ready()
    ids = screen.response_ids()
    original = Response.objects.get(pk=ids["B"]).text
    dialog = page.locator("[data-rewrite-dialog]")

    # when the annotator opens the editor on B, it holds B's source text
    screen.card("B").locator("[data-improve]").click()
    expect(dialog).to_be_visible()
    editor = dialog.locator("[data-rewrite-text]")
    expect(editor).to_have_value(original)
    # keys typed in the editor do not rank anything
    editor.press("End")
    editor.type(" Now with <b>an example</b> & a source.")
    keep = dialog.locator("[data-rewrite-keep]")
    expect(keep).to_be_disabled()  # not before the changes were seen
    dialog.locator("[data-rewrite-review]").click()
    expect(dialog.locator("[data-diff] ins")).to_contain_text("<b>an example</b> & a source.")
    expect(dialog.locator("[data-diff-summary]")).to_contain_text("0 words removed")
    expect(keep).to_be_enabled()
    keep.click()
    expect(dialog).to_be_hidden()
    expect(screen.card("B").locator("[data-rewritten]")).to_be_visible()

    # and ranks and submits
    screen.press("ArrowUp", "1", "ArrowDown", "2")
    # (the summary proves every key landed before Enter is pressed)
    expect(screen.form.locator("[data-summary]")).to_have_text("A > B")
    sent = screen.send()

    # then the rewrite is stored, linked to B, made in this annotation
    annotation = Annotation.objects.get(user=annotator, assignment_id=sent)
    rewrite = Response.objects.get(rewrite_of_id=ids["B"])
    assert rewrite.text == original + " Now with <b>an example</b> & a source."
    assert (rewrite.annotation, rewrite.author, rewrite.origin) == (
        annotation,
        annotator,
        "rewrite",
    )
    assert rewrite.writing["text"]["keystrokes"] > 0
    # and the next item starts with no rewrite carried over
    expect(page.locator("#current [data-rewritten]:visible")).to_have_count(0)
    assert page_errors == []
