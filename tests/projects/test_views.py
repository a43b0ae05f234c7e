"""Manager pages: create a project, change settings, members and groups, publish guidelines."""

import pytest

from projects.models import AnnotatorGroup, Membership, Project, Role
from tests.factories import UserFactory, add_member, make_items


@pytest.fixture
def as_manager(client, manager, project):
    client.force_login(manager)
    return client


def test_staff_creates_a_project_from_the_page(client, db):
    client.force_login(UserFactory(username="staff", is_staff=True))
    response = client.post(
        "/projects/new/",
        {
            "name": "Code review", "slug": "", "ranking_mode": "rank", "responses_per_item": 3,
            "ties_allowed": "on", "rating_scale": 5, "overlap": 2, "lease_minutes": 20, "rationale": "off",
        },
    )  # fmt: skip
    project = Project.objects.get(slug="code-review")
    assert response["Location"] == "/p/code-review/"
    assert (project.responses_per_item, project.overlap, project.rationale) == (3, 2, "off")


def test_settings_page_saves_and_validates(as_manager, project):
    base = {
        "name": project.name, "ranking_mode": "rank", "responses_per_item": 4, "ties_allowed": "on",
        "rating_scale": 5, "overlap": 3, "lease_minutes": 30, "rationale": "required",
    }  # fmt: skip
    assert as_manager.post(f"/p/{project.slug}/settings/", base).status_code == 302
    project.refresh_from_db()
    assert (project.overlap, project.rationale) == (3, "required")
    page = as_manager.post(f"/p/{project.slug}/settings/", {**base, "ranking_mode": "pairwise"})
    assert page.status_code == 200
    assert "Responses per item must be 2 in pairwise mode" in page.content.decode()


def test_members_page_adds_changes_and_removes(as_manager, project):
    UserFactory(username="newcomer")
    as_manager.post(f"/p/{project.slug}/members/add/", {"username": "newcomer", "role": "reviewer"})
    assert Membership.objects.get(project=project, user__username="newcomer").role == Role.REVIEWER
    as_manager.post(f"/p/{project.slug}/members/remove/", {"username": "newcomer"})
    assert not Membership.objects.filter(project=project, user__username="newcomer").exists()
    page = as_manager.post(
        f"/p/{project.slug}/members/add/",
        {"username": "ghost", "role": "annotator"},
        follow=True,
    )
    assert "No account named &#x27;ghost&#x27;" in page.content.decode()
    assert "ask an administrator to create it" in page.content.decode()


def test_groups_are_made_of_members(as_manager, project):
    add_member(project, Role.ANNOTATOR, "ann1")
    as_manager.post(f"/p/{project.slug}/members/groups/", {"name": "experts", "usernames": "ann1"})
    assert list(
        AnnotatorGroup.objects.get(name="experts").members.values_list("username", flat=True)
    ) == ["ann1"]
    UserFactory(username="stranger")
    page = as_manager.post(
        f"/p/{project.slug}/members/groups/",
        {"name": "x", "usernames": "stranger"},
        follow=True,
    )
    assert "not members of this project" in page.content.decode()


def test_publishing_guidelines_from_the_page(as_manager, project):
    response = as_manager.post(
        f"/p/{project.slug}/guidelines/edit/", {"body": "# v2\nBe kind.", "summary": "kinder"}
    )
    assert response.status_code == 302
    assert project.guidelines.first().version == 2
    old = as_manager.get(f"/p/{project.slug}/guidelines/v1/").content.decode()
    assert "Rank the best first." in old


def test_settings_page_names_the_setting_and_what_to_do_when_k_is_frozen(as_manager, project):
    # given a project with items
    make_items(project, 1)
    base = {
        "name": project.name, "ranking_mode": "rank", "responses_per_item": 3, "ties_allowed": "on",
        "rating_scale": 5, "overlap": 2, "lease_minutes": 30, "rationale": "optional",
    }  # fmt: skip
    # when the manager changes K on the settings page
    page = as_manager.post(f"/p/{project.slug}/settings/", base).content.decode()
    # then the page names the setting by its label and says what to do instead
    assert "Responses per item cannot change once the project has items" in page
    assert "create a new project" in page
    assert "responses_per_item cannot" not in page


def test_forbidden_page_says_which_roles_may_and_who_changes_yours(client, project):
    # given an annotator
    client.force_login(add_member(project, Role.ANNOTATOR))
    # when they open the settings page
    settings_page = client.get(f"/p/{project.slug}/settings/")
    # then the page says in words who the page is for and whom to ask
    assert settings_page.status_code == 403
    text = settings_page.content.decode()
    assert "This is for the project&#x27;s managers." in text
    assert f"Your role in &#x27;{project.name}&#x27; is annotator" in text
    assert "(manage)" not in text
