"""The snapshots API: create, validate, idempotency, detail, download, permissions."""

import hashlib

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from projects.models import Role
from tests.factories import add_member
from training.datasets.models import DatasetSnapshot
from training.datasets.services.snapshots import snapshot_export


def _client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def test_bad_options_are_refused_naming_the_field(ranked):
    project, engineer = ranked
    response = _client(engineer).post(
        f"/api/v1/projects/{project.slug}/snapshots/",
        {"splits": {"train": 0.7, "test": 0.2}},
        format="json",
    )
    assert response.status_code == 400
    assert "splits" in response.json()["message"]
    assert not DatasetSnapshot.objects.exists()


def test_a_retried_post_makes_one_snapshot(ranked):
    project, engineer = ranked
    body = {"formats": ["pairwise"], "client_token": "export-42"}
    client = _client(engineer)
    first = client.post(f"/api/v1/projects/{project.slug}/snapshots/", body, format="json")
    again = client.post(f"/api/v1/projects/{project.slug}/snapshots/", body, format="json")
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"]
    assert DatasetSnapshot.objects.count() == 1


def test_detail_lists_files_that_download_with_their_checksums(ranked):
    project, engineer = ranked
    client = _client(engineer)
    created = client.post(
        f"/api/v1/projects/{project.slug}/snapshots/",
        {"formats": ["pairwise", "listwise"], "splits": {"train": 0.8, "test": 0.2}},
        format="json",
    ).json()
    queued = client.get(f"/api/v1/snapshots/{created['id']}/").json()
    assert queued["status"] == "queued" and queued["files"] == []
    snapshot_export(snapshot_id=created["id"])
    done = client.get(f"/api/v1/snapshots/{created['id']}/").json()
    assert done["status"] == "succeeded" and done["progress"]["fraction"] == 1.0
    assert done["manifest"]["counts"]["pairwise"]
    data_files = [f for f in done["files"] if f["split"]]
    assert {f["format"] for f in data_files} == {"pairwise", "listwise"}
    for entry in done["files"]:
        response = client.get(entry["url"])
        assert response.status_code == 200, entry
        body = b"".join(response.streaming_content)
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]
        assert len(body) == entry["size"]
    # an annotator of the project may not download, an unknown file is a 404
    annotator = add_member(project, Role.ANNOTATOR, "someone")
    assert _client(annotator).get(data_files[0]["url"]).status_code == 403
    missing = client.get(f"/api/v1/snapshots/{created['id']}/files/pairwise/nope.jsonl")
    assert missing.status_code == 404


def test_cancelling_a_queued_snapshot_means_it_never_runs(ranked):
    project, engineer = ranked
    client = _client(engineer)
    created = client.post(f"/api/v1/projects/{project.slug}/snapshots/", {}, format="json").json()
    cancelled = client.post(f"/api/v1/snapshots/{created['id']}/cancel/").json()
    assert cancelled["status"] == "cancelled"
    assert snapshot_export(snapshot_id=created["id"]).state == "cancelled"
    assert client.post(f"/api/v1/snapshots/{created['id']}/cancel/").status_code == 409
