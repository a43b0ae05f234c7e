"""Annotators' agreement with the reward model on the QA dashboard: the pair count against
hand-worked values, per annotator, blind and assisted apart, over time, drawn, in the API."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from annotation.models import Annotation, Response
from annotation.quality.metrics.rankings import score_agreement
from annotation.quality.metrics.reliability import wilson_interval
from annotation.quality.models import ProjectQualitySummary
from annotation.quality.services.refresh import project_quality_refresh
from projects.models import Role
from projects.services import project_update
from tests.annotation.quality_helpers import annotate_all, by_id
from tests.factories import add_member, make_items, make_project
from training.loop.models import ResponseScore
from training.runs.models import ModelArtifact


def test_score_agreement_counts_ordered_scored_pairs_and_equal_scores_as_half():
    ranking = [[1], [2, 3], [4], [5]]
    scores = {1: 0.9, 2: 0.1, 3: 0.5, 4: 0.5}  # 5 has no score
    # Ordered and scored: 1>2 yes, 1>3 yes, 1>4 yes, 2>4 no (0.1 < 0.5), 3>4 equal (half);
    # 2~3 is a tie (no order), every pair with 5 is unscored.
    assert score_agreement(ranking, scores) == (3.5, 5)
    assert score_agreement([[1, 2]], scores) == (0.0, 0)
    assert score_agreement([[2], [1]], scores) == (0.0, 1)


def _series(project) -> dict:
    return ProjectQualitySummary.objects.get(project=project).series


def by_reverse_id(display: list[int]) -> list[list[int]]:
    return [[rid] for rid in sorted(display, reverse=True)]


@pytest.fixture
def scored(db):
    """Six items of three responses, two annotators each; the reward model prefers the
    lower response id. Alice ranks by id (agrees), Bob against it while blind, then, once
    the project turns assisted, Bob follows the suggestion (anchoring)."""
    project = make_project(slug="rmq", responses_per_item=3, overlap=2)
    make_items(project, 6)
    rm = ModelArtifact.objects.create(project=project, kind="reward", name="rm-v1", path="/rm")
    ResponseScore.objects.bulk_create(
        ResponseScore(response_id=pk, artifact=rm, score=-pk)
        for pk in Response.objects.filter(prompt__project=project).values_list("pk", flat=True)
    )
    manager = project.memberships.get(role=Role.MANAGER).user
    project = project_update(project=project, reward_model=rm)
    alice = add_member(project, Role.ANNOTATOR, "alice")
    bob = add_member(project, Role.ANNOTATOR, "bob")
    annotate_all(project, alice, by_id, limit=3)
    annotate_all(project, bob, by_reverse_id, limit=3)
    project = project_update(project=project, assist_mode="assisted")
    annotate_all(project, alice, by_id)
    annotate_all(project, bob, by_id)
    project_quality_refresh(project_id=project.pk)
    return project, manager, alice, bob


def test_per_annotator_blind_and_assisted_agreement(scored):
    project, manager, alice, bob = scored
    assert Annotation.objects.filter(project=project, assisted=True).count() == 6
    series = _series(project)["reward_agreement"]
    assert series["model"] == "rm-v1"
    rows = {row["username"]: row for row in series["annotators"]}
    # Three ordered pairs per item of three responses, six items each.
    assert rows["alice"]["pairs"] == 18 and rows["alice"]["rate"] == 1.0
    assert rows["alice"]["blind"]["pairs"] == 9 and rows["alice"]["assisted"]["rate"] == 1.0
    assert rows["bob"]["pairs"] == 18 and rows["bob"]["rate"] == 0.5
    assert rows["bob"]["blind"]["rate"] == 0.0 and rows["bob"]["assisted"]["rate"] == 1.0
    # The interval counts Bob's 6 rankings (3 pairs each hang together), not 18 pairs.
    assert rows["bob"]["annotations"] == 6
    assert (rows["bob"]["low"], rows["bob"]["high"]) == wilson_interval(3, 6)
    assert [r["username"] for r in series["annotators"]] == ["alice", "bob"]  # best first
    assert series["blind"] == {**series["blind"], "pairs": 18, "rate": 0.5}
    assert series["assisted"]["pairs"] == 18 and series["assisted"]["rate"] == 1.0
    assert len(series["days"]) == 1
    assert series["blind_by_day"] == [0.5] and series["assisted_by_day"] == [1.0]
    assert rows["bob"]["by_day"] == [0.5]
    # Six rankings a side are too few to call anchoring (20 needed).
    assert rows["bob"]["gap"] is None and rows["bob"]["anchoring"] is False


def test_the_dashboard_draws_it_and_the_api_returns_it(scored):
    project, manager, alice, bob = scored
    client = Client()
    client.force_login(manager)
    page = client.get(f"/p/{project.slug}/quality/").content.decode()
    assert "Agreement with the reward model" in page and "rm-v1" in page
    assert "Agreement with the reward model per annotator (95% interval)" in page
    assert "Agreement with the reward model by day" in page
    assert 'data-user="bob"' in page and "bob: agreement with the model by day" in page
    assert "Assisted − blind" in page
    api = APIClient()
    api.force_authenticate(manager)
    body = api.get(f"/api/v1/projects/{project.slug}/quality/").json()
    assert body["series"]["reward_agreement"]["assisted"]["rate"] == 1.0
    annotator = Client()
    annotator.force_login(alice)
    assert annotator.get(f"/p/{project.slug}/quality/").status_code == 403


def test_without_a_reward_model_the_dashboard_says_how_to_attach_one(db):
    project = make_project(slug="norm", responses_per_item=2)
    make_items(project, 2)
    annotate_all(project, add_member(project, Role.ANNOTATOR, "ann"), by_id)
    project_quality_refresh(project_id=project.pk)
    assert _series(project)["reward_agreement"] is None
    client = Client()
    client.force_login(project.memberships.get(role=Role.MANAGER).user)
    page = client.get(f"/p/{project.slug}/quality/").content.decode()
    assert "No reward model is attached" in page and f"/p/{project.slug}/loop/" in page


def test_the_per_annotator_chart_keeps_the_40_with_the_most_rankings():
    from annotation.quality.selectors.charts import CHART_ANNOTATORS, _reward_charts

    people = [{"user_id": n, "username": f"a{n}", "rate": 0.5, "low": 0.4, "high": 0.6,
               "annotations": n, "pairs": 3 * n} for n in range(1, 46)]  # fmt: skip
    series = {"annotators": people, "blind_by_day": [0.5], "assisted_by_day": [None],
              "assisted": {"pairs": 0}, "days": ["2026-11-22"]}  # fmt: skip
    chart = _reward_charts(series)["reward_annotators"]
    assert f"the {CHART_ANNOTATORS} with the most rankings" in chart.title
    names = [label.split(" (")[0] for label in chart.x.labels]
    assert "a45" in names and "a6" in names and "a5" not in names  # 6..45 kept


def test_anchoring_is_flagged_only_with_enough_rankings_and_apart_intervals():
    from annotation.quality.services.reward_agreement import _anchoring

    def side(rate, n):
        low, high = wilson_interval(rate * n, n)
        return {"rate": rate, "annotations": n, "low": low, "high": high}

    # 0.9 assisted against 0.5 blind over 40 rankings each: intervals apart.
    assert _anchoring(side(0.5, 40), side(0.9, 40)) == {
        "gap": pytest.approx(0.4),
        "anchoring": True,
    }
    # The same gap over 10 rankings a side: too few to say.
    assert _anchoring(side(0.5, 10), side(0.9, 10)) == {"gap": None, "anchoring": False}
    # A small gap over many: measured, not flagged (the intervals overlap).
    small = _anchoring(side(0.70, 40), side(0.75, 40))
    assert small["gap"] == pytest.approx(0.05) and small["anchoring"] is False
