"""The annotating API end to end: token, claim, submit, skip, and its error contract."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from annotation.models import Annotation
from common.debounce import forget_taken
from projects.models import Role
from projects.services import guideline_publish
from tests.factories import PASSWORD, add_member, make_items


@pytest.fixture
def api(annotator):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": "annotator", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def test_token_with_wrong_password_is_a_clear_400(annotator):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "annotator", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "Unable to log in" in response.json()["message"]


def test_claim_submit_loop_until_nothing_is_left(project, api):
    make_items(project, 3)
    stored = []
    while True:
        claim = api.post(f"/api/v1/projects/{project.slug}/claim/")
        if claim.status_code == 204:
            break
        assert claim.status_code == 200, claim.content
        body = claim.json()
        assert [r["letter"] for r in body["item"]["responses"]] == ["A", "B", "C", "D"]
        assert "model_name" not in body["item"]["responses"][0]  # blind: no provenance shown
        ranking = [[r["id"]] for r in body["item"]["responses"]]
        submit = api.post(
            f"/api/v1/assignments/{body['id']}/submit/",
            {"ranking": ranking, "client_token": f"tok-{body['id']}"},
            format="json",
        )
        assert submit.status_code == 201, submit.content
        stored.append(submit.json()["id"])
    assert len(stored) == 3 == Annotation.objects.count()


def test_retried_submit_returns_200_with_the_same_annotation(project, api):
    make_items(project, 1)
    body = api.post(f"/api/v1/projects/{project.slug}/claim/").json()
    payload = {
        "ranking": [[r["id"]] for r in body["item"]["responses"]],
        "client_token": "retry-me",
    }
    first = api.post(f"/api/v1/assignments/{body['id']}/submit/", payload, format="json")
    second = api.post(f"/api/v1/assignments/{body['id']}/submit/", payload, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


def test_incomplete_ranking_is_a_400_naming_the_field(project, api):
    make_items(project, 1)
    body = api.post(f"/api/v1/projects/{project.slug}/claim/").json()
    response = api.post(
        f"/api/v1/assignments/{body['id']}/submit/",
        {"ranking": [[body["item"]["responses"][0]["id"]]]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "ranking"
    assert "unranked" in response.json()["message"]


def test_claim_before_reading_new_guidelines_is_a_409(project, manager, api):
    make_items(project, 1)
    guideline_publish(project=project, author=manager, body="v2")
    response = api.post(f"/api/v1/projects/{project.slug}/claim/")
    assert response.status_code == 409
    assert response.json()["error"] == "guidelines_not_acknowledged"
    assert (
        api.post(
            f"/api/v1/projects/{project.slug}/guidelines/ack/", {"version": 2}, format="json"
        ).status_code
        == 200
    )
    assert api.post(f"/api/v1/projects/{project.slug}/claim/").status_code == 200


def test_skip_then_submit_is_a_409(project, api):
    make_items(project, 2)
    body = api.post(f"/api/v1/projects/{project.slug}/claim/").json()
    assert (
        api.post(
            f"/api/v1/assignments/{body['id']}/skip/", {"reason": "unclear"}, format="json"
        ).status_code
        == 200
    )
    response = api.post(
        f"/api/v1/assignments/{body['id']}/submit/",
        {"ranking": [[r["id"]] for r in body["item"]["responses"]]},
        format="json",
    )
    assert response.status_code == 409


def test_malformed_json_body_is_a_400_not_a_500(project, api):
    make_items(project, 1)
    body = api.post(f"/api/v1/projects/{project.slug}/claim/").json()
    response = api.generic(
        "POST",
        f"/api/v1/assignments/{body['id']}/submit/",
        "{not json",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"


def test_patch_cannot_change_slug(project, manager):
    client = APIClient()
    client.force_authenticate(manager)
    response = client.patch(f"/api/v1/projects/{project.slug}/", {"slug": "other"}, format="json")
    assert response.status_code == 400
    assert "slug" in response.json()["message"]


def test_openapi_schema_lists_the_endpoints(api):
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    text = response.content.decode()
    for path in [
        "/api/v1/projects/{slug}/claim/",
        "/api/v1/assignments/{assignment_id}/submit/",
        "/api/v1/auth/token/",
    ]:
        assert path in text


def test_swagger_ui_is_served_without_a_cdn(api):
    response = api.get("/api/v1/docs/")
    assert response.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in response.content


def test_claim_query_count_is_bounded(project):
    """The hot path: the number of queries does not grow with project size."""
    from annotation.services.claiming import assignment_claim

    small_user, big_user = add_member(project, Role.ANNOTATOR), add_member(project, Role.ANNOTATOR)
    from django.core.cache import cache

    from projects.selectors import project_get_for_user

    def as_the_api_does(user):
        # The API loads the project with the member's role and pause state in one query.
        return project_get_for_user(slug=project.slug, user=user)

    def reaping_due_again():
        # Both claims pay for the periodic reaping of expired leases: the shared key and
        # this process's memory of it are gone.
        cache.clear()
        forget_taken()

    make_items(project, 5)
    reaping_due_again()
    seen_by_small = as_the_api_does(small_user)
    with CaptureQueriesContext(connection) as small:
        assignment_claim(user=small_user, project=seen_by_small)
    make_items(project, 500)
    reaping_due_again()
    seen_by_big = as_the_api_does(big_user)
    with CaptureQueriesContext(connection) as big:
        assignment_claim(user=big_user, project=seen_by_big)

    def statements(context):
        control = ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT", "ROLLBACK")
        return [q["sql"] for q in context.captured_queries if not q["sql"].startswith(control)]

    assert len(statements(big)) == len(statements(small)) <= 8, statements(big)
