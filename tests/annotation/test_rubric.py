"""Rubric dimensions scored per response, each on its own scale."""

import json
import re

import pytest

from annotation.models import Annotation
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from common.errors import ApplicationError
from projects.labels.services import rating_dimension_save
from tests.factories import make_items


@pytest.fixture
def rubric(project):
    return [
        rating_dimension_save(project=project, name="helpful", scale=7, hotkey="h"),
        rating_dimension_save(project=project, name="harmless", scale=3, hotkey="x"),
    ]


def ranking(lease) -> list:
    return [[rid] for rid in lease.display_order]


def full_rubric(rubric, lease, score=2) -> dict:
    return {str(d.pk): {str(rid): score for rid in lease.display_order} for d in rubric}


def test_rubric_scores_are_stored_per_dimension_and_response(project, annotator, rubric):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    scores = full_rubric(rubric, lease)
    scores[str(rubric[0].pk)][str(lease.display_order[0])] = 7
    annotation, _ = annotation_submit(
        assignment_id=lease.pk,
        user=annotator,
        payload={"ranking": ranking(lease), "rubric": scores},
    )
    assert annotation.rubric_scores == scores


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s, r, lease: s.pop(str(r[1].pk)), "harmless"),
        (
            lambda s, r, lease: s[str(r[1].pk)].update({str(lease.display_order[0]): 4}),
            "scored 1 to 3",
        ),
        (
            lambda s, r, lease: s[str(r[0].pk)].pop(str(lease.display_order[2])),
            "missing for responses",
        ),
        (lambda s, r, lease: s.update({"999999": {}}), "not in this project"),
        (lambda s, r, lease: s[str(r[0].pk)].update({"424242": 1}), "not in this item"),
    ],
)
def test_incomplete_or_out_of_scale_rubrics_are_refused(
    project, annotator, rubric, change, message
):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    scores = full_rubric(rubric, lease)
    change(scores, rubric, lease)
    with pytest.raises(ApplicationError, match=message):
        annotation_submit(
            assignment_id=lease.pk,
            user=annotator,
            payload={"ranking": ranking(lease), "rubric": scores},
        )
    assert not Annotation.objects.exists()


def test_projects_without_a_rubric_ignore_it(project, annotator):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    annotation, _ = annotation_submit(
        assignment_id=lease.pk, user=annotator, payload={"ranking": ranking(lease)}
    )
    assert annotation.rubric_scores == {}


def test_another_projects_rubric_dimension_is_refused_not_dropped(project, annotator):
    # given: a project without a rubric, and a dimension of another project
    from rest_framework.test import APIClient

    from tests.factories import make_project

    other = make_project(slug="other")
    foreign = rating_dimension_save(project=other, name="helpful", scale=5, hotkey="h")
    make_items(project, 1)
    api = APIClient()
    api.force_authenticate(annotator)
    body = api.post(f"/api/v1/projects/{project.slug}/claim/").json()
    ids = [r["id"] for r in body["item"]["responses"]]
    # when: the submit scores the foreign dimension
    response = api.post(
        f"/api/v1/assignments/{body['id']}/submit/",
        {"ranking": [[rid] for rid in ids], "rubric": {str(foreign.pk): {str(ids[0]): 3}}},
        format="json",
    )
    # then: a 400 naming the field, and nothing stored
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "rubric"
    assert str(foreign.pk) in response.json()["message"]
    assert not Annotation.objects.exists()


def test_rubric_from_the_plain_form(project, annotator, rubric, client):
    make_items(project, 2)
    client.force_login(annotator)
    html = client.get(f"/p/{project.slug}/annotate/").content.decode()
    assert "data-rubric-mode" in html and 'data-key="h"' in html
    current = re.findall(r'data-assignment="(\d+)"', html)[0]
    ids = [int(x) for x in re.findall(r'data-response="(\d+)"', html)[:4]]
    form = {f"rank-{rid}": str(n) for n, rid in enumerate(ids, start=1)}
    form |= {f"rubric-{d.pk}-{rid}": "3" for d in rubric for rid in ids}
    assert client.post(f"/p/{project.slug}/annotate/{current}/submit/", form).status_code == 302
    stored = Annotation.objects.get(user=annotator)
    assert stored.rubric_scores == {str(d.pk): {str(rid): 3 for rid in ids} for d in rubric}


def test_rubric_through_the_api(project, annotator, rubric):
    from rest_framework.test import APIClient

    make_items(project, 1)
    client = APIClient()
    client.force_authenticate(annotator)
    body = client.post(f"/api/v1/projects/{project.slug}/claim/").json()
    ids = [r["id"] for r in body["item"]["responses"]]
    scores = {str(d.pk): {str(rid): 1 for rid in ids} for d in rubric}
    response = client.post(
        f"/api/v1/assignments/{body['id']}/submit/",
        json.loads(json.dumps({"ranking": [[rid] for rid in ids], "rubric": scores})),
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["rubric_scores"] == scores
