"""The annotation services read a client_token through the one shared check
(common.tokens.client_token_checked): a token too long for its column, holding NUL or not
a string is refused naming the field, before anything is stored; an empty one is none."""

import pytest

from annotation.authoring.services.prompts import prompt_write
from annotation.authoring.services.response_queue import write_claim, write_submit
from annotation.models import Annotation, Prompt, Response
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from common.errors import ApplicationError
from tests.factories import add_member, make_items, make_project

BAD = ["x" * 65, "abc\x00def", 12]


def _ranked(lease) -> dict:
    return {"ranking": [[rid] for rid in lease.display_order]}


@pytest.fixture
def queue_project(db):
    return make_project(
        slug="tokens-write", prompt_writing=True, response_source="queue", responses_per_item=2,
    )  # fmt: skip


def _refused_naming_the_field(call) -> None:
    with pytest.raises(ApplicationError) as caught:
        call()
    assert caught.value.extra["field"] == "client_token"
    assert caught.value.message.startswith("client_token:")


@pytest.mark.parametrize("token", BAD)
def test_submit_refuses_a_bad_token_naming_it(project, annotator, token):
    # given a leased item
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    # when it is submitted with a bad token, then it is refused and nothing is stored
    _refused_naming_the_field(
        lambda: annotation_submit(
            assignment_id=lease.pk, user=annotator, payload=_ranked(lease), client_token=token
        )
    )
    assert not Annotation.objects.exists()


def test_submit_reads_an_empty_token_as_none(project, annotator):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    annotation, created = annotation_submit(
        assignment_id=lease.pk, user=annotator, payload=_ranked(lease), client_token=""
    )
    assert created and annotation.client_token is None


@pytest.mark.parametrize("token", BAD)
def test_prompt_write_refuses_a_bad_token_naming_it(queue_project, token):
    writer = add_member(queue_project)
    messages = [{"role": "user", "content": "Name three prime numbers."}]
    _refused_naming_the_field(
        lambda: prompt_write(
            project=queue_project, user=writer, messages=messages, client_token=token
        )
    )
    assert not Prompt.objects.exists()


@pytest.mark.parametrize("token", BAD)
def test_write_submit_refuses_a_bad_token_naming_it(queue_project, token):
    # given a prompt another member wrote, leased to a writer
    author, writer = add_member(queue_project), add_member(queue_project)
    messages = [{"role": "user", "content": "Name three prime numbers."}]
    prompt_write(project=queue_project, user=author, messages=messages)
    lease = write_claim(user=writer, project=queue_project)
    # when the answer comes with a bad token, then it is refused and nothing is stored
    _refused_naming_the_field(
        lambda: write_submit(
            assignment_id=lease.pk, user=writer, text="2, 3, 5", client_token=token
        )
    )
    assert not Response.objects.filter(author=writer).exists()


def test_a_retried_prompt_save_returns_the_prompt_and_another_writers_token_does_not(
    queue_project,
):
    # given a prompt saved under a token
    writer, other = add_member(queue_project), add_member(queue_project)
    messages = [{"role": "user", "content": "Why do onions make people cry?"}]
    first = prompt_write(project=queue_project, user=writer, messages=messages, client_token="t")
    # when the same writer retries, then the same prompt comes back
    again = prompt_write(project=queue_project, user=writer, messages=messages, client_token="t")
    assert first.created and not again.created and again.prompt.pk == first.prompt.pk
    # and the same token from another writer is theirs: their save makes a new prompt
    other_messages = [{"role": "user", "content": "How do tides work?"}]
    theirs = prompt_write(
        project=queue_project, user=other, messages=other_messages, client_token="t"
    )
    assert theirs.created and theirs.prompt.pk != first.prompt.pk
    assert Prompt.objects.count() == 2
