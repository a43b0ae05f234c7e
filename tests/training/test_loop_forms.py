"""The loop page's forms group their fields and mark the groups that apply to one choice only
(issue 21): without JS every group is shown, and show_when.js hides the others."""

import re

import pytest

from projects.models import Role
from tests.factories import add_member, make_project

pytestmark = pytest.mark.django_db


def _fieldsets(page: str, form_id: str) -> dict[str, str]:
    """Each fieldset's legend in the form, with its data-show-when ("" when always shown)."""
    form = page.split(f'id="{form_id}"')[1].split("</form>")[0]
    found = re.findall(r'<fieldset(?: data-show-when="([^"]*)")?>\s*<legend>([^<]*)</legend>', form)
    return {legend: rule for rule, legend in found}


def test_the_loop_forms_mark_which_choice_each_group_applies_to(client):
    # given a project's manager, who is its engineer too
    project = make_project(slug="loop-groups")
    manager = project.memberships.get(role=Role.MANAGER).user
    add_member(project, Role.ENGINEER, "eng")
    client.force_login(manager)
    page = client.get(f"/p/{project.slug}/loop/").content.decode()
    assert _fieldsets(page, "settings-form") == {
        "Pre-ranking": "",
        "What annotators see next": "",
        "Disagreement top-up": "acquisition_rule=disagreement,mix",
    }
    # and without JS every field is on the page, each with its label above it
    for name in ("reward_model", "assist_mode", "disagreement_threshold", "disagreement_cap"):
        assert f'name="{name}"' in page and f'<label for="id_{name}">' in page

    # when the engineer opens the page, then a generator's fields group by its kind
    client.force_login(project.memberships.get(role=Role.ENGINEER).user)
    page = client.get(f"/p/{project.slug}/loop/").content.decode()
    assert _fieldsets(page, "generator-form") == {
        "Generator": "",
        "Local model": "kind=local",
        "OpenAI-compatible endpoint": "kind=openai",
        "Sampling": "",
        "Requests": "kind=openai",
    }
    for name in ("model_path", "policy", "base_url", "api_key_env", "requests_per_minute"):
        assert f'name="{name}"' in page
    assert "js/show_when.js" in page


def test_a_refused_generator_says_why_at_its_field(client):
    # given an engineer adding a generator whose key variable is not a PREFLAB_KEY_ name
    project = make_project(slug="loop-errors")
    client.force_login(add_member(project, Role.ENGINEER, "eng"))
    page = client.post(
        f"/p/{project.slug}/loop/generators/",
        {
            "name": "g",
            "kind": "openai",
            "base_url": "http://vllm:8000/v1",
            "model_name": "m",
            "api_key_env": "HOME",
        },
    ).content.decode()
    # then the error sits in that field's own block, which is marked as in error
    before, after = page.split('data-field="api_key_env"')
    assert 'id="id_api_key_env_error"' in after.split('<div class="field')[0]
    assert "has-error" in before[before.rindex("<div") :]


def test_a_bad_base_url_shows_at_the_base_url_field_without_its_raw_name(client):
    # given an engineer adding an endpoint generator with a base URL that is not http(s)
    project = make_project(slug="loop-url")
    client.force_login(add_member(project, Role.ENGINEER, "eng"))
    response = client.post(
        f"/p/{project.slug}/loop/generators/",
        {
            "name": "g",
            "kind": "openai",
            "base_url": "ftp://models.example.com/v1",
            "model_name": "m",
        },
    )
    # then the refusal sits at Base URL, worded for people, and not above the form
    form = response.context["generator_form"]
    assert form.non_field_errors() == []
    assert form.errors["base_url"] == ["An http(s) URL such as http://vllm:8000/v1"]
    page = response.content.decode()
    block = page.split('data-field="base_url"')[1].split('<div class="field')[0]
    assert 'id="id_base_url_error"' in block
    assert "base_url:" not in page


def test_a_refused_settings_save_leaves_the_page_showing_the_saved_project(client):
    # given a project that serves items as imported, with three annotators per item
    project = make_project(slug="loop-refused", overlap=3)
    client.force_login(project.memberships.get(role=Role.MANAGER).user)

    # when its manager asks for disagreement top-ups capped below the overlap
    response = client.post(
        f"/p/{project.slug}/loop/settings/",
        {"acquisition_rule": "disagreement", "disagreement_threshold": "0.5",
         "disagreement_cap": "1", "assist_mode": project.assist_mode},
    )  # fmt: skip

    # then the save is refused, and the page still shows the project as it is saved
    assert response.context["settings_form"].errors
    assert response.context["project"].acquisition_rule == project.acquisition_rule
    project.refresh_from_db()
    assert project.acquisition_rule != "disagreement"
