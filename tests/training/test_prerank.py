"""Pre-ranking with a real (tiny-trained MiniLM) reward model: scores stored, assisted and
blind annotation recorded and exported apart, and blind annotators never given the order."""

import json

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from annotation.models import Annotation
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from projects.models import AssistMode, Role
from projects.services import project_update
from tests.factories import PASSWORD, add_member, make_items, make_project
from tests.training.ml.policy_fixtures import GOOD, reward_model  # noqa: F401 - fixture
from training.datasets.services.snapshots import snapshot_create, snapshot_export
from training.loop.models import ResponseScore
from training.loop.services.prerank import project_prerank
from training.runs.models import ModelArtifact

pytestmark = pytest.mark.django_db


def _text(n: int, j: int) -> str:
    # Response 1 of every item says "good": the reward model prefers it.
    return f"tea rain maps {GOOD}" if j == 1 else f"tea rain maps number {n}"


@pytest.fixture
def scored_project(reward_model):  # noqa: F811 - the fixture
    project = make_project(slug="prerank", responses_per_item=2, ranking_mode="pairwise",
                           pairwise_strength=False, overlap=2)  # fmt: skip
    items = make_items(project, 3, texts=_text)
    artifact = ModelArtifact.objects.create(
        project=project, kind="reward", name="rm", path=str(reward_model)
    )
    project = project_update(project=project, reward_model=artifact.pk)
    assert project_prerank(project_id=project.pk) == 6
    return project, items, artifact


def test_every_response_is_scored_once_and_the_good_one_scores_higher(scored_project):
    project, items, artifact = scored_project
    for item in items:
        scores = {
            s.response.text: s.score
            for s in ResponseScore.objects.filter(response__items=item, artifact=artifact)
        }
        good = next(text for text in scores if GOOD in text)
        assert all(scores[good] > value for text, value in scores.items() if text != good)
    assert project_prerank(project_id=project.pk) == 0  # nothing left to score


def _client(user) -> APIClient:
    client = APIClient()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _score_strings(artifact) -> list[str]:
    values = ResponseScore.objects.filter(artifact=artifact).values_list("score", flat=True)
    return [f"{value:.4f}"[:6] for value in values]


def test_blind_annotators_get_neither_the_order_nor_the_scores(scored_project):
    project, _, artifact = scored_project
    annotator = add_member(project, Role.ANNOTATOR, "blind")
    client = _client(annotator)
    body = client.post(f"/api/v1/projects/{project.slug}/claim/").json()
    assert body["item"]["suggestion"] is None
    page = client.get(f"/p/{project.slug}/annotate/").content.decode()
    assert "data-suggestion" not in page and "reward model suggests" not in page
    for text in (json.dumps(body), page):
        assert not any(value in text for value in _score_strings(artifact))
    lease = assignment_claim(user=annotator, project=project)
    annotation, _ = annotation_submit(
        assignment_id=lease.pk, user=annotator,
        payload={"ranking": [[rid] for rid in lease.display_order]},
    )  # fmt: skip
    assert annotation.assisted is False


def test_assisted_annotators_see_the_models_order_and_their_annotation_says_so(scored_project):
    project, items, artifact = scored_project
    project_update(project=project, assist_mode=AssistMode.ASSISTED)
    annotator = add_member(project, Role.ANNOTATOR, "helped")
    client = _client(annotator)
    body = client.post(f"/api/v1/projects/{project.slug}/claim/").json()
    letters = {r["id"]: r["letter"] for r in body["item"]["responses"]}
    good = next(r["id"] for r in body["item"]["responses"] if GOOD in r["text"])
    assert body["item"]["suggestion"][0] == letters[good]
    assert sorted(body["item"]["suggestion"]) == sorted(letters.values())
    assert not any(value in json.dumps(body) for value in _score_strings(artifact))
    page = client.get(f"/p/{project.slug}/annotate/").content.decode()
    assert "The reward model suggests" in page
    submitted = client.post(
        f"/api/v1/assignments/{body['id']}/submit/",
        {"ranking": [[rid] for rid in letters]},
        format="json",
    )
    assert submitted.status_code in (200, 201), submitted.content
    assert Annotation.objects.get(pk=submitted.json()["id"]).assisted is True


def test_exports_mark_assisted_annotations_and_can_keep_them_apart(scored_project):
    project, items, artifact = scored_project
    blind = add_member(project, Role.ANNOTATOR, "b1")
    for user, mode in ((blind, AssistMode.BLIND), (None, AssistMode.ASSISTED)):
        project = project_update(project=project, assist_mode=mode)
        user = user or add_member(project, Role.ANNOTATOR, "a1")
        for _ in items:
            lease = assignment_claim(user=user, project=project)
            annotation_submit(
                assignment_id=lease.pk, user=user,
                payload={"ranking": [[rid] for rid in lease.display_order]},
            )  # fmt: skip
    engineer = add_member(project, Role.ENGINEER, "eng")

    def export(assistance: str) -> list[dict]:
        options = {"formats": ["pairwise"], "file_types": ["jsonl"],
                   "splits": {"train": 1.0}, "filters": {"assistance": assistance}}  # fmt: skip
        snapshot, _ = snapshot_create(
            project=project, user=engineer, options=options, enqueue=False
        )
        snapshot = snapshot_export(snapshot_id=snapshot.pk)
        (file,) = snapshot.files.filter(format="pairwise")
        text = default_storage.open(f"{snapshot.path}/{file.name}").read().decode()
        return [json.loads(line) for line in text.splitlines()]

    every = export("any")
    flags = [row["provenance"][0]["assisted"] for row in every]
    assert flags.count(True) == 3 and flags.count(False) == 3
    assert [row["provenance"][0]["assisted"] for row in export("assisted")] == [True] * 3
    assert [row["provenance"][0]["assisted"] for row in export("blind")] == [False] * 3
