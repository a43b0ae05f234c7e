"""Prompt writing: validation, duplicate detection, paste flags, and what follows each source."""

import pytest

from annotation.authoring.services.prompts import (
    prompt_duplicates_find,
    prompt_write,
    prompt_write_progress,
)
from annotation.models import (
    Annotation,
    AnnotationKind,
    Assignment,
    AssignmentState,
    Item,
    Prompt,
    PromptBand,
    PromptStatus,
    Response,
)
from annotation.services.claiming import GuidelinesNotAcknowledged, assignment_claim
from common.errors import ApplicationError, ConflictError
from projects.services import guideline_publish, project_update
from tests.factories import add_member, make_items, make_project

TURN = "How do I reverse a linked list in place, without allocating a new list?"


def one_turn(text: str = TURN) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def queue_project(db):
    return make_project(
        slug="write", prompt_writing=True, response_source="queue", responses_per_item=3,
        prompt_categories=["coding", "advice"], prompt_target=5, overlap=2,
    )  # fmt: skip


@pytest.fixture
def writer(queue_project):
    return add_member(queue_project, username="writer")


def test_a_multi_turn_prompt_is_saved_with_its_category_and_waits_for_responses(
    queue_project, writer
):
    # given a two-turn conversation
    messages = [
        {"role": "user", "content": "Write a haiku about rain."},
        {"role": "assistant", "content": "Soft rain on the roof / ..."},
        {"role": "user", "content": "  Now make it about snow.  "},
    ]
    # when the annotator saves it
    written = prompt_write(project=queue_project, user=writer, messages=messages, category="advice")
    # then it is stored stripped, filed, indexed for duplicates, and waits for 3 responses
    prompt = written.prompt
    assert written.created
    assert prompt.messages[-1] == {"role": "user", "content": "Now make it about snow."}
    assert (prompt.category, prompt.author, prompt.source) == ("advice", writer, "written")
    assert prompt.status == PromptStatus.NEEDS_RESPONSES and prompt.open_write_slots == 3
    assert PromptBand.objects.filter(prompt=prompt).count() == 16
    assert not Item.objects.exists()
    assert prompt_write_progress(project=queue_project, user=writer) == {"written": 1, "target": 5}


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ([], "non-empty list"),
        ([{"role": "assistant", "content": "hi"}], "must be 'user'"),
        ([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], "last turn"),
        ([{"role": "user", "content": "   "}], r"messages\[0\]: must not be empty"),
        ([{"role": "user", "content": "x" * 20_001}], "at most 20,000"),
        ([{"role": "user", "content": 3}], "must be text"),
    ],
)
def test_bad_conversations_are_refused_naming_the_turn(queue_project, writer, messages, message):
    with pytest.raises(ApplicationError, match=message):
        prompt_write(project=queue_project, user=writer, messages=messages, category="coding")
    assert not Prompt.objects.exists()


def test_the_category_must_be_one_of_the_projects(queue_project, writer):
    with pytest.raises(ApplicationError, match="category: must be one of coding, advice"):
        prompt_write(project=queue_project, user=writer, messages=one_turn(), category="poetry")


def test_exact_repeats_are_refused_even_of_imported_prompts(queue_project, writer):
    # given an imported prompt (it has an exact key but no band keys)
    from annotation.dedup import exact_key

    imported = Prompt.objects.create(
        project=queue_project, messages=one_turn(TURN), dedup_key=exact_key(one_turn(TURN))
    )
    # when someone writes the same text with other case, spacing and punctuation
    variant = "how do I reverse a LINKED list in place without allocating a new list"
    with pytest.raises(
        ConflictError, match=rf"already in the project \(prompt {imported.pk};"
    ) as caught:
        prompt_write(
            project=queue_project, user=writer, messages=one_turn(variant), category="coding"
        )
    # then nothing is saved and the match is described for the page
    assert caught.value.extra["duplicates"][0]["exact"] is True
    assert Prompt.objects.count() == 1


def test_near_repeats_are_flagged_then_saved_on_request(queue_project, writer):
    first = prompt_write(
        project=queue_project, user=writer, messages=one_turn(), category="coding"
    ).prompt
    near = TURN.replace("How do I", "How can I")
    # when a near repeat is written, it is flagged before anything is saved
    matches = prompt_duplicates_find(project=queue_project, messages=one_turn(near))
    assert [m.prompt_id for m in matches] == [first.pk] and not matches[0].exact
    assert 0.8 <= matches[0].similarity < 1
    other = add_member(queue_project, username="other")
    with pytest.raises(ConflictError, match="similar to prompt"):
        prompt_write(project=queue_project, user=other, messages=one_turn(near), category="coding")
    # then the writer may save it anyway, and the match is recorded with it
    saved = prompt_write(
        project=queue_project, user=other, messages=one_turn(near), category="coding",
        allow_near_duplicate=True,
    ).prompt  # fmt: skip
    assert saved.metadata["near_duplicates"][0]["prompt_id"] == first.pk
    # and unrelated prompts are not flagged
    unrelated = one_turn("What is a good gift for a friend who loves hiking?")
    assert prompt_duplicates_find(project=queue_project, messages=unrelated) == []


def test_duplicates_are_per_project(queue_project, writer):
    prompt_write(project=queue_project, user=writer, messages=one_turn(), category="coding")
    other = make_project(slug="other", prompt_writing=True, response_source="queue")
    assert prompt_duplicates_find(project=other, messages=one_turn()) == []


def test_paste_instrumentation_flags_mostly_pasted_text(queue_project, writer):
    long_turn = "Explain, step by step, how a hash map resolves collisions with open addressing."
    writing = {"messages[0]": {"typing_ms": 900, "keystrokes": 4, "paste_events": 1,
                               "pasted_chars": len(long_turn) - 4}}  # fmt: skip
    prompt = prompt_write(
        project=queue_project, user=writer, messages=one_turn(long_turn), category="coding",
        writing=writing,
    ).prompt  # fmt: skip
    assert prompt.mostly_pasted
    figures = prompt.writing["messages[0]"]
    assert figures["chars"] == len(long_turn) and figures["mostly_pasted"] is True
    # typed text is not flagged, and figures for unknown fields are refused
    typed = {"messages[0]": {"typing_ms": 40_000, "keystrokes": 120, "paste_events": 0}}
    other = prompt_write(
        project=queue_project, user=writer, messages=one_turn("A typed question about sorting?"),
        category="coding", writing=typed,
    ).prompt  # fmt: skip
    assert not other.mostly_pasted and other.writing["messages[0]"]["pasted_chars"] == 0
    with pytest.raises(ApplicationError, match="fields that were not sent"):
        prompt_write(
            project=queue_project, user=writer, messages=one_turn("Third question?"),
            category="coding", writing={"messages[4]": {}},
        )  # fmt: skip
    with pytest.raises(ApplicationError, match=r"messages\[0\]\.pasted_chars"):
        prompt_write(
            project=queue_project, user=writer, messages=one_turn("Fourth question?"),
            category="coding", writing={"messages[0]": {"pasted_chars": -1}},
        )  # fmt: skip


def test_a_retried_save_returns_the_same_prompt(queue_project, writer):
    kwargs = {
        "project": queue_project,
        "user": writer,
        "messages": one_turn(),
        "category": "coding",
    }
    first = prompt_write(**kwargs, client_token="tok-1")
    again = prompt_write(**kwargs, client_token="tok-1")
    assert first.created and not again.created and again.prompt.pk == first.prompt.pk
    assert Prompt.objects.count() == 1


def test_writing_needs_the_setting_and_acknowledged_guidelines(queue_project, writer, manager):
    guideline_publish(project=queue_project, author=queue_project.created_by, body="v2")
    with pytest.raises(GuidelinesNotAcknowledged):
        prompt_write(project=queue_project, user=writer, messages=one_turn(), category="coding")
    plain = make_project(slug="plain")
    member = add_member(plain)
    with pytest.raises(ConflictError, match="does not take written prompts"):
        prompt_write(project=plain, user=member, messages=one_turn())


@pytest.fixture
def writer_project(db):
    return make_project(
        slug="own", prompt_writing=True, response_source="writer", responses_per_item=3,
        overlap=2, ties_allowed=True,
    )  # fmt: skip


def test_the_writers_order_of_their_own_responses_is_stored_as_their_ranking(writer_project):
    # given a writer who writes three responses and orders them: second best, first, third
    writer = add_member(writer_project, username="writer")
    texts = ["A careful, correct answer.", "A better answer with an example.", "A terse reply."]
    written = prompt_write(
        project=writer_project, user=writer, messages=one_turn(),
        responses=[{"text": t} for t in texts], ranking=[[1], [0], [2]], time_spent_ms=61_000,
    ).prompt  # fmt: skip
    # then the prompt is an item whose writer's annotation ranks the responses in that order
    item = Item.objects.get(prompt=written)
    annotation = Annotation.objects.get(item=item)
    by_text = {r.text: r.pk for r in Response.objects.filter(prompt=written)}
    assert annotation.kind == AnnotationKind.WRITER_ORDER and annotation.user == writer
    assert annotation.ranking == [[by_text[texts[1]]], [by_text[texts[0]]], [by_text[texts[2]]]]
    assert annotation.display_order == [by_text[t] for t in texts]
    assert annotation.time_spent_ms == 61_000
    assert annotation.assignment.state == AssignmentState.SUBMITTED
    assert all(r.origin == "writer" and r.author == writer for r in Response.objects.all())
    # and the writer's annotation counts toward the overlap: one more annotator, not the writer
    assert (item.submitted_count, item.open_slots) == (1, 1)
    assert assignment_claim(user=writer, project=writer_project) is None
    other = add_member(writer_project)
    assert assignment_claim(user=other, project=writer_project).item_id == item.pk


def test_writer_responses_must_be_k_distinct_texts(writer_project):
    writer = add_member(writer_project)
    with pytest.raises(ApplicationError, match="write exactly 3 responses"):
        prompt_write(project=writer_project, user=writer, messages=one_turn(), responses=["a"])
    with pytest.raises(ApplicationError, match="say the same thing"):
        prompt_write(
            project=writer_project, user=writer, messages=one_turn(),
            responses=["Same answer.", "same   answer", "Other."],
        )  # fmt: skip
    with pytest.raises(ApplicationError, match="unranked responses"):
        prompt_write(
            project=writer_project, user=writer, messages=one_turn(),
            responses=["One.", "Two.", "Three."], ranking=[[0], [1]],
        )  # fmt: skip
    assert not Prompt.objects.exists() and not Assignment.objects.exists()


def test_generated_source_waits_for_the_loops_generators(db, django_capture_on_commit_callbacks):
    # given
    project = make_project(slug="gen", prompt_writing=True, response_source="model")
    writer = add_member(project)

    # when
    with django_capture_on_commit_callbacks() as sent:
        prompt = prompt_write(project=project, user=writer, messages=one_turn()).prompt

    # then: it waits, and the loop (a layer above) is asked by task name once it commits;
    # tests/training/test_written_prompts.py follows it to its item
    assert prompt.status == PromptStatus.NEEDS_GENERATION
    assert len(sent) == 1
    assert not Response.objects.exists() and not Item.objects.exists()


def test_projects_cannot_turn_on_writing_without_a_response_source(db):
    project = make_project(slug="src")
    with pytest.raises(ApplicationError, match="Response source must say who answers"):
        project_update(project=project, prompt_writing=True)
    project = project_update(
        project=project, prompt_writing=True, response_source="queue",
        prompt_categories=["  coding ", "Coding", "", "advice"],
    )  # fmt: skip
    assert project.prompt_categories == ["coding", "advice"]
    make_items(project, 1)
