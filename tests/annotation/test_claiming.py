from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Assignment, AssignmentState, Batch, Item
from annotation.services.batches import batch_restrict
from annotation.services.claiming import (
    GuidelinesNotAcknowledged,
    assignment_claim,
    assignment_heartbeat,
    assignment_skip,
    assignments_reap_expired,
)
from annotation.services.submission import annotation_submit
from common.errors import ConflictError, NotFoundError
from projects.models import Role
from projects.services import group_set_members, guideline_publish, project_update
from tests.factories import add_member, make_items


def rank_all(assignment) -> dict:
    return {"ranking": [[rid] for rid in assignment.display_order]}


def test_claim_serves_by_priority_then_age(project, annotator):
    # given
    low = make_items(project, 2)
    high = make_items(project, 1, priority=5)
    # when
    first = assignment_claim(user=annotator, project=project)
    annotation_submit(assignment_id=first.pk, user=annotator, payload=rank_all(first))
    second = assignment_claim(user=annotator, project=project)
    # then
    assert first.item_id == high[0].pk
    assert second.item_id == low[0].pk


def test_claim_is_refresh_safe(project, annotator):
    make_items(project, 3)
    first = assignment_claim(user=annotator, project=project)
    again = assignment_claim(user=annotator, project=project)
    assert again.pk == first.pk
    assert Assignment.objects.filter(user=annotator).count() == 1


def test_prefetch_holds_at_most_two_leases(project, annotator):
    make_items(project, 5)
    current = assignment_claim(user=annotator, project=project)
    upcoming = assignment_claim(user=annotator, project=project, exclude_ids=(current.pk,))
    third = assignment_claim(user=annotator, project=project, exclude_ids=(current.pk, upcoming.pk))
    assert upcoming.item_id != current.item_id
    assert third is None
    assert Assignment.objects.filter(user=annotator, state=AssignmentState.ACTIVE).count() == 2


def test_claim_never_exceeds_overlap_nor_repeats_an_annotator(project):
    # given one item with overlap 2 and three annotators
    (item,) = make_items(project, 1)
    people = [add_member(project) for _ in range(3)]
    # when
    claims = [assignment_claim(user=person, project=project) for person in people]
    # then
    assert [c is not None for c in claims] == [True, True, False]
    item.refresh_from_db()
    assert item.open_slots == 0
    annotation_submit(assignment_id=claims[0].pk, user=people[0], payload=rank_all(claims[0]))
    assert assignment_claim(user=people[0], project=project) is None  # never twice


def test_claim_requires_current_guidelines(project, annotator, manager):
    make_items(project, 1)
    guideline_publish(project=project, author=manager, body="v2: new rules")
    with pytest.raises(GuidelinesNotAcknowledged):
        assignment_claim(user=annotator, project=project)


def test_expired_lease_returns_item_to_pool(project):
    (item,) = make_items(project, 1)
    project_update(project=project, overlap=1)
    first, second = add_member(project), add_member(project)
    lease = assignment_claim(user=first, project=project)
    assert assignment_claim(user=second, project=project) is None
    # when the lease runs out
    Assignment.objects.filter(pk=lease.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    # then the next claim reaps it and serves the item to someone else
    taken = assignment_claim(user=second, project=project)
    assert taken.item_id == item.pk
    lease.refresh_from_db()
    assert lease.state == AssignmentState.EXPIRED


def test_submit_after_expiry_revives_lease_when_room_is_left(project, annotator):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    Assignment.objects.filter(pk=lease.pk).update(
        lease_expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert assignments_reap_expired(project=project) == 1
    annotation, created = annotation_submit(
        assignment_id=lease.pk, user=annotator, payload=rank_all(lease)
    )
    assert created
    item = Item.objects.get(pk=lease.item_id)
    assert (item.open_slots, item.submitted_count) == (1, 1)


def test_submit_after_expiry_conflicts_when_item_went_elsewhere(project):
    make_items(project, 1)
    project_update(project=project, overlap=1)
    slow, fast = add_member(project), add_member(project)
    lease = assignment_claim(user=slow, project=project)
    Assignment.objects.filter(pk=lease.pk).update(
        lease_expires_at=timezone.now() - timedelta(minutes=1)
    )
    taken = assignment_claim(user=fast, project=project)
    annotation_submit(assignment_id=taken.pk, user=fast, payload=rank_all(taken))
    with pytest.raises(ConflictError, match="went to someone else"):
        annotation_submit(assignment_id=lease.pk, user=slow, payload=rank_all(lease))


def test_heartbeat_extends_the_lease(project, annotator):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    Assignment.objects.filter(pk=lease.pk).update(
        lease_expires_at=timezone.now() + timedelta(seconds=5)
    )
    renewed = assignment_heartbeat(assignment_id=lease.pk, user=annotator)
    assert renewed.lease_expires_at > timezone.now() + timedelta(minutes=project.lease_minutes - 1)


def test_skip_frees_the_slot_for_someone_else(project):
    (item,) = make_items(project, 1)
    project_update(project=project, overlap=1)
    first, second = add_member(project), add_member(project)
    lease = assignment_claim(user=first, project=project)
    assignment_skip(assignment_id=lease.pk, user=first, reason="not my language")
    # then it goes to the second annotator and never back to the first
    assert assignment_claim(user=second, project=project).item_id == item.pk
    assert assignment_claim(user=first, project=project) is None
    lease.refresh_from_db()
    assert (lease.state, lease.skip_reason) == (AssignmentState.SKIPPED, "not my language")


def test_skip_is_idempotent(project, annotator):
    (item,) = make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    assignment_skip(assignment_id=lease.pk, user=annotator)
    assignment_skip(assignment_id=lease.pk, user=annotator)
    item.refresh_from_db()
    assert item.open_slots == project.overlap


def test_someone_elses_assignment_is_not_found(project, annotator):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    intruder = add_member(project)
    with pytest.raises(NotFoundError):
        annotation_submit(assignment_id=lease.pk, user=intruder, payload=rank_all(lease))
    with pytest.raises(NotFoundError):
        assignment_skip(assignment_id=lease.pk, user=intruder)


def test_restricted_batch_goes_only_to_named_people(project):
    # given a restricted batch (for alice, or the "experts" group) and one open item
    alice, bob, carol = (add_member(project, username=name) for name in ("alice", "bob", "carol"))
    group_set_members(project=project, name="experts", usernames=["carol"])
    batch = Batch.objects.create(project=project, name="medical")
    restricted = make_items(project, 1, batch=batch, priority=10)
    open_item = make_items(project, 1)
    batch_restrict(batch=batch, restricted=True, usernames=["alice"], group_names=["experts"])
    # then
    assert assignment_claim(user=bob, project=project).item_id == open_item[0].pk
    assert assignment_claim(user=alice, project=project).item_id == restricted[0].pk
    assert assignment_claim(user=carol, project=project).item_id == restricted[0].pk


def test_display_order_is_a_permutation_of_the_item_responses(project, annotator):
    (item,) = make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    assert sorted(lease.display_order) == sorted(
        item.item_responses.values_list("response_id", flat=True)
    )


def test_raising_overlap_reopens_items(project, annotator):
    (item,) = make_items(project, 1)
    project_update(project=project, overlap=1)
    lease = assignment_claim(user=annotator, project=project)
    annotation_submit(assignment_id=lease.pk, user=annotator, payload=rank_all(lease))
    project_update(project=project, overlap=3)
    item.refresh_from_db()
    assert item.open_slots == 2


def test_reviewers_and_managers_can_claim_engineers_cannot_by_role(project, engineer):
    from projects.permissions import Capability, has_capability

    reviewer = add_member(project, Role.REVIEWER)
    assert has_capability(reviewer, project, Capability.ANNOTATE)
    assert not has_capability(engineer, project, Capability.ANNOTATE)
