"""The annotate loop's SQL statements, pinned: a feature that adds one to the hot path fails
here instead of slowing every annotator silently (issue 22).

Each request runs as an API client does, token in the header, after one warm-up request
(the token's user is then in the cache, and the claim's lease reaper has just run).
Transaction control counts: under the test's own transaction ``BEGIN``/``COMMIT`` are a
savepoint and its release, two statements either way. PostgreSQL only: SQLite takes the
general path, which is allowed more.
"""

import json
import re
import uuid

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.models import Annotation, Item
from tests.factories import add_member, make_items, make_project

CLAIM_MAX = 4
SUBMIT_MAX = 6
SUBMIT_AND_NEXT_MAX = 9
HEARTBEAT_MAX = 4
# A retry reads back the stored annotation and its tags instead of writing one.
RETRIED_SUBMIT_MAX = 7
# The page's submit: its session and user (a login, not a token), the project, the submit,
# the claim, and the fragment's progress line, tag sets and rubric.
PAGE_SUBMIT_MAX = 17

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason=(
        "the budgets pin PostgreSQL's statements; on SQLite (embedded mode) every claim takes "
        "the general path, whose correctness test_claim_concurrency checks on a SQLite file"
    ),
)


@pytest.fixture
def loop(db):
    project = make_project(slug="budget", responses_per_item=4, overlap=3, review_rate=0.0)
    make_items(project, 20)
    annotator = add_member(project, username="budgeteer")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=annotator).key}")
    warm = client.post(f"/api/v1/projects/{project.slug}/claim/")
    assert warm.status_code == 200
    _submit(client, warm.json())
    return project, client


def _ranking(claimed: dict) -> list[list[int]]:
    return [[response["id"]] for response in claimed["item"]["responses"]]


def _submit(client, claimed: dict, **extra):
    body = {"ranking": _ranking(claimed), "client_token": uuid.uuid4().hex, **extra}
    answer = client.post(f"/api/v1/assignments/{claimed['id']}/submit/", body, format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_a_claim_is_at_most_four_statements(loop, django_assert_max_num_queries):
    project, client = loop
    with django_assert_max_num_queries(CLAIM_MAX):
        answer = client.post(f"/api/v1/projects/{project.slug}/claim/")
    assert answer.status_code == 200
    assert len(answer.json()["item"]["responses"]) == 4


def test_a_renewed_claim_is_at_most_four_statements(loop, django_assert_max_num_queries):
    project, client = loop
    first = client.post(f"/api/v1/projects/{project.slug}/claim/").json()
    with django_assert_max_num_queries(CLAIM_MAX):
        again = client.post(f"/api/v1/projects/{project.slug}/claim/").json()
    assert again["id"] == first["id"]  # a refresh gets the live lease back


def test_a_submit_is_at_most_six_statements(loop, django_assert_max_num_queries):
    project, client = loop
    claimed = client.post(f"/api/v1/projects/{project.slug}/claim/").json()
    with django_assert_max_num_queries(SUBMIT_MAX):
        stored = _submit(client, claimed)
    assert Annotation.objects.filter(pk=stored["id"]).exists()
    # the quality figures are left to the worker: the item is marked, not recomputed
    assert Item.objects.get(pk=stored["item_id"]).stats_stale


def test_a_retried_submit_is_at_most_seven_statements(loop, django_assert_max_num_queries):
    project, client = loop
    claimed = client.post(f"/api/v1/projects/{project.slug}/claim/").json()
    body = {"ranking": _ranking(claimed), "client_token": uuid.uuid4().hex}
    url = f"/api/v1/assignments/{claimed['id']}/submit/"
    first = client.post(url, body, format="json")
    with django_assert_max_num_queries(RETRIED_SUBMIT_MAX):
        again = client.post(url, body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]


def test_submit_and_next_is_at_most_nine_statements(loop, django_assert_max_num_queries):
    project, client = loop
    claimed = client.post(f"/api/v1/projects/{project.slug}/claim/").json()
    with django_assert_max_num_queries(SUBMIT_AND_NEXT_MAX):
        answer = _submit(client, claimed, next=True)
    assert answer["next"]["id"] != claimed["id"]
    assert len(answer["next"]["item"]["responses"]) == 4
    assert answer["next_refused"] is None


def test_a_heartbeat_is_at_most_four_statements(loop, django_assert_max_num_queries):
    project, client = loop
    claimed = client.post(f"/api/v1/projects/{project.slug}/claim/").json()
    with django_assert_max_num_queries(HEARTBEAT_MAX):
        answer = client.post(f"/api/v1/assignments/{claimed['id']}/heartbeat/")
    assert answer.status_code == 200


def test_the_ranking_pages_submit_and_next_fragment(db, client, django_assert_max_num_queries):
    """The page's one request per annotation: the judgement stored and the fragment of the
    item after the prefetched one, with the progress line (session login, as in a browser)."""
    project = make_project(slug="pagebudget", responses_per_item=4, overlap=3, review_rate=0.0)
    make_items(project, 20)
    client.force_login(add_member(project, username="pageperson"))
    html = client.get(f"/p/{project.slug}/annotate/").content.decode()
    current, upcoming = re.findall(r'data-assignment="(\d+)"', html)
    ids = [int(x) for x in re.findall(r'data-response="(\d+)"', html)][:4]
    with django_assert_max_num_queries(PAGE_SUBMIT_MAX):
        answer = client.post(
            f"/p/{project.slug}/annotate/{current}/submit/",
            {"payload": json.dumps({"ranking": [[i] for i in ids]}), "shown": upcoming},
            headers={"X-Preflab-Fetch": "1"},
        )
    assert answer.status_code == 200
    assert re.findall(r'data-assignment="(\d+)"', answer.content.decode())[0] not in {
        current,
        upcoming,
    }
