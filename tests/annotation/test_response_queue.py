"""The write-a-response queue: distinct writers per prompt, leases, and the item it becomes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.authoring.models import WriteAssignment
from annotation.authoring.services.prompts import prompt_write
from annotation.authoring.services.response_queue import write_claim, write_skip, write_submit
from annotation.models import AssignmentState, Item, Prompt, PromptStatus
from common.errors import ApplicationError, ConflictError, NotFoundError
from tests.factories import add_member, make_project


@pytest.fixture
def project(db):
    return make_project(
        slug="queue", prompt_writing=True, response_source="queue", responses_per_item=2
    )


@pytest.fixture
def author(project):
    return add_member(project, username="author")


@pytest.fixture
def prompt(project, author):
    messages = [{"role": "user", "content": "What should I pack for a week of hiking?"}]
    return prompt_write(project=project, user=author, messages=messages).prompt


def test_each_prompt_gets_k_responses_from_k_different_writers(project, author, prompt):
    first, second, third = (add_member(project) for _ in range(3))
    # the author never answers their own prompt
    assert write_claim(user=author, project=project) is None
    # when two writers claim, each gets the prompt once; a third finds nothing
    lease_a = write_claim(user=first, project=project)
    lease_b = write_claim(user=second, project=project)
    assert lease_a.prompt_id == lease_b.prompt_id == prompt.pk
    assert write_claim(user=third, project=project) is None
    # a refresh returns the live lease instead of a new one
    assert write_claim(user=first, project=project).pk == lease_a.pk
    write_submit(assignment_id=lease_a.pk, user=first, text="Boots, layers, water filter.")
    assert not Item.objects.exists()
    # then the second response completes the prompt into an item for ranking
    write_submit(assignment_id=lease_b.pk, user=second, text="A tent, a stove and a map.")
    prompt.refresh_from_db()
    assert prompt.status == PromptStatus.READY
    item = Item.objects.get(prompt=prompt)
    assert sorted(item.responses.values_list("author__username", flat=True)) == sorted(
        [first.username, second.username]
    )
    assert set(item.responses.values_list("origin", flat=True)) == {"queue"}
    # and a writer never gets the same prompt again
    assert write_claim(user=first, project=project) is None


def test_an_expired_lease_returns_its_slot_and_a_skip_never_comes_back(project, prompt):
    slow, quick, skipper = (add_member(project) for _ in range(3))
    lease = write_claim(user=slow, project=project)
    write_claim(user=quick, project=project)
    WriteAssignment.objects.filter(pk=lease.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    # when someone else claims, the expired slot is reaped and handed on
    taken = write_claim(user=skipper, project=project)
    assert taken.prompt_id == prompt.pk
    assert WriteAssignment.objects.get(pk=lease.pk).state == AssignmentState.EXPIRED
    write_skip(assignment_id=taken.pk, user=skipper, reason="not my topic")
    assert write_claim(user=skipper, project=project) is None
    # the late writer may still submit while a slot is open
    write_submit(assignment_id=lease.pk, user=slow, text="Late, but still useful.")
    assert Prompt.objects.get(pk=prompt.pk).open_write_slots == 0


def test_submits_are_idempotent_validated_and_private(project, prompt):
    writer, stranger = add_member(project), add_member(project)
    lease = write_claim(user=writer, project=project)
    with pytest.raises(NotFoundError):
        write_submit(assignment_id=lease.pk, user=stranger, text="Not mine to answer.")
    with pytest.raises(ApplicationError, match="text: must not be empty"):
        write_submit(assignment_id=lease.pk, user=writer, text="   ")
    first, created = write_submit(
        assignment_id=lease.pk, user=writer, text="Sunscreen.", client_token="t1"
    )
    again, created_again = write_submit(
        assignment_id=lease.pk, user=writer, text="Sunscreen.", client_token="t1"
    )
    assert created and not created_again and again.pk == first.pk
    with pytest.raises(ConflictError, match="already answered"):
        write_submit(assignment_id=lease.pk, user=writer, text="Another answer.")


def test_only_queue_projects_have_a_queue(db):
    project = make_project(slug="own", prompt_writing=True, response_source="writer")
    with pytest.raises(ConflictError, match="no response-writing queue"):
        write_claim(user=add_member(project), project=project)


def test_a_lease_is_submitted_only_through_its_own_projects_page(project, prompt):
    from django.test import Client

    from projects.services import membership_remove

    writer = add_member(project, username="writer")
    lease = write_claim(user=writer, project=project)
    other = make_project(slug="elsewhere", prompt_writing=True, response_source="queue")
    add_member_as = add_member(other, username="writer")  # the same account, member there
    assert add_member_as == writer
    membership_remove(project=project, username="writer")  # left the lease's project
    client = Client()
    client.force_login(writer)
    page = client.post(
        f"/p/{other.slug}/write-responses/submit/",
        {"assignment": str(lease.pk), "text": "An answer."},
        follow=True,
    )
    assert page.status_code == 200 and "no write assignment" in page.content.decode()
    lease.refresh_from_db()
    assert lease.state == AssignmentState.ACTIVE and lease.response_id is None
