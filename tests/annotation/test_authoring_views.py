"""The authoring pages without a browser: forms post, errors show, roles are checked."""

import json

import pytest
from django.test import Client

from annotation.authoring.services.prompts import prompt_write
from annotation.models import Annotation, AnnotationRevision, Prompt, Response
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from projects.models import Role
from tests.factories import add_member, make_items, make_project


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def project(db):
    return make_project(
        slug="pages", prompt_writing=True, response_source="queue", responses_per_item=2,
        prompt_categories=["coding", "advice"], prompt_target=3,
    )  # fmt: skip


def test_the_write_page_saves_a_two_turn_prompt_with_its_figures(project):
    writer = add_member(project, username="writer")
    page = logged_in(writer)
    assert b"You wrote 0 of 3" in page.get("/p/pages/write/").content
    writing = {"messages[0]": {"typing_ms": 2000, "keystrokes": 30},
               "messages[1]": {"paste_events": 1, "pasted_chars": 60},
               "messages[2]": {"typing_ms": 900, "keystrokes": 12}}  # fmt: skip
    response = page.post("/p/pages/write/", {
        "turn": ["What is a closure?", "A function that captures variables " * 2, "Show one in JS."],
        "category": "coding", "writing": json.dumps(writing), "client_token": "page-1",
    })  # fmt: skip
    assert response.status_code == 302
    prompt = Prompt.objects.get()
    assert [m["role"] for m in prompt.messages] == ["user", "assistant", "user"]
    assert prompt.writing["messages[1]"]["mostly_pasted"] and prompt.mostly_pasted
    assert b"You wrote 1 of 3" in page.get("/p/pages/write/").content


def test_the_write_page_asks_for_the_guidelines_before_anything_is_typed(project):
    # given a writer who has not acknowledged the current guidelines
    page = logged_in(add_member(project, username="new", ack=False))
    # when they open the writing page
    response = page.get("/p/pages/write/")
    # then they are sent to the guidelines first, and back here afterwards
    assert response.status_code == 302
    assert response["Location"] == "/p/pages/guidelines/?next=/p/pages/write/"


def test_a_save_names_its_token_so_the_page_drops_that_draft(project):
    page = logged_in(add_member(project))
    response = page.post("/p/pages/write/", {
        "turn": ["Why is the sky blue?"], "category": "advice", "client_token": "draft-7",
    })  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == "/p/pages/write/?saved=draft-7"


def test_a_repeat_shows_the_match_and_keeps_what_was_typed(project):
    author = add_member(project)
    prompt_write(
        project=project, user=author, category="advice",
        messages=[{"role": "user", "content": "How can I sleep better when travelling across time zones?"}],
    )  # fmt: skip
    page = logged_in(add_member(project))
    near = "How can I sleep better when I am travelling across time zones?"
    response = page.post("/p/pages/write/", {"turn": [near], "category": "advice"})
    assert response.status_code == 409
    body = response.content.decode()
    assert "Similar prompts already exist" in body and "save it anyway" in body
    assert near in body  # the typed text is not lost
    saved = page.post(
        "/p/pages/write/", {"turn": [near], "category": "advice", "allow_near_duplicate": "on"}
    )
    assert saved.status_code == 302 and Prompt.objects.count() == 2
    hint = page.post("/p/pages/write/duplicates/", {"turn": [near]})
    assert b"% similar" in hint.content or b"exact repeat" in hint.content


def test_an_exact_repeat_says_in_a_sentence_what_to_do_and_keeps_the_text(project):
    # given a prompt another writer wrote, and one this writer wrote
    other, writer = add_member(project, username="other"), add_member(project, username="me")
    theirs = prompt_write(
        project=project, user=other, category="advice",
        messages=[{"role": "user", "content": "How do I keep basil alive in winter?"}],
    ).prompt  # fmt: skip
    mine = prompt_write(
        project=project, user=writer, category="advice",
        messages=[{"role": "user", "content": "What makes sourdough rise?"}],
    ).prompt  # fmt: skip
    page = logged_in(writer)

    # when the writer saves each again (case and punctuation changed)
    again = "HOW DO I KEEP BASIL ALIVE IN WINTER?!!"
    repeat_of_theirs = page.post("/p/pages/write/", {"turn": [again], "category": "advice"})
    repeat_of_mine = page.post(
        "/p/pages/write/", {"turn": ["what makes sourdough rise"], "category": "advice"}
    )

    # then each answer is a sentence saying what to do, the typed text is back, nothing saved
    assert repeat_of_theirs.status_code == repeat_of_mine.status_code == 409
    error = repeat_of_theirs.content.decode().split("data-write-error>")[1].split("</p>")[0]
    assert error == (
        f"This prompt is already in the project (prompt {theirs.pk}; case, spacing and "
        "punctuation aside). Change it so that it asks something new: a repeat adds nothing "
        "to the data."
    )
    assert f">{again}</textarea>" in repeat_of_theirs.content.decode()
    error = repeat_of_mine.content.decode().split("data-write-error>")[1].split("</p>")[0]
    assert error.startswith(f"You already wrote this prompt (prompt {mine.pk}). Change it")
    assert Prompt.objects.count() == 2


def test_the_write_page_escapes_matched_text(project):
    author = add_member(project)
    evil = "<script>alert(1)</script> what is XSS and how do I prevent it?"
    prompt_write(project=project, user=author, category="coding",
                 messages=[{"role": "user", "content": evil}])  # fmt: skip
    hint = logged_in(add_member(project)).post("/p/pages/write/duplicates/", {"turn": [evil]})
    assert b"<script>alert" not in hint.content and b"&lt;script&gt;" in hint.content


def test_pages_check_the_setting_and_the_role(project):
    plain = make_project(slug="plain")
    member = add_member(plain)
    assert logged_in(member).get("/p/plain/write/").status_code == 404
    assert logged_in(member).get("/p/plain/write-responses/").status_code == 404
    engineer = add_member(project, Role.ENGINEER)
    assert logged_in(engineer).get("/p/pages/write/").status_code == 403
    assert logged_in(add_member(plain)).get("/p/pages/write/").status_code == 404
    annotator = add_member(project)
    assert logged_in(annotator).get("/p/pages/prompts/").status_code == 403
    reviewer = add_member(project, Role.REVIEWER)
    assert logged_in(reviewer).get("/p/pages/prompts/").status_code == 200


def test_reviewers_see_the_paste_flag(project):
    author = add_member(project, username="paster")
    text = "Please explain the difference between TCP and UDP in networking terms."
    prompt_write(
        project=project, user=author, category="coding",
        messages=[{"role": "user", "content": text}],
        writing={"messages[0]": {"paste_events": 1, "pasted_chars": len(text)}},
    )  # fmt: skip
    reviewer = add_member(project, Role.REVIEWER)
    page = logged_in(reviewer).get("/p/pages/prompts/?flagged=1").content.decode()
    assert "mostly pasted" in page and "paster" in page
    # a typed prompt whose response was pasted is listed among the flagged too
    typed = prompt_write(
        project=project, user=author, category="coding",
        messages=[{"role": "user", "content": "Which sorting algorithm is stable?"}],
    ).prompt  # fmt: skip
    Response.objects.create(prompt=typed, text="Merge sort. " * 5, mostly_pasted=True)
    page = logged_in(reviewer).get("/p/pages/prompts/?flagged=1").content.decode()
    assert "Which sorting algorithm is stable?" in page and "data-pasted-responses" in page


def test_the_response_queue_page(project):
    author = add_member(project)
    prompt_write(project=project, user=author, category="coding",
                 messages=[{"role": "user", "content": "Explain **recursion** briefly."}])  # fmt: skip
    writer = logged_in(add_member(project, username="answerer"))
    page = writer.get("/p/pages/write-responses/")
    assert b"<strong>recursion</strong>" in page.content
    lease = page.context["lease"]
    response = writer.post("/p/pages/write-responses/submit/", {
        "assignment": lease.pk, "text": "A function that calls itself on a smaller input.",
        "writing": json.dumps({"text": {"typing_ms": 8000, "keystrokes": 48}}),
    }, follow=True)  # fmt: skip
    assert response.status_code == 200, [str(m) for m in response.wsgi_request._messages]
    assert b"No prompt waits for your response" in response.content
    assert Response.objects.get().author.username == "answerer"


def test_history_lists_searches_and_revises_through_the_form(db):
    project = make_project(slug="hist", ties_allowed=True)
    annotator = add_member(project)
    make_items(project, 2)
    lease = assignment_claim(user=annotator, project=project)
    ids = lease.display_order
    annotation, _ = annotation_submit(
        assignment_id=lease.pk, user=annotator,
        payload={"ranking": [[rid] for rid in ids], "rationale": "quick call"},
    )  # fmt: skip
    page = logged_in(annotator)
    listing = page.get("/p/hist/history/").content.decode()
    assert annotation.item.prompt.text in listing
    assert "Nothing matches" in page.get("/p/hist/history/?q=zebra").content.decode()
    # when the annotator reverses the ranking on the detail page
    form = {f"rank-{rid}": str(len(ids) - n) for n, rid in enumerate(ids)}
    form.update({"base_revision": "1", "rationale": "second look"})
    response = page.post(f"/p/hist/history/{annotation.pk}/", form)
    assert response.status_code == 302
    annotation.refresh_from_db()
    assert annotation.ranking == [[rid] for rid in reversed(ids)]
    assert annotation.revision == 2 and AnnotationRevision.objects.get().content["rationale"] == (
        "quick call"
    )
    detail = page.get(f"/p/hist/history/{annotation.pk}/").content.decode()
    assert "Revision 1" in detail and "Save as revision 3" in detail
    # a stale form (revision 1 again) is refused without a change
    stale = page.post(f"/p/hist/history/{annotation.pk}/", form)
    assert stale.status_code == 400 and "at revision 2, not 1" in stale.content.decode()
    # nobody else can open it
    other = logged_in(add_member(project))
    assert other.get(f"/p/hist/history/{annotation.pk}/").status_code == 404
    assert Annotation.objects.count() == 1


def test_the_rewrite_diff_reads_the_original_from_the_item(db):
    project = make_project(slug="diff")
    annotator = add_member(project)
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    original = Response.objects.get(pk=lease.display_order[0])
    page = logged_in(annotator)
    url = f"/p/diff/annotate/{lease.pk}/diff/"
    shown = page.post(url, {"response": original.pk, "text": original.text + " <b>More</b>."})
    body = shown.content.decode()
    assert "<ins> &lt;b&gt;More&lt;/b&gt;.</ins>" in body and "0 words removed, 1 added" in body
    # another annotator's item, or a response not on the item, is not shown
    assert logged_in(add_member(project)).post(url, {"response": original.pk}).status_code == 404
    assert page.post(url, {"response": 999999, "text": "x"}).status_code == 404
