"""Prompt writing, the response queue and own history through /api/v1/."""

import pytest
from rest_framework.test import APIClient

from annotation.models import Annotation, AnnotationRevision
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from tests.factories import add_member, make_items, make_project


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def project(db):
    return make_project(
        slug="authoring", prompt_writing=True, response_source="queue", responses_per_item=2,
        prompt_categories=["coding"],
    )  # fmt: skip


def test_a_repeat_is_answered_409_with_the_matches(project):
    author = client_for(add_member(project))
    body = {"messages": [{"role": "user", "content": "Sort a list of tuples by the second item."}],
            "category": "coding", "client_token": "a1"}  # fmt: skip
    created = author.post(f"/api/v1/projects/{project.slug}/prompts/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "needs_responses"
    # a retry with the same token is answered 200 with the same prompt
    retried = author.post(f"/api/v1/projects/{project.slug}/prompts/", body, format="json")
    assert (retried.status_code, retried.json()["id"]) == (200, created.json()["id"])
    # someone else writing it again is told it is a repeat, with the match
    other = client_for(add_member(project))
    repeat = other.post(
        f"/api/v1/projects/{project.slug}/prompts/", {**body, "client_token": "b1"}, format="json"
    )
    assert repeat.status_code == 409
    assert repeat.json()["duplicates"][0]["prompt_id"] == created.json()["id"]
    check = other.post(
        f"/api/v1/projects/{project.slug}/prompts/duplicates/",
        {"messages": body["messages"]},
        format="json",
    )
    assert check.json()[0]["exact"] is True
    bad = other.post(
        f"/api/v1/projects/{project.slug}/prompts/",
        {"messages": [{"role": "assistant", "content": "x"}]},
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["field"] == "messages[0].role"


def test_the_queue_through_the_api(project):
    author, writer = add_member(project), add_member(project)
    client_for(author).post(
        f"/api/v1/projects/{project.slug}/prompts/",
        {"messages": [{"role": "user", "content": "Name three prime numbers."}],
         "category": "coding"},
        format="json",
    )  # fmt: skip
    api = client_for(writer)
    lease = api.post(f"/api/v1/projects/{project.slug}/write/claim/").json()
    assert lease["prompt"]["messages"][0]["content"] == "Name three prime numbers."
    answer = api.post(
        f"/api/v1/write-assignments/{lease['id']}/submit/",
        {"text": "2, 3 and 5.", "writing": {"text": {"typing_ms": 3000, "keystrokes": 11}}},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["writing"]["text"]["chars"] == 11
    assert api.post(f"/api/v1/projects/{project.slug}/write/claim/").status_code == 204


def test_history_lists_searches_and_revises_own_annotations(db):
    project = make_project(slug="hist")
    annotator = add_member(project)
    make_items(project, 3)
    for _ in range(2):
        lease = assignment_claim(user=annotator, project=project)
        annotation_submit(
            assignment_id=lease.pk, user=annotator,
            payload={"ranking": [[rid] for rid in lease.display_order]},
        )  # fmt: skip
    api = client_for(annotator)
    listed = api.get(f"/api/v1/projects/{project.slug}/annotations/mine/").json()
    assert len(listed) == 2 and listed[0]["id"] > listed[1]["id"]
    target = Annotation.objects.get(pk=listed[1]["id"])
    words = target.item.prompt.text.split()[-1]  # "number N?"
    found = api.get(f"/api/v1/projects/{project.slug}/annotations/mine/", {"q": words}).json()
    assert [entry["id"] for entry in found] == [target.pk]
    revised = api.post(
        f"/api/v1/annotations/{target.pk}/revise/",
        {"ranking": [[rid] for rid in reversed(target.display_order)], "base_revision": 1},
        format="json",
    )
    assert revised.status_code == 200, revised.content
    assert revised.json()["revision"] == 2
    assert revised.json()["revisions"][0]["number"] == 1
    stale = api.post(
        f"/api/v1/annotations/{target.pk}/revise/",
        {"ranking": [[rid] for rid in target.display_order], "base_revision": 1},
        format="json",
    )
    assert stale.status_code == 409 and stale.json()["revision"] == 2
    assert AnnotationRevision.objects.count() == 1
