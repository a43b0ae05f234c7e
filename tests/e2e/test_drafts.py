"""Typed work is never lost: drafts of prompts, rationales and rewrites survive a redirect,
a reload or a failed save, and are dropped once the server has stored the work."""

import re

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Annotation, Prompt, Response
from projects.models import Role
from projects.services import guideline_publish
from tests.e2e.ranking_page import RankingPage
from tests.factories import add_member, make_items, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DRAFT_KEYS_JS = "() => Object.keys(localStorage).filter(k => k.startsWith('preflab:draft:')).sort()"


def acknowledge(page: Page, base_url: str, slug: str, back_to: str) -> None:
    """On the guidelines page the writer was sent to: acknowledge, and land back."""
    expect(page).to_have_url(re.compile(rf"/p/{slug}/guidelines/\?next={back_to}$"))
    page.locator("#acknowledge").click()
    expect(page).to_have_url(f"{base_url}{back_to}")


def test_the_writing_page_asks_for_the_guidelines_and_keeps_the_draft(
    page, live_server, log_in, page_errors
):
    # given a writing project and a writer who has not acknowledged its guidelines
    project = make_project(slug="drafts", prompt_writing=True, response_source="queue",
                           prompt_categories=["coding", "advice"])  # fmt: skip
    add_member(project, username="writer", ack=False)
    log_in("writer")

    # when the writer opens the writing page, the guidelines come first, before any typing
    page.goto(f"{live_server.url}/p/drafts/write/")
    acknowledge(page, live_server.url, "drafts", "/p/drafts/write/")

    # when they write a two-turn prompt and the page is reloaded
    page.get_by_label("Category").select_option("advice")
    page.locator("[data-turn]").nth(0).fill("How do I keep basil alive indoors?")
    page.get_by_role("button", name="Add an assistant reply and a user follow-up").click()
    page.locator("[data-turn]").nth(1).fill("Give it sun and let the soil dry between waterings.")
    page.locator("[data-turn]").nth(2).fill("And in winter?")
    page.reload()

    # then every turn and the category are back, and the page says so
    turns = page.locator("[data-turn]")
    expect(turns).to_have_count(3)
    expect(turns.nth(0)).to_have_value("How do I keep basil alive indoors?")
    expect(turns.nth(2)).to_have_value("And in winter?")
    expect(page.get_by_label("Category")).to_have_value("advice")
    expect(page.locator("[data-draft-note]")).to_be_visible()

    # when new guidelines are published meanwhile, Save sends the writer to read them
    manager = project.memberships.get(role=Role.MANAGER).user
    guideline_publish(project=project, author=manager, body="# Rules\nBe kind.")
    page.get_by_role("button", name="Save prompt").click()
    acknowledge(page, live_server.url, "drafts", "/p/drafts/write/")

    # then back on the writing page nothing typed was lost, and Save now stores it
    expect(turns).to_have_count(3)
    expect(turns.nth(1)).to_have_value("Give it sun and let the soil dry between waterings.")
    assert not Prompt.objects.exists()
    page.get_by_role("button", name="Save prompt").click()
    expect(page.locator(".messages")).to_contain_text("saved")
    assert Prompt.objects.get().messages[2]["content"] == "And in winter?"

    # and the stored draft is gone: a reload shows a blank form, no draft note
    expect(page).to_have_url(f"{live_server.url}/p/drafts/write/")
    assert page.evaluate(DRAFT_KEYS_JS) == []
    page.reload()
    expect(page.locator("[data-turn]")).to_have_count(1)
    expect(page.locator("[data-turn]")).to_have_value("")
    expect(page.locator("[data-draft-note]")).to_be_hidden()
    assert page_errors == []


def test_a_failed_save_keeps_the_draft(page, live_server, log_in, page_errors):
    # given a writer whose prompt is refused by the server (an exact duplicate)
    project = make_project(slug="dup", prompt_writing=True, response_source="queue")
    writer = add_member(project, username="writer")
    log_in("writer")
    page.goto(f"{live_server.url}/p/dup/write/")
    page.locator("[data-turn]").first.fill("Name three rivers in Spain.")
    page.get_by_role("button", name="Save prompt").click()
    expect(page.locator(".messages")).to_contain_text("saved")
    page.locator("[data-turn]").first.fill("Name three rivers in Spain.")
    page.get_by_role("button", name="Save prompt").click()
    expect(page.locator("[data-write-error]")).to_be_visible()

    # when the writer leaves and comes back to the writing page
    page.goto(f"{live_server.url}/p/dup/write/")

    # then what they typed is still there to change
    expect(page.locator("[data-turn]").first).to_have_value("Name three rivers in Spain.")
    assert page.evaluate(DRAFT_KEYS_JS) == [f"preflab:draft:write:dup:{writer.pk}"]
    assert page_errors == []


def test_rationale_and_rewrite_survive_a_reload_until_submitted(
    page, live_server, log_in, page_errors
):
    # given a K=2 rank project with an optional rationale
    project = make_project(slug="keep", responses_per_item=2, ties_allowed=False)
    make_items(project, 3)
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    log_in("ann")
    page.goto(f"{live_server.url}/p/keep/annotate/")
    screen = RankingPage(page)
    screen.ready()
    shown = screen.assignment_id()
    ids = screen.response_ids()
    original = Response.objects.get(pk=ids["B"]).text
    dialog = page.locator("[data-rewrite-dialog]")
    editor = dialog.locator("[data-rewrite-text]")

    # when the annotator writes a rationale, starts a rewrite of B, closes it unkept and reloads
    screen.form.locator("[data-rationale]").fill("A answers the question; B wanders.")
    screen.card("B").locator("[data-improve]").click()
    editor.press("End")
    editor.type(" Shorter.")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.reload()
    screen.ready()

    # then the same item comes back with the rationale, and the rewrite resumes where it was
    assert screen.assignment_id() == shown
    expect(screen.form.locator("[data-rationale]")).to_have_value(
        "A answers the question; B wanders."
    )
    screen.card("B").locator("[data-improve]").click()
    expect(editor).to_have_value(original + " Shorter.")

    # when the rewrite is kept and the page reloaded again, it is still kept
    dialog.locator("[data-rewrite-review]").click()
    dialog.locator("[data-rewrite-keep]").click()
    expect(dialog).to_be_hidden()
    page.reload()
    screen.ready()
    expect(screen.card("B").locator("[data-rewritten]")).to_be_visible()

    # when the item is ranked and submitted
    screen.card("A").focus()
    screen.press("1", "2")
    expect(screen.summary).to_have_text("A > B")
    sent = screen.send()

    # then the rationale and the rewrite are stored, and their drafts dropped
    annotation = Annotation.objects.get(user=annotator, assignment_id=sent)
    assert annotation.rationale == "A answers the question; B wanders."
    assert Response.objects.get(rewrite_of_id=ids["B"]).text == original + " Shorter."
    assert page.evaluate(DRAFT_KEYS_JS) == []
    # and the next item starts with an empty rationale
    expect(screen.form.locator("[data-rationale]")).to_have_value("")
    assert page_errors == []


def test_a_response_being_written_survives_a_reload(page, live_server, log_in, page_errors):
    # given a prompt waiting for others' responses, and a responder on the queue page
    project = make_project(slug="queue", prompt_writing=True, response_source="queue",
                           responses_per_item=2)  # fmt: skip
    from annotation.authoring.services.prompts import prompt_write

    author = add_member(project, username="author")
    prompt_write(project=project, user=author,
                 messages=[{"role": "user", "content": "What rhymes with orange?"}])  # fmt: skip
    add_member(project, username="responder")
    log_in("responder")
    page.goto(f"{live_server.url}/p/queue/write-responses/")
    answer = page.get_by_label("Your response")

    # when they write half an answer and the page reloads
    answer.fill("Almost nothing: 'door hinge' is the usual near rhyme.")
    page.reload()

    # then the answer is back, and saving it stores it and drops the draft
    expect(answer).to_have_value("Almost nothing: 'door hinge' is the usual near rhyme.")
    expect(page.locator("[data-draft-note]")).to_be_visible()
    page.get_by_role("button", name="Save response").click()
    expect(page.locator(".messages")).to_contain_text("Response saved")
    assert Response.objects.filter(text__startswith="Almost nothing").exists()
    assert page.evaluate(DRAFT_KEYS_JS) == []
    assert page_errors == []
