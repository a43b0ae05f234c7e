import pytest

from annotation.models import Annotation, Item
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from common.errors import ApplicationError, ConflictError
from projects.models import Role
from projects.services import guideline_acknowledge, guideline_publish
from tests.factories import add_member, make_items, make_project


def claim(project, user):
    return assignment_claim(user=user, project=project)


def test_rank_with_ties_is_stored_as_tiers(project, annotator):
    make_items(project, 1)
    lease = claim(project, annotator)
    a, b, c, d = lease.display_order
    annotation, created = annotation_submit(
        assignment_id=lease.pk,
        user=annotator,
        payload={"ranking": [[b], [a, c], [d]], "time_spent_ms": 5300, "rationale": "b is exact"},
    )
    assert created
    assert annotation.ranking == [[b], [a, c], [d]]
    assert (annotation.time_spent_ms, annotation.rationale) == (5300, "b is exact")
    assert annotation.display_order == lease.display_order
    assert annotation.guideline.version == 1
    assert Item.objects.get(pk=lease.item_id).submitted_count == 1


@pytest.mark.parametrize(
    ("ranking", "message"),
    [
        (lambda ids: [[ids[0]], [ids[1]], [ids[2]]], "unranked"),
        (lambda ids: [[ids[0]], [ids[0]], [ids[1]], [ids[2]], [ids[3]]], "more than once"),
        (lambda ids: [[ids[0]], [ids[1]], [ids[2]], [ids[3]], [999999]], "not in this item"),
        (lambda ids: [[ids[0]], [], [ids[1]], [ids[2]], [ids[3]]], "must not be empty"),
        (lambda ids: "best", "list of tiers"),
        (lambda ids: [["x"], [ids[1]], [ids[2]], [ids[3]]], "integers"),
    ],
)
def test_invalid_rankings_are_refused_with_a_reason(project, annotator, ranking, message):
    make_items(project, 1)
    lease = claim(project, annotator)
    with pytest.raises(ApplicationError, match=message):
        annotation_submit(
            assignment_id=lease.pk,
            user=annotator,
            payload={"ranking": ranking(lease.display_order)},
        )
    assert not Annotation.objects.exists()


def test_ties_refused_when_the_project_disallows_them(manager):
    project = make_project(manager=manager, slug="strict", ties_allowed=False)
    user = add_member(project)
    make_items(project, 1)
    lease = claim(project, user)
    a, b, c, d = lease.display_order
    with pytest.raises(ApplicationError, match="does not allow ties"):
        annotation_submit(
            assignment_id=lease.pk, user=user, payload={"ranking": [[a, b], [c], [d]]}
        )


def test_required_rationale(manager):
    project = make_project(manager=manager, slug="why", rationale="required")
    user = add_member(project)
    make_items(project, 1)
    lease = claim(project, user)
    payload = {"ranking": [[rid] for rid in lease.display_order]}
    with pytest.raises(ApplicationError, match="requires a rationale"):
        annotation_submit(assignment_id=lease.pk, user=user, payload=payload)
    annotation, _ = annotation_submit(
        assignment_id=lease.pk, user=user, payload={**payload, "rationale": "A cites"}
    )
    assert annotation.rationale == "A cites"


def test_pairwise_choice_with_strength(manager):
    project = make_project(manager=manager, slug="ab", ranking_mode="pairwise")
    user = add_member(project)
    make_items(project, 1)
    lease = claim(project, user)
    first, second = lease.display_order
    with pytest.raises(ApplicationError, match="how much better"):
        annotation_submit(assignment_id=lease.pk, user=user, payload={"choice": second})
    annotation, _ = annotation_submit(
        assignment_id=lease.pk, user=user, payload={"choice": second, "strength": 3}
    )
    assert annotation.ranking == [[second], [first]]
    assert annotation.strength == 3


def test_pairwise_tie_has_no_strength(manager):
    project = make_project(manager=manager, slug="ab2", ranking_mode="pairwise")
    user = add_member(project)
    make_items(project, 1)
    lease = claim(project, user)
    with pytest.raises(ApplicationError, match="no strength"):
        annotation_submit(
            assignment_id=lease.pk, user=user, payload={"choice": "tie", "strength": 2}
        )
    annotation, _ = annotation_submit(assignment_id=lease.pk, user=user, payload={"choice": "tie"})
    assert annotation.ranking == [sorted(lease.display_order)] and annotation.strength is None


def test_rate_mode_scores_every_response_and_derives_tiers(manager):
    project = make_project(manager=manager, slug="likert", ranking_mode="rate", rating_scale=7)
    user = add_member(project)
    make_items(project, 1)
    lease = claim(project, user)
    a, b, c, d = lease.display_order
    with pytest.raises(ApplicationError, match="from 1 to 7"):
        annotation_submit(
            assignment_id=lease.pk, user=user, payload={"ratings": {a: 8, b: 1, c: 1, d: 1}}
        )
    with pytest.raises(ApplicationError, match="missing"):
        annotation_submit(assignment_id=lease.pk, user=user, payload={"ratings": {a: 7}})
    annotation, _ = annotation_submit(
        assignment_id=lease.pk,
        user=user,
        payload={"ratings": {str(a): 7, str(b): 2, str(c): 7, str(d): 4}},
    )
    assert annotation.ratings == {str(a): 7, str(b): 2, str(c): 7, str(d): 4}
    assert annotation.ranking == [sorted([a, c]), [d], [b]]


def test_same_client_token_stores_once(project, annotator):
    make_items(project, 1)
    lease = claim(project, annotator)
    payload = {"ranking": [[rid] for rid in lease.display_order]}
    first, created = annotation_submit(
        assignment_id=lease.pk, user=annotator, payload=payload, client_token="t-1"
    )
    again, created_again = annotation_submit(
        assignment_id=lease.pk, user=annotator, payload=payload, client_token="t-1"
    )
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert Annotation.objects.count() == 1


def test_second_submit_without_token_is_a_conflict(project, annotator):
    make_items(project, 1)
    lease = claim(project, annotator)
    payload = {"ranking": [[rid] for rid in lease.display_order]}
    annotation_submit(assignment_id=lease.pk, user=annotator, payload=payload)
    with pytest.raises(ConflictError, match="already submitted"):
        annotation_submit(assignment_id=lease.pk, user=annotator, payload=payload)


def test_token_reused_for_another_item_is_a_conflict(project, annotator):
    make_items(project, 2)
    first = claim(project, annotator)
    annotation_submit(
        assignment_id=first.pk,
        user=annotator,
        payload={"ranking": [[r] for r in first.display_order]},
        client_token="t",
    )
    second = claim(project, annotator)
    with pytest.raises(ConflictError, match="another assignment"):
        annotation_submit(
            assignment_id=second.pk,
            user=annotator,
            payload={"ranking": [[r] for r in second.display_order]},
            client_token="t",
        )


def test_annotation_records_the_version_it_was_made_under(project, manager):
    annotator = add_member(project, Role.ANNOTATOR)
    make_items(project, 2)
    lease = claim(project, annotator)
    guideline_publish(project=project, author=manager, body="v2")
    # Still holding an item claimed under v1: the annotation says v1 until v2 is read.
    annotation, _ = annotation_submit(
        assignment_id=lease.pk,
        user=annotator,
        payload={"ranking": [[r] for r in lease.display_order]},
    )
    assert annotation.guideline.version == 1
    guideline_acknowledge(project=project, user=annotator)
    nxt = claim(project, annotator)
    annotation, _ = annotation_submit(
        assignment_id=nxt.pk, user=annotator, payload={"ranking": [[r] for r in nxt.display_order]}
    )
    assert annotation.guideline.version == 2


def test_none_acceptable_is_stored(project, annotator):
    make_items(project, 1)
    lease = claim(project, annotator)
    annotation, _ = annotation_submit(
        assignment_id=lease.pk,
        user=annotator,
        payload={"ranking": [[r] for r in lease.display_order], "none_acceptable": True},
    )
    assert annotation.none_acceptable is True
