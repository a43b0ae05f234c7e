"""Span tags and response labels on the ranking page: selections become code-point offsets."""

import pytest
from playwright.sync_api import Page, expect

from annotation.models import (
    Annotation,
    Item,
    ItemResponse,
    Prompt,
    Response,
    ResponseLabel,
    SpanTag,
)
from projects.labels.models import LabelKind
from projects.labels.services import tag_label_save
from projects.models import Role
from tests.e2e.ranking_page import RankingPage
from tests.factories import add_member, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MARKDOWN = (
    "Hello 👋 there! The **bold claim** is wrong & here.\n\n"
    "```python\nx = 1 & 2  # bits\nprint(x)\n```\n\n"
    "- first point\n- second *point*\n\n"
    "Family: 👨‍👩‍👧 done."
)
RTL = "مرحبا بالعالم — right-to-left text, see [the docs](https://example.com/docs) for more."
# Quotes, tag-like text and a backslash must reach the page as text, and "\r\n" must
# survive the trip, since offsets count the "\r" too.
PLAIN = 'A plain answer with `inline code`, "quotes", <b>no tags</b> and a \\ backslash.\r\nNext.'


# Selects from the start of `first` to the end of `last` (each inside one text node of the
# response's rendered body), so the test knows exactly which characters were selected.
SELECT_JS = """([response, first, last]) => {
  const body = document.querySelector(`#current article[data-response="${response}"] .body`);
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  const from = nodes.findIndex((node) => node.data.includes(first));
  const startOffset = nodes[from].data.indexOf(first);
  const range = document.createRange();
  range.setStart(nodes[from], startOffset);
  for (let i = from; i < nodes.length; i++) {
    const at = nodes[i].data.indexOf(last, i === from ? startOffset : 0);
    if (at >= 0) { range.setEnd(nodes[i], at + last.length); break; }
  }
  const selection = document.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return selection.toString();
}"""


def make_item(project, texts: list[str], external_id: str) -> Item:
    prompt = Prompt.objects.create(
        project=project,
        external_id=external_id,
        messages=[{"role": "user", "content": "Tag what is wrong and what is good."}],
    )
    item = Item.objects.create(project=project, prompt=prompt, open_slots=project.overlap)
    for position, text in enumerate(texts):
        response = Response.objects.create(prompt=prompt, text=text)
        ItemResponse.objects.create(item=item, response=response, position=position)
    return item


def select(page: Page, response_id: int, first: str, last: str | None = None) -> str:
    return page.evaluate(SELECT_JS, [response_id, first, last or first])


def card_of(page: Page, response_id: int):
    return page.locator(f'#current article[data-response="{response_id}"]')


def stored_spans(annotation) -> set[tuple[int, int, str, str]]:
    texts = dict(Response.objects.values_list("id", "text"))
    return {
        (span.response_id, span.label_id, texts[span.response_id][span.start : span.end], span.note)
        for span in SpanTag.objects.filter(annotation=annotation)
    }


def test_tag_spans_across_markdown_emoji_and_rtl_then_submit(
    page, live_server, log_in, page_errors
):
    # given a K=3 project with two span labels, two response labels and two items whose
    # responses hold markdown, astral and ZWJ emoji, and right-to-left text
    project = make_project(slug="spans", responses_per_item=3, ties_allowed=False)
    error = tag_label_save(project=project, name="factual error", colour="#ff6b6b", hotkey="f")
    good = tag_label_save(
        project=project, name="good reasoning", colour="#4caf50", hotkey="q",
        description="Sound steps worth keeping",
    )  # fmt: skip
    refusal = tag_label_save(project=project, name="refusal", kind=LabelKind.RESPONSE)
    off_topic = tag_label_save(
        project=project, name="off-topic", kind=LabelKind.RESPONSE, hotkey="o"
    )
    for n in range(2):
        make_item(project, [MARKDOWN, RTL, PLAIN], f"span-{n}")
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    log_in("ann")
    page.goto(f"{live_server.url}/p/spans/annotate/")
    screen = RankingPage(page)
    screen.ready()
    ids = {Response.objects.get(pk=pk).text: pk for pk in screen.response_ids().values()}
    md, rtl, plain = ids[MARKDOWN], ids[RTL], ids[PLAIN]
    good_button = screen.form.locator(".tag-toolbar").get_by_role("button", name="good reasoning")
    expect(good_button).to_have_attribute("title", "Sound steps worth keeping")

    # when the annotator tags by key: out of bold text, inside the code block, a ZWJ
    # emoji, Arabic text, across a link, and a span overlapping the first
    wanted = []
    for response, first, last, key, label, source in [
        (md, "claim", "is wrong", "f", error, "claim** is wrong"),
        (md, "x = 1 & 2", None, "q", good, "x = 1 & 2"),
        (md, "👨‍👩‍👧 done", None, "f", error, "👨‍👩‍👧 done"),
        (md, "second", "point", "q", good, "second *point"),
        (rtl, "بالعالم", None, "f", error, "بالعالم"),
        (rtl, "docs", "for more", "q", good, "docs](https://example.com/docs) for more"),
        (md, "bold", "claim", "q", good, "bold claim"),
        (plain, "inline code", None, "f", error, "inline code"),
        (plain, '"quotes"', "backslash", "q", good, '"quotes", <b>no tags</b> and a \\ backslash'),
        (plain, "Next", None, "q", good, "Next"),
    ]:
        select(page, response, first, last)
        screen.press(key)
        wanted.append((response, label.pk, source, ""))
        expect(card_of(page, response).locator("[data-span-entry]")).to_have_count(
            sum(1 for w in wanted if w[0] == response)
        )
    # and by clicking a toolbar button, with an astral emoji in the selection
    assert select(page, md, "👋 there") == "👋 there"
    good_button.click()
    wanted.append((md, good.pk, "👋 there", ""))
    md_card = card_of(page, md)
    expect(md_card.locator("[data-span-entry]")).to_have_count(6)
    expect(md_card.locator("mark.span-mark.overlap")).to_have_text("claim")
    # and clicks a highlight, removes one tag, writes a note and sets two response labels
    md_card.locator("mark", has_text="👋").click()
    expect(md_card.locator("[data-span-entry]", has_text="👋 there")).to_be_focused()
    plain_card = card_of(page, plain)
    plain_card.get_by_role("button", name="Remove factual error tag").click()
    wanted.remove((plain, error.pk, "inline code", ""))
    expect(plain_card.locator("[data-span-entry]")).to_have_count(2)
    expect(plain_card.locator("mark", has_text="inline code")).to_have_count(0)
    note = (
        card_of(page, rtl).locator("[data-span-entry]", has_text="بالعالم").get_by_role("textbox")
    )
    note.fill("the greeting is fine")
    note.press("Enter")  # leaves the note; does not submit
    wanted = [
        (*w[:3], "the greeting is fine") if w[:3] == (rtl, error.pk, "بالعالم") else w
        for w in wanted
    ]
    plain_card.get_by_label("refusal").check()
    card_of(page, rtl).locator("header .letter").click()
    screen.press("o")  # the focused response's label key
    expect(card_of(page, rtl).get_by_label("off-topic")).to_be_checked()
    # and ranks A > B > C and submits
    screen.card("A").locator("header .letter").click()
    screen.press("1", "2", "3")
    expect(screen.summary).to_have_text("A > B > C")
    sent = screen.send()

    # then every stored span is exactly the selected stretch of the source text
    annotation = Annotation.objects.get(user=annotator, assignment_id=sent)
    assert stored_spans(annotation) == set(wanted)
    assert set(ResponseLabel.objects.filter(annotation=annotation).values_list(
        "response_id", "label_id"
    )) == {(plain, refusal.pk), (rtl, off_topic.pk)}  # fmt: skip

    # when the prefetched item swaps in, tagging works there too
    screen.ready()
    swapped = {Response.objects.get(pk=pk).text: pk for pk in screen.response_ids().values()}
    select(page, swapped[MARKDOWN], "claim", "is wrong")
    screen.press("f")
    screen.press("1", "2", "3")
    second = screen.send()

    # then its span is stored against its own response, and nothing went wrong in the page
    annotation = Annotation.objects.get(user=annotator, assignment_id=second)
    assert stored_spans(annotation) == {(swapped[MARKDOWN], error.pk, "claim** is wrong", "")}
    assert page_errors == []


def test_required_tags_block_the_submit_and_name_the_untagged_letters(
    page, live_server, log_in, page_errors
):
    # given a project that needs a tag or label on every response
    project = make_project(slug="must-tag", responses_per_item=3, ties_allowed=False)
    project.require_response_tags = True
    project.save()
    error = tag_label_save(project=project, name="factual error", hotkey="f")
    make_item(project, [MARKDOWN, RTL, PLAIN], "must-0")
    add_member(project, Role.ANNOTATOR, "ann")
    log_in("ann")
    page.goto(f"{live_server.url}/p/must-tag/annotate/")
    screen = RankingPage(page)
    screen.ready()
    expect(screen.form.locator("[data-tags-required]")).to_contain_text("every response")
    shown = screen.response_ids()
    letter = {Response.objects.get(pk=pk).text: key for key, pk in shown.items()}
    pk = {text: shown[key] for text, key in letter.items()}

    # when the tag key is pressed with nothing selected, it tags nothing and ranking works
    screen.press("f", "1", "2", "3")
    expect(screen.form.locator("[data-span-entry]")).to_have_count(0)
    expect(screen.summary).to_have_text("A > B > C")
    # and only the markdown response is tagged before Enter
    select(page, pk[MARKDOWN], "bold")
    screen.press("f")
    screen.press("Enter")

    # then the submit is refused on the page, naming the untagged letters, and nothing is stored
    untagged = sorted([letter[RTL], letter[PLAIN]])
    expect(screen.error).to_have_text(
        f"Tag every response (a span or a label) before submitting; untagged: {', '.join(untagged)}."
    )
    assert not Annotation.objects.exists() and not SpanTag.objects.exists()

    # when the other two are tagged, the submit goes through
    select(page, pk[RTL], "مرحبا")
    screen.press("f")
    select(page, pk[PLAIN], "plain answer")
    screen.press("f")
    screen.send()
    assert SpanTag.objects.filter(label=error).count() == 3
    assert page_errors == []
