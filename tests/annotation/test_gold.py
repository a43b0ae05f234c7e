"""Gold items: mixed in at the project's rate, never revealed, scored, alerting and pausing."""

import json
import math

import pytest
from rest_framework.test import APIClient

from annotation.models import Item
from annotation.quality.models import AnnotatorStats, QualityAlert
from annotation.quality.services.fold import quality_deltas_fold
from annotation.quality.services.gold import annotator_resume, item_gold_mark, item_gold_unmark
from annotation.services.claiming import AnnotatorPaused, assignment_claim
from annotation.services.submission import annotation_submit
from common.errors import ApplicationError
from projects.models import Membership, Role
from projects.services import project_update
from tests.annotation.quality_helpers import annotate_all, by_id, quality_worker_pass
from tests.factories import add_member, make_items, make_project


def _mark_gold(project, items, rank=by_id):
    for item in items:
        ids = list(item.responses.values_list("id", flat=True))
        item_gold_mark(project=project, item_id=item.pk, ranking=rank(ids))


def test_gold_items_are_served_at_the_project_rate(db):
    # given a project with 20% gold, plenty of both kinds, and many annotators
    project = make_project(slug="gold", responses_per_item=2, gold_rate=0.2, review_rate=0.0)
    items = make_items(project, 420)
    _mark_gold(project, items[:120])
    people = [add_member(project, Role.ANNOTATOR, f"g{i}") for i in range(6)]

    # when each of them claims and submits 50 items
    served = [
        lease.item.is_gold for person in people for lease in _claim_and_submit(project, person, 50)
    ]

    # then the share of gold is 20% within four standard deviations of a binomial draw
    n, p = len(served), 0.2
    assert n == 300
    assert abs(sum(served) - n * p) < 4 * math.sqrt(n * p * (1 - p))


def _claim_and_submit(project, person, count):
    leases = []
    for _ in range(count):
        lease = assignment_claim(user=person, project=project)
        annotation_submit(
            assignment_id=lease.pk, user=person, payload={"ranking": by_id(lease.display_order)}
        )
        leases.append(lease)
    quality_worker_pass(project)
    return leases


def test_gold_items_sit_outside_the_overlap_pool(db):
    # given one gold item and overlap 1
    project = make_project(slug="pool", responses_per_item=2, gold_rate=0.0, review_rate=0.0)
    gold, ordinary = make_items(project, 2)
    _mark_gold(project, [gold])
    people = [add_member(project, Role.ANNOTATOR) for _ in range(3)]

    # then with gold off nobody gets it, and with gold always on everyone can
    assert [assignment_claim(user=p, project=project).item_id for p in people[:1]] == [ordinary.pk]
    project_update(project=project, gold_rate=0.5)
    project.refresh_from_db()
    seen = set()
    for person in people:
        for _ in range(40):  # a claim that draws no gold finds the ordinary pool empty
            lease = assignment_claim(user=person, project=project)
            if lease is None:
                continue
            seen.add((person.pk, lease.item_id))
            annotation_submit(
                assignment_id=lease.pk, user=person, payload={"ranking": by_id(lease.display_order)}
            )
    assert {(p.pk, gold.pk) for p in people} <= seen


def test_a_gold_item_looks_like_any_other_in_the_api_and_the_page(db):
    project = make_project(slug="blind", responses_per_item=2, gold_rate=0.0, review_rate=0.0)
    gold, ordinary = make_items(project, 2)
    _mark_gold(project, [gold])
    annotator = add_member(project, Role.ANNOTATOR, "blindann")
    client = APIClient()
    client.force_authenticate(annotator)

    # the ordinary item through the API, then the gold one
    first = client.post(f"/api/v1/projects/{project.slug}/claim/").json()
    Item.objects.filter(pk=ordinary.pk).update(open_slots=0)
    project_update(project=project, gold_rate=0.5)
    annotation_submit(
        assignment_id=first["id"],
        user=annotator,
        payload={"ranking": by_id([r["id"] for r in first["item"]["responses"]])},
    )
    second = None
    for _ in range(50):  # the claim serves gold at 50%; the pool has only gold left
        second = client.post(f"/api/v1/projects/{project.slug}/claim/")
        if second.status_code == 200:
            break
    body = second.json()
    assert body["item"]["id"] == gold.pk
    assert sorted(body) == sorted(first)
    assert sorted(body["item"]) == sorted(first["item"])
    assert "gold" not in json.dumps(body).lower()
    # and on the page
    page_client = APIClient()
    page_client.force_login(annotator)
    html = page_client.get(f"/p/{project.slug}/annotate/").content.decode()
    assert f"Answer 0 to prompt {gold.prompt_id}" in html  # the gold item is the one shown
    assert "gold" not in html.lower()


def test_low_gold_score_alerts_and_pauses_until_a_manager_resumes(db):
    # given a project that pauses below 70% after 3 gold answers, gold always when due
    project = make_project(
        slug="pause", responses_per_item=3, gold_rate=0.5, gold_threshold=0.7,
        gold_min_answers=3, gold_pause=True, review_rate=0.0,
    )  # fmt: skip
    items = make_items(project, 40)
    _mark_gold(project, items[:20])
    careless = add_member(project, Role.ANNOTATOR, "careless")

    # when the annotator ranks every gold item backwards, one item at a time with quality's
    # worker pass after each (the pause lands with the pass, a second after the submit)
    with pytest.raises(AnnotatorPaused):
        for _ in range(40):
            annotate_all(
                project, careless, lambda d: [[r] for r in sorted(d, reverse=True)], limit=1
            )

    # then there is one open alert, the annotator is paused, and the score is stored
    quality_deltas_fold(project_id=project.pk)
    stats = AnnotatorStats.objects.get(project=project, user=careless)
    assert stats.gold_items >= 3 and stats.gold_score == 0.0
    alert = QualityAlert.objects.get(project=project, user=careless, resolved_at=None)
    assert "gold score 0%" in alert.message
    assert Membership.objects.get(project=project, user=careless).paused_at is not None
    # when a manager resumes them, they may claim again and the alert is closed
    manager = project.created_by
    assert annotator_resume(project=project, user_id=careless.pk, by=manager) == 1
    careless = type(careless).objects.get(pk=careless.pk)  # a fresh request's user
    assert assignment_claim(user=careless, project=project) is not None


def test_gold_ranking_must_rank_the_items_responses(db):
    project = make_project(slug="goldbad", responses_per_item=2)
    (item,) = make_items(project, 1)
    a, b = item.responses.values_list("id", flat=True)
    with pytest.raises(ApplicationError, match="unranked responses"):
        item_gold_mark(project=project, item_id=item.pk, ranking=[[a]])
    with pytest.raises(ApplicationError, match="not in this item"):
        item_gold_mark(project=project, item_id=item.pk, ranking=[[a], [b], [999999]])


def test_unmarking_gold_returns_the_item_with_its_slots_recounted(db):
    project = make_project(slug="unmark", responses_per_item=2, overlap=3, gold_rate=0.5)
    (item,) = make_items(project, 1)
    _mark_gold(project, [item])
    person = add_member(project, Role.ANNOTATOR)
    lease = next(
        lease
        for _ in range(100)
        if (lease := assignment_claim(user=person, project=project)) is not None
    )
    annotation_submit(
        assignment_id=lease.pk, user=person, payload={"ranking": by_id(lease.display_order)}
    )
    item_gold_unmark(project=project, item_id=item.pk)
    item.refresh_from_db()
    assert (item.is_gold, item.gold_ranking, item.open_slots) == (False, None, 2)


def test_an_annotators_own_figures_never_reveal_gold(db):
    # given an annotator who has just answered a gold item
    project = make_project(slug="nogold", responses_per_item=2, gold_rate=0.5, review_rate=0.0)
    (item,) = make_items(project, 1)
    _mark_gold(project, [item])
    person = add_member(project, Role.ANNOTATOR, "watcher")
    lease = next(
        lease
        for _ in range(100)
        if (lease := assignment_claim(user=person, project=project)) is not None
    )
    annotation_submit(
        assignment_id=lease.pk, user=person, payload={"ranking": by_id(lease.display_order)}
    )
    quality_worker_pass(project)
    client = APIClient()
    client.force_authenticate(person)

    # when they read their own figures
    figures = client.get(f"/api/v1/projects/{project.slug}/quality/me/").json()["figures"]

    # then the gold figures are not there, though managers see them
    assert (figures["gold_score"], figures["gold_items"]) == (None, 0)
    manager = APIClient()
    manager.force_authenticate(project.created_by)
    (row,) = manager.get(f"/api/v1/projects/{project.slug}/quality/annotators/").json()
    assert (row["gold_score"], row["gold_items"]) == (1.0, 1)
