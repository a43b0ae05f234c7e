"""Who may create projects is a setting: superusers only, managers of any project, or everyone."""

import pytest

from projects.models import Project, Role
from tests.factories import UserFactory, add_member

FORM = {
    "name": "Second project", "slug": "", "ranking_mode": "rank", "responses_per_item": 2,
    "ties_allowed": "on", "rating_scale": 5, "overlap": 1, "lease_minutes": 20, "rationale": "off",
}  # fmt: skip


@pytest.mark.parametrize(
    ("creators", "role", "allowed"),
    [
        ("superusers", Role.MANAGER, False),
        ("managers", Role.MANAGER, True),
        ("managers", Role.ANNOTATOR, False),
        ("managers", Role.ENGINEER, False),
        ("everyone", Role.ANNOTATOR, True),
    ],
)
def test_the_setting_decides_who_sees_the_button_and_may_create(
    client, project, settings, creators, role, allowed
):
    # given a member of one project under the setting
    settings.PREFLAB_PROJECT_CREATORS = creators
    user = add_member(project, role, "member") if role != Role.MANAGER else project.created_by
    client.force_login(user)

    # when they open their projects and post the new-project form
    home = client.get("/").content.decode()
    response = client.post("/projects/new/", FORM)

    # then the button and the outcome follow the setting
    assert ("New project" in home) is allowed
    if allowed:
        assert response.status_code == 302
        created = Project.objects.get(slug="second-project")
        assert created.memberships.get(user=user).role == Role.MANAGER
    else:
        assert response.status_code == 403
        assert not Project.objects.filter(slug="second-project").exists()


def test_everyone_still_means_signed_in(client, db, settings):
    settings.PREFLAB_PROJECT_CREATORS = "everyone"
    assert client.post("/projects/new/", FORM).status_code == 302  # to the login page
    assert not Project.objects.filter(slug="second-project").exists()


def test_a_user_with_no_project_may_create_only_under_everyone(client, db, settings):
    client.force_login(UserFactory(username="newcomer"))
    settings.PREFLAB_PROJECT_CREATORS = "managers"
    assert client.post("/projects/new/", FORM).status_code == 403
    settings.PREFLAB_PROJECT_CREATORS = "everyone"
    assert client.post("/projects/new/", FORM).status_code == 302
