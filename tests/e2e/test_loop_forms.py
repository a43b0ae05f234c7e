"""The loop page's forms show only the fields that apply to the choice made (issue 21).

A generator's local-model fields show for a local generator, its endpoint fields for an
OpenAI-compatible one; the disagreement top-up shows only for the rules that use it."""

import pytest
from playwright.sync_api import Page, expect

from projects.models import Role
from tests.factories import add_member, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_generator_form_shows_only_its_kinds_fields(page: Page, live_server, log_in, page_errors):
    # given an engineer on the loop page, the "Add generator" form open
    project = make_project(slug="loop-forms")
    engineer = add_member(project, Role.ENGINEER, "eng")
    log_in(engineer.username)
    page.goto(f"{live_server.url}/p/{project.slug}/loop/")
    page.locator("#generators summary").click()
    form = page.locator("#generator-form")
    local, endpoint = form.get_by_label("Model path"), form.get_by_label("Base URL")
    requests = form.get_by_label("Timeout (s)")
    # no kind chosen yet: neither kind's fields, the common ones shown
    expect(form.get_by_role("textbox", name="Name", exact=True)).to_be_visible()
    expect(form.get_by_label("Temperature")).to_be_visible()
    expect(local).to_be_hidden()
    expect(endpoint).to_be_hidden()

    # when the kind is an OpenAI-compatible endpoint, then its URL, key and requests show
    form.get_by_label("Kind").select_option("openai")
    expect(endpoint).to_be_visible()
    expect(form.get_by_label("API key variable")).to_be_visible()
    expect(requests).to_be_visible()
    expect(local).to_be_hidden()

    # and when it changes to a local model, its path and policy show, the endpoint's hide
    form.get_by_label("Kind").select_option("local")
    expect(local).to_be_visible()
    expect(form.get_by_label("Policy")).to_be_visible()
    expect(endpoint).to_be_hidden()
    expect(requests).to_be_hidden()
    assert page_errors == []


def test_the_disagreement_cap_shows_only_for_the_rules_that_top_up(
    page: Page, live_server, log_in, page_errors
):
    # given a manager on the loop page, items served as imported
    project = make_project(slug="loop-rules")
    log_in(project.memberships.get(role=Role.MANAGER).user.username)
    page.goto(f"{live_server.url}/p/{project.slug}/loop/")
    form = page.locator("#settings-form")
    cap = form.get_by_label("Disagreement cap")
    expect(cap).to_be_hidden()

    # when the rule is annotator disagreement, or a mix, then the threshold and cap show
    for rule in ("disagreement", "mix"):
        form.get_by_label("Acquisition rule").select_option(rule)
        expect(cap).to_be_visible()
        expect(form.get_by_label("Disagreement threshold")).to_be_visible()
    # and for random they hide again
    form.get_by_label("Acquisition rule").select_option("random")
    expect(cap).to_be_hidden()
    assert page_errors == []
