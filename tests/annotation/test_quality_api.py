"""Quality API: annotators see only their own figures; review and gold through the API."""

import pytest
from rest_framework.test import APIClient

from annotation.models import Annotation, Item
from annotation.quality.services.refresh import project_quality_refresh
from projects.models import Role
from tests.annotation.quality_helpers import annotate_all, by_id, first_shown_first
from tests.factories import add_member, make_items, make_project


@pytest.fixture
def setup(db):
    project = make_project(slug="qapi", responses_per_item=3, overlap=2, review_rate=1.0)
    make_items(project, 5)
    one = add_member(project, Role.ANNOTATOR, "one")
    two = add_member(project, Role.ANNOTATOR, "two")
    annotate_all(project, one, by_id)
    annotate_all(project, two, first_shown_first)
    project_quality_refresh(project_id=project.pk)
    return project, one, two, add_member(project, Role.REVIEWER, "rev")


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_annotator_sees_only_their_own_figures_and_reviews(setup):
    project, one, two, reviewer = setup
    theirs = Annotation.objects.filter(user=two).first()
    _api(reviewer).post(
        f"/api/v1/annotations/{theirs.pk}/review/", {"verdict": "reject", "comment": "too quick"}
    )

    mine = _api(two).get(f"/api/v1/projects/{project.slug}/quality/me/").json()

    assert mine["figures"]["username"] == "two"
    assert mine["figures"]["judgements"] == 4  # the rejected one no longer counts
    assert mine["reviews"] == [
        {
            "annotation_id": theirs.pk,
            "item_id": theirs.item_id,
            "verdict": "rejected",
            "comment": "too quick",
            "created_at": mine["reviews"][0]["created_at"],
        }
    ]
    assert set(mine) == {"figures", "reviews"}  # nobody else's row, nobody else's reviews


def test_dashboard_and_table_through_the_api(setup):
    project, *_ = setup
    manager = _api(project.created_by)
    board = manager.get(f"/api/v1/projects/{project.slug}/quality/").json()
    assert board["agreement"]["items_multi"] == 5
    assert board["series"]["annotations"] == [10]
    table = manager.get(f"/api/v1/projects/{project.slug}/quality/annotators/?sort=username").json()
    assert [row["username"] for row in table] == ["one", "two"]
    bad = manager.get(f"/api/v1/projects/{project.slug}/quality/annotators/?sort=salary")
    assert bad.status_code == 400 and "sort" in bad.json()["message"]


def test_correct_through_the_api_and_read_the_consensus(setup):
    project, one, _, reviewer = setup
    theirs = Annotation.objects.filter(user=one).first()
    ranking = [[rid] for rid in reversed(sorted(theirs.display_order))]

    answer = _api(reviewer).post(
        f"/api/v1/annotations/{theirs.pk}/review/",
        {"verdict": "correct", "ranking": ranking},
        format="json",
    )

    assert answer.status_code == 201
    correction = Annotation.objects.get(pk=answer.json()["correction_id"])
    assert (correction.user, correction.ranking) == (reviewer, ranking)
    consensus = (
        _api(reviewer)
        .get(f"/api/v1/projects/{project.slug}/items/{theirs.item_id}/consensus/")
        .json()
    )
    assert consensus["judgements"] == 2
    assert sorted(r for tier in consensus["consensus"] for r in tier) == sorted(
        theirs.display_order
    )
    missing = _api(reviewer).post(
        f"/api/v1/annotations/{Annotation.objects.filter(user=one).last().pk}/review/",
        {"verdict": "correct"},
        format="json",
    )
    assert missing.status_code == 400 and "ranking" in missing.json()["message"]


def test_gold_through_the_api_names_a_bad_ranking(setup):
    project, *_ = setup
    item = Item.objects.filter(project=project).first()
    url = f"/api/v1/projects/{project.slug}/items/{item.pk}/gold/"
    manager = _api(project.created_by)
    bad = manager.put(url, {"ranking": [[1]]}, format="json")
    assert bad.status_code == 400 and "ranking" in bad.json()["message"]
    ids = list(item.item_responses.values_list("response_id", flat=True))
    assert manager.put(url, {"ranking": by_id(ids)}, format="json").status_code == 200
    assert Item.objects.get(pk=item.pk).is_gold
    assert manager.delete(url).json() == {"item_id": item.pk, "gold": False}
