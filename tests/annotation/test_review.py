"""Review flows: accept, reject (item reopened), correct (reviewer's annotation, original
kept), no self-review, and the queue's order."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from annotation.authoring.services.revisions import annotation_revise
from annotation.models import Annotation, AnnotationKind, AnnotationStatus, Item, ReviewState
from annotation.quality.models import Review
from annotation.quality.selectors.review import review_item, review_queue, reviews_received
from annotation.quality.services.review import (
    annotation_review_accept,
    annotation_review_correct,
    annotation_review_reject,
)
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from common.errors import ApplicationError, ConflictError, PermissionDeniedError
from projects.models import Role
from projects.services import guideline_publish
from tests.annotation.quality_helpers import annotate_all, by_id, first_shown_first
from tests.factories import add_member, make_items, make_project


@pytest.fixture
def reviewed(db):
    """K=3, overlap 2, everything sampled for review; two annotators did every item."""
    project = make_project(slug="rev", responses_per_item=3, overlap=2, review_rate=1.0)
    make_items(project, 4)
    ann1 = add_member(project, Role.ANNOTATOR, "ann1")
    ann2 = add_member(project, Role.ANNOTATOR, "ann2")
    annotate_all(project, ann1, by_id)
    annotate_all(project, ann2, first_shown_first)
    reviewer = add_member(project, Role.REVIEWER, "rev1")
    return project, ann1, ann2, reviewer


def test_review_rate_samples_and_unsure_always_goes(db):
    project = make_project(slug="rate0", responses_per_item=2, review_rate=0.0)
    make_items(project, 6)
    person = add_member(project, Role.ANNOTATOR)
    annotate_all(project, person, by_id, limit=3)
    annotate_all(project, person, by_id, payload_extra={"unsure": True})
    states = list(Annotation.objects.order_by("pk").values_list("review_state", "review_reason"))
    assert states == [("", "")] * 3 + [(ReviewState.PENDING, "unsure")] * 3


def test_unsure_must_be_a_boolean(db):
    project = make_project(slug="unsurebad", responses_per_item=2)
    make_items(project, 1)
    person = add_member(project, Role.ANNOTATOR)
    lease = assignment_claim(user=person, project=project)
    with pytest.raises(ApplicationError, match="unsure"):
        annotation_submit(
            assignment_id=lease.pk,
            user=person,
            payload={"ranking": by_id(lease.display_order), "unsure": "yes"},
        )


def test_accept_marks_reviewed_and_ends_revisions(reviewed):
    project, ann1, _, reviewer = reviewed
    annotation = Annotation.objects.filter(user=ann1).first()

    review = annotation_review_accept(
        project=project, annotation_id=annotation.pk, reviewer=reviewer
    )

    annotation.refresh_from_db()
    assert (review.verdict, annotation.review_state, annotation.status) == (
        "accepted",
        ReviewState.DONE,
        AnnotationStatus.ACTIVE,
    )
    assert annotation.reviewed_at is not None
    with pytest.raises(ConflictError, match="reviewed"):
        annotation_revise(
            annotation_id=annotation.pk, user=ann1, payload={"ranking": annotation.ranking}
        )
    with pytest.raises(ConflictError, match="already reviewed"):
        annotation_review_accept(project=project, annotation_id=annotation.pk, reviewer=reviewer)


def test_reject_reopens_the_item_for_one_more_annotation(reviewed):
    # given a complete item (overlap 2, both slots used)
    project, ann1, _, reviewer = reviewed
    annotation = Annotation.objects.filter(user=ann1).first()
    assert Item.objects.get(pk=annotation.item_id).open_slots == 0

    # when the reviewer rejects one annotation with a comment
    with pytest.raises(ApplicationError, match="comment"):
        annotation_review_reject(
            project=project, annotation_id=annotation.pk, reviewer=reviewer, comment=" "
        )
    annotation_review_reject(
        project=project, annotation_id=annotation.pk, reviewer=reviewer, comment="B is wrong <b>"
    )

    # then it no longer counts, the item has one open slot, and a third annotator gets it
    annotation.refresh_from_db()
    assert annotation.status == AnnotationStatus.REJECTED
    assert Item.objects.get(pk=annotation.item_id).open_slots == 1
    third = add_member(project, Role.ANNOTATOR, "ann3")
    assert assignment_claim(user=third, project=project).item_id == annotation.item_id
    # and the annotator sees the verdict with its comment
    (received,) = reviews_received(project=project, user=ann1)
    assert (received.verdict, received.comment) == ("rejected", "B is wrong <b>")


def test_correct_stores_the_reviewers_ranking_and_keeps_the_original(reviewed):
    project, _, ann2, reviewer = reviewed
    annotation = Annotation.objects.filter(user=ann2).first()
    original = annotation.ranking
    better = by_id(annotation.display_order)

    review = annotation_review_correct(
        project=project, annotation_id=annotation.pk, reviewer=reviewer, ranking=better
    )

    annotation.refresh_from_db()
    assert (annotation.status, annotation.ranking) == (AnnotationStatus.CORRECTED, original)
    correction = review.correction
    assert (correction.user, correction.kind, correction.ranking) == (
        reviewer,
        AnnotationKind.REVIEW_CORRECTION,
        better,
    )
    assert correction.item_id == annotation.item_id
    # a second correction on the same item revises the reviewer's one annotation
    other = Annotation.objects.get(item_id=annotation.item_id, user__username="ann1")
    annotation_review_correct(
        project=project, annotation_id=other.pk, reviewer=reviewer, ranking=list(reversed(better))
    )
    correction.refresh_from_db()
    assert (correction.revision, correction.ranking) == (2, list(reversed(better)))
    assert Annotation.objects.filter(kind=AnnotationKind.REVIEW_CORRECTION).count() == 1


def test_a_correction_records_the_guidelines_in_force_not_the_last_acknowledged(reviewed):
    # given: the reviewer acknowledged v1, then v2 was published (reviewing asks no ack)
    project, ann1, ann2, reviewer = reviewed
    guideline_publish(project=project, author=project.created_by, body="# Rules v2")
    first = Annotation.objects.filter(user=ann2).first()
    other = Annotation.objects.get(item_id=first.item_id, user=ann1)

    # when
    review = annotation_review_correct(
        project=project, annotation_id=first.pk, reviewer=reviewer, ranking=first.ranking
    )

    # then
    assert review.correction.guideline.version == 2
    # and a later correction of the same item, after v3, records v3
    guideline_publish(project=project, author=project.created_by, body="# Rules v3")
    annotation_review_correct(
        project=project, annotation_id=other.pk, reviewer=reviewer, ranking=first.ranking
    )
    review.correction.refresh_from_db()
    assert (review.correction.revision, review.correction.guideline.version) == (2, 3)


def test_reviewers_never_review_their_own_work(reviewed):
    project, ann1, ann2, _ = reviewed
    # a reviewer who annotated an item can review neither their own annotation nor others'
    busy_reviewer = add_member(project, Role.REVIEWER, "busy")
    make_items(project, 1)
    annotate_all(project, busy_reviewer, by_id)
    mine = Annotation.objects.get(user=busy_reviewer)
    with pytest.raises(PermissionDeniedError, match="your own"):
        annotation_review_accept(project=project, annotation_id=mine.pk, reviewer=busy_reviewer)
    theirs = Annotation.objects.filter(user=ann1).first()
    annotation_submit_other_on(project, theirs.item_id, busy_reviewer)
    with pytest.raises(PermissionDeniedError, match="you annotated this item"):
        annotation_review_reject(
            project=project, annotation_id=theirs.pk, reviewer=busy_reviewer, comment="no"
        )
    # and such items never reach their queue, nor their review view
    assert theirs.item_id not in [
        e.item_id for e in review_queue(project=project, reviewer=busy_reviewer)
    ]
    with pytest.raises(PermissionDeniedError, match="you annotated this item"):
        review_item(project=project, item_id=theirs.item_id, reviewer=busy_reviewer)


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.MANAGER])
def test_the_review_view_of_an_item_one_annotated_is_refused_on_the_page_and_in_the_api(
    reviewed, role
):
    # given a reviewer (or manager) who ranked an item that others ranked too
    project, ann1, _, _ = reviewed
    busy = add_member(project, role, "busy")
    theirs = Annotation.objects.filter(user=ann1).first()
    annotation_submit_other_on(project, theirs.item_id, busy)
    api, page = APIClient(), Client()
    api.force_authenticate(busy)
    page.force_login(busy)

    # when they open its review view by address
    answer = api.get(f"/api/v1/projects/{project.slug}/review/items/{theirs.item_id}/")
    html = page.get(f"/p/{project.slug}/review/items/{theirs.item_id}/")

    # then both refuse, saying why, and show nobody's work
    assert answer.status_code == 403
    assert "you annotated this item" in answer.json()["message"]
    assert html.status_code == 403
    assert "you annotated this item; someone else reviews it" in html.content.decode()
    for shown in (answer.content.decode(), html.content.decode()):
        assert "ann1" not in shown and "ann2" not in shown
    # and an item they did not annotate still opens
    other = Annotation.objects.exclude(item_id=theirs.item_id).first()
    assert (
        api.get(f"/api/v1/projects/{project.slug}/review/items/{other.item_id}/").status_code == 200
    )
    assert page.get(f"/p/{project.slug}/review/items/{other.item_id}/").status_code == 200


def annotation_submit_other_on(project, item_id, user):
    """Give ``user`` an annotation on ``item_id`` by opening one more slot for them."""
    Item.objects.filter(pk=item_id).update(open_slots=1)
    Item.objects.filter(project=project).exclude(pk=item_id).update(open_slots=0)
    lease = assignment_claim(user=user, project=project)
    assert lease.item_id == item_id
    annotation_submit(
        assignment_id=lease.pk, user=user, payload={"ranking": by_id(lease.display_order)}
    )


def test_queue_puts_the_lowest_agreement_first(reviewed):
    project, _, _, reviewer = reviewed
    queue = review_queue(project=project, reviewer=reviewer)
    agreements = [entry.agreement for entry in queue]
    assert len(queue) == 4
    assert agreements == sorted(agreements)
    # a reviewed item leaves the queue once all its annotations are reviewed
    for annotation in Annotation.objects.filter(item_id=queue[0].item_id):
        annotation_review_accept(project=project, annotation_id=annotation.pk, reviewer=reviewer)
    assert queue[0].item_id not in [
        e.item_id for e in review_queue(project=project, reviewer=reviewer)
    ]
    assert Review.objects.filter(reviewer=reviewer).count() == 2
