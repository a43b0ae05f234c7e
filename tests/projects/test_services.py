import pytest

from common.errors import ApplicationError, ConflictError, NotFoundError
from projects.models import GuidelineAck, Membership, Role
from projects.selectors import guideline_needs_ack
from projects.services import (
    guideline_acknowledge,
    guideline_publish,
    membership_remove,
    membership_set,
    project_create,
    project_update,
)
from tests.factories import UserFactory, add_member, make_items


def test_creator_becomes_manager(db):
    user = UserFactory(username="founder")
    project = project_create(creator=user, name="Helpfulness 2026")
    assert project.slug == "helpfulness-2026"
    assert Membership.objects.get(project=project, user=user).role == Role.MANAGER


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"responses_per_item": 1}, "responses_per_item"),
        ({"responses_per_item": 10}, "responses_per_item"),
        ({"overlap": 0}, "overlap"),
        ({"overlap": 11}, "overlap"),
        ({"ranking_mode": "pairwise", "responses_per_item": 3}, "responses_per_item"),
        ({"rating_scale": 1}, "rating_scale"),
        ({"lease_minutes": 0}, "lease_minutes"),
        ({"rationale": "sometimes"}, "rationale"),
    ],
)
def test_out_of_range_settings_are_refused_by_name(db, settings, field):
    with pytest.raises(ApplicationError) as error:
        project_create(creator=UserFactory(), name="Bad", **settings)
    assert error.value.extra["field"] == field


def test_pairwise_projects_default_to_two_responses(db):
    project = project_create(creator=UserFactory(), name="AB", ranking_mode="pairwise")
    assert project.responses_per_item == 2


def test_duplicate_slug_is_a_conflict(db):
    project_create(creator=UserFactory(), name="Same", slug="same")
    with pytest.raises(ConflictError, match="same"):
        project_create(creator=UserFactory(), name="Same again", slug="same")


def test_k_is_frozen_once_items_exist(project):
    make_items(project, 1)
    with pytest.raises(ConflictError, match="Responses per item cannot change") as error:
        project_update(project=project, responses_per_item=3)
    assert error.value.extra == {"field": "responses_per_item"}


def test_membership_set_adds_then_changes_role(project):
    user = UserFactory(username="newbie")
    membership_set(project=project, username="newbie", role=Role.ANNOTATOR)
    membership_set(project=project, username="newbie", role=Role.REVIEWER)
    assert Membership.objects.get(project=project, user=user).role == Role.REVIEWER


def test_membership_errors_name_the_problem(project):
    with pytest.raises(NotFoundError, match="ghost"):
        membership_set(project=project, username="ghost", role=Role.ANNOTATOR)
    with pytest.raises(ApplicationError, match="role"):
        membership_set(project=project, username="manager", role="boss")


def test_last_manager_cannot_be_removed(project, manager):
    with pytest.raises(ConflictError, match="at least one manager"):
        membership_remove(project=project, username=manager.username)


def test_publishing_a_version_asks_everyone_to_acknowledge_again(project, manager):
    annotator = add_member(project)
    assert guideline_needs_ack(project=project, user=annotator) is None
    v2 = guideline_publish(project=project, author=manager, body="Rule two", summary="stricter")
    assert v2.version == 2
    assert guideline_needs_ack(project=project, user=annotator) == v2
    assert guideline_needs_ack(project=project, user=manager) is None  # the author read it
    guideline_acknowledge(project=project, user=annotator, version=2)
    assert guideline_needs_ack(project=project, user=annotator) is None


def test_acknowledging_a_stale_version_is_a_conflict(project, manager):
    annotator = add_member(project, ack=False)
    guideline_publish(project=project, author=manager, body="v2")
    with pytest.raises(ConflictError, match="current version is 2"):
        guideline_acknowledge(project=project, user=annotator, version=1)
    assert not GuidelineAck.objects.filter(user=annotator).exists()


def test_empty_guidelines_are_refused(project, manager):
    with pytest.raises(ApplicationError, match="empty"):
        guideline_publish(project=project, author=manager, body="   \n")
