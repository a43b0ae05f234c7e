"""Snapshot pages: create from the form, watch, download; roles checked."""

from django.urls import reverse

from projects.models import Role
from tests.factories import add_member
from training.datasets.models import DatasetSnapshot
from training.datasets.services.snapshots import snapshot_export


def test_an_engineer_exports_from_the_page_and_downloads_a_file(ranked, client):
    project, engineer = ranked
    client.force_login(engineer)
    page = client.get(reverse("snapshot-list", args=[project.slug]))
    assert page.status_code == 200 and b"New snapshot" in page.content
    response = client.post(
        reverse("snapshot-list", args=[project.slug]),
        {
            "name": "first <b>cut</b>", "formats": ["pairwise", "sft"],
            "file_types": ["jsonl"], "aggregation": "per_annotator", "train": 0.8,
            "validation": 0, "test": 0.2, "seed": 1, "binarization": "all", "min_margin": 0,
            "none_acceptable": "exclude", "style": "conversational", "review": "any",
        },
    )  # fmt: skip
    snapshot = DatasetSnapshot.objects.get(project=project)
    assert response.status_code == 302 and response.url.endswith(f"/snapshots/{snapshot.number}/")
    waiting = client.get(response.url)
    assert (
        b"Waiting for a worker" in waiting.content and b'hx-trigger="every 1s"' in waiting.content
    )
    assert b"first &lt;b&gt;cut&lt;/b&gt;" in waiting.content  # names are escaped
    snapshot_export(snapshot_id=snapshot.pk)
    done = client.get(response.url)
    assert b'data-status="succeeded"' in done.content and b"pairwise/train.jsonl" in done.content
    download = client.get(
        reverse("snapshot-file", args=[project.slug, snapshot.number, "pairwise/train.jsonl"])
    )
    assert download.status_code == 200 and b'"chosen"' in b"".join(download.streaming_content)


def test_the_form_names_bad_splits(ranked, client):
    project, engineer = ranked
    client.force_login(engineer)
    response = client.post(
        reverse("snapshot-list", args=[project.slug]),
        {
            "formats": ["pairwise"], "file_types": ["jsonl"], "aggregation": "consensus",
            "train": 0.5, "validation": 0, "test": 0.2, "seed": 0, "binarization": "all",
            "none_acceptable": "exclude", "style": "text", "review": "any",
        },
    )  # fmt: skip
    assert response.status_code == 200 and b"add up to 1" in response.content
    assert not DatasetSnapshot.objects.exists()


def test_annotators_and_outsiders_cannot_reach_snapshots(ranked, client, outsider):
    project, _ = ranked
    url = reverse("snapshot-list", args=[project.slug])
    client.force_login(add_member(project, Role.ANNOTATOR, "ann2"))
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
