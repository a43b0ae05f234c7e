"""A snapshot never finishes silently empty: a format the project's mode cannot fill is
refused up front (form and API), and formats or splits that came out with 0 rows are
named on the finished snapshot's page."""

from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import Annotation
from tests.training.conftest import export
from training.datasets.models import DatasetSnapshot
from training.datasets.services.snapshots import snapshot_create

FORM = {
    "file_types": ["jsonl"], "aggregation": "per_annotator", "train": 0.9, "validation": 0,
    "test": 0.1, "seed": 0, "binarization": "all", "min_margin": 0,
    "none_acceptable": "exclude", "style": "text", "review": "any",
}  # fmt: skip


def test_the_ratings_format_of_a_ranking_project_is_refused_by_form_and_api(ranked, client):
    # given a project whose annotators rank responses and never rated one
    project, engineer = ranked
    client.force_login(engineer)
    api = APIClient()
    api.force_authenticate(engineer)
    # when an engineer asks for ratings from the page and from the API
    page = client.post(
        reverse("snapshot-list", args=[project.slug]), {**FORM, "formats": ["ratings"]}
    )
    answer = api.post(
        f"/api/v1/projects/{project.slug}/snapshots/", {"formats": ["ratings"]}, format="json"
    )
    # then both say why, and no snapshot is made
    assert page.status_code == 200
    assert "this project ranks responses and nobody rated one" in page.content.decode()
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("formats: this project ranks responses")
    assert not DatasetSnapshot.objects.exists()


def test_ratings_left_from_an_earlier_rating_phase_still_export(ranked):
    # given a ranking project that rated responses before its mode changed
    project, engineer = ranked
    annotation = Annotation.objects.filter(project=project).first()
    annotation.ratings = {str(rid): 3 for tier in annotation.ranking for rid in tier}
    annotation.save(update_fields=["ratings"])
    # when an engineer asks for ratings, then the snapshot is made
    snapshot, created = snapshot_create(
        project=project, user=engineer, options={"formats": ["ratings"]}, enqueue=False
    )
    assert created and list(snapshot.options["formats"]) == ["ratings"]


def test_a_finished_snapshot_names_each_format_and_split_that_came_out_empty(ranked, client):
    # given a finished snapshot of a project without span tags, with a tiny test share
    project, engineer = ranked
    snapshot = export(
        project, engineer, formats=["pairwise", "spans"], splits={"train": 0.99, "test": 0.01}
    )
    assert snapshot.manifest["counts"]["pairwise"]["test"] == 0
    assert snapshot.manifest["counts"]["pairwise"]["train"] > 0
    # when an engineer opens it
    client.force_login(engineer)
    page = client.get(reverse("snapshot-detail", args=[project.slug, snapshot.number]))
    html = page.content.decode()
    # then the page warns about the empty format and the empty split, saying why
    warnings = html.split('id="snapshot-empty"', 1)[1].split("</ul>", 1)[0]
    assert "The span tags format has no rows: no annotation in it tagged a span" in warnings
    assert "The test split of pairwise (chosen / rejected) has no rows" in warnings
    assert "Succeeded" in html
