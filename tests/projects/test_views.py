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
    page = as_manager.post(f"/p/{project.slug}/settings/", {**base, "overlap": 0})
    assert page.status_code == 200
    assert "Overlap must be between 1 and 10" in page.content.decode()


def test_switching_to_pairwise_on_the_page_takes_two_responses(as_manager, project):
    # given a rank project with K = 4, whose hidden K control still posts 4
    base = {
        "name": project.name, "ranking_mode": "pairwise", "responses_per_item": 4,
        "rating_scale": 5, "overlap": 1, "lease_minutes": 30, "rationale": "optional",
    }  # fmt: skip
    # when the manager picks pairwise and saves
    response = as_manager.post(f"/p/{project.slug}/settings/", base)
    # then pairwise is saved with its two responses
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.ranking_mode, project.responses_per_item) == ("pairwise", 2)


def test_settings_page_asks_k_only_for_the_modes_it_applies_to(as_manager, project):
    page = as_manager.get(f"/p/{project.slug}/settings/").content.decode()
    fieldset = page.split('data-show-when="ranking_mode=rank,rate"', 1)[1].split("</fieldset>")[0]
    assert 'name="responses_per_item"' in fieldset


def test_settings_errors_land_at_their_fields_and_the_header_keeps_the_saved_name(
    as_manager, project
):
    # given a manager who renames the project but sets two values out of range
    post = {
        "name": "Renamed", "ranking_mode": "rank", "responses_per_item": 4, "ties_allowed": "on",
        "rating_scale": 5, "overlap": 0, "lease_minutes": 30, "rationale": "optional",
        "gold_rate": 0.9,
    }  # fmt: skip
    response = as_manager.post(f"/p/{project.slug}/settings/", post)
    # then each message sits at its own field, none above the form
    form = response.context["form"]
    assert form.non_field_errors() == []
    assert "Overlap must be between 1 and 10" in form.errors["overlap"][0]
    assert "Gold rate must be between 0 and 0.5" in form.errors["gold_rate"][0]
    page = response.content.decode()
    assert 'class="errorlist nonfield"' not in page
    assert 'id="id_overlap_error"' in page and 'id="id_gold_rate_error"' in page
    # and the page's header and title keep the saved name, the field the typed one
    assert response.context["project"].name == project.name
    assert f"Settings · {project.name}" in page
    assert 'value="Renamed"' in page


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
