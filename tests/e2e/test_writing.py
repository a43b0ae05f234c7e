"""Writing in the browser: a two-turn prompt, and three own responses put in order."""

import pytest
from playwright.sync_api import expect

from annotation.models import Annotation, AnnotationKind, Item, Prompt, PromptStatus
from tests.factories import add_member, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# A real paste event with clipboard data, then the text lands as the browser would put it.
PASTE = """(field, text) => {
  const data = new DataTransfer();
  data.setData("text/plain", text);
  field.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true}));
  field.value = text;
  field.dispatchEvent(new Event("input", {bubbles: true}));
}"""


def test_write_a_two_turn_prompt(page, live_server, log_in, page_errors):
    # given a project where annotators write prompts that others answer
    project = make_project(
        slug="prompts", prompt_writing=True, response_source="queue",
        prompt_categories=["coding", "advice"], prompt_target=4,
    )  # fmt: skip
    add_member(project, username="writer")
    log_in("writer")
    page.goto(f"{live_server.url}/p/prompts/write/")
    expect(page.locator("[data-write-progress]")).to_contain_text("You wrote 0 of 4")

    # when the writer types a first turn, adds an assistant reply and a follow-up
    page.get_by_label("Category").select_option("coding")
    turns = page.locator("[data-turn]")
    turns.nth(0).click()
    page.keyboard.type("How do I read a file line by line in Python?")
    page.get_by_role("button", name="Add an assistant reply and a user follow-up").click()
    expect(turns).to_have_count(3)
    expect(page.locator("[data-role]").nth(1)).to_have_text("assistant")
    turns.nth(1).click()
    page.keyboard.type("Use a with-block and iterate over the file object.")
    turns.nth(2).click()
    page.keyboard.type("And how do I skip blank lines?")
    page.get_by_role("button", name="Save prompt").click()

    # then the page confirms and the prompt is stored as three alternating turns
    expect(page.locator(".messages")).to_contain_text("saved")
    expect(page.locator("[data-write-progress]")).to_contain_text("You wrote 1 of 4")
    prompt = Prompt.objects.get()
    assert [(m["role"], m["content"]) for m in prompt.messages] == [
        ("user", "How do I read a file line by line in Python?"),
        ("assistant", "Use a with-block and iterate over the file object."),
        ("user", "And how do I skip blank lines?"),
    ]
    assert prompt.category == "coding" and prompt.status == PromptStatus.NEEDS_RESPONSES
    # and the typing was measured per turn: typed, not pasted
    figures = prompt.writing["messages[2]"]
    assert figures["keystrokes"] == len("And how do I skip blank lines?")
    assert figures["paste_events"] == 0 and not prompt.mostly_pasted

    # when a question someone already asked is written again, the page flags it before saving
    from annotation.authoring.services.prompts import prompt_write

    asked = "What is the capital of Australia, and why is it not Sydney?"
    other = add_member(project, username="other")
    prompt_write(project=project, user=other, category="advice",
                 messages=[{"role": "user", "content": asked}])  # fmt: skip
    expect(page.locator("[data-remove-turns]")).to_be_hidden()
    page.locator("[data-turn]").nth(0).fill(
        "what is the capital of Australia and why is it not Sydney"
    )
    expect(page.locator("#duplicates")).to_contain_text("This prompt already exists")
    page.locator("[data-turn]").nth(0).fill(
        "So what is the capital of Australia, and why is it not Sydney?"
    )
    expect(page.locator("#duplicates")).to_contain_text("% similar")
    assert page_errors == []


def test_write_three_responses_and_order_them(page, live_server, log_in, page_errors):
    # given a project where the writer also writes K=3 responses and ranks them
    project = make_project(
        slug="own", prompt_writing=True, response_source="writer", responses_per_item=3,
        overlap=2,
    )  # fmt: skip
    writer = add_member(project, username="writer")
    log_in("writer")
    page.goto(f"{live_server.url}/p/own/write/")
    page.locator("[data-turn]").first.fill("Suggest a name for a grey cat.")
    answers = ["Smokey.", "Ash, after the soft grey of cold wood ash, which is her colour.", "Cat."]
    page.locator("[data-answer='0']").click()
    page.keyboard.type(answers[0])
    page.locator("[data-answer='2']").click()
    page.keyboard.type(answers[2])
    # the second answer is pasted, as a model's output would be
    page.locator("[data-answer='1']").evaluate(PASTE, answers[1])

    # when the writer moves response 2 to the top and response 1 below response 3
    page.get_by_role("button", name="Move response 2 up").click()
    page.get_by_role("button", name="Move response 1 down").click()
    expect(page.locator("[data-order-item]")).to_have_count(3)
    labels = page.locator("[data-order-label]")
    expect(labels.nth(0)).to_contain_text("Ash")
    expect(labels.nth(1)).to_contain_text("Cat.")
    expect(labels.nth(2)).to_contain_text("Smokey")
    page.get_by_role("button", name="Save prompt").click()
    expect(page.locator(".messages")).to_contain_text("saved")

    # then the order is stored as the writer's ranking of the item's responses
    annotation = Annotation.objects.get(user=writer)
    assert annotation.kind == AnnotationKind.WRITER_ORDER
    texts = {r.pk: r.text for r in Item.objects.get().responses.all()}
    assert [[texts[rid] for rid in tier] for tier in annotation.ranking] == [
        [answers[1]],
        [answers[2]],
        [answers[0]],
    ]
    assert page_errors == []
