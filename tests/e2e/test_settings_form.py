"""The project settings page shows only the fieldsets that apply to the chosen mode.

static/js/show_when.js hides a ``data-show-when`` fieldset while its condition fails and
reveals it when the choice changes; the hidden inputs are still sent, so saving keeps
what was typed; without JS every fieldset is shown."""

import pytest
from playwright.sync_api import Browser, Page, expect

from projects.models import Project
from tests.factories import PASSWORD, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RANK = 'fieldset[data-show-when="ranking_mode=rank"]'
PAIRWISE = 'fieldset[data-show-when="ranking_mode=pairwise"]'
RATING = 'fieldset[data-show-when="ranking_mode=rate"]'
WRITTEN = 'fieldset[data-show-when="prompt_writing=on"]'


def test_changing_the_mode_swaps_its_fieldset_and_saving_keeps_typed_values(
    page: Page, live_server, log_in, page_errors
):
    # given a rank project and its manager on the settings page
    project = make_project(slug="modes", ranking_mode="rank", ties_allowed=True)
    log_in(project.created_by.username)
    page.goto(f"{live_server.url}/p/modes/settings/")
    expect(page.locator(RANK)).to_be_visible()
    expect(page.locator(PAIRWISE)).to_be_hidden()
    expect(page.locator(RATING)).to_be_hidden()
    expect(page.locator(WRITTEN)).to_be_hidden()

    # when the manager picks the rating mode, types a scale and ticks prompt writing
    page.get_by_label("Ranking mode").select_option("rate")
    expect(page.locator(RATING)).to_be_visible()
    expect(page.locator(RANK)).to_be_hidden()
    page.get_by_label("Rating scale").fill("7")
    page.get_by_label("Prompt writing").check()
    expect(page.locator(WRITTEN)).to_be_visible()
    page.get_by_label("Prompt target").fill("12")
    page.get_by_role("button", name="Save settings").click()

    # then a refusal shows at its field, described to screen readers, with the typed values kept
    source = page.get_by_label("Response source")
    expect(page.locator("#id_response_source_error")).to_contain_text("Response source")
    expect(source).to_have_attribute("aria-describedby", "id_response_source_error")
    expect(page.locator(RATING)).to_be_visible()
    expect(page.get_by_label("Rating scale")).to_have_value("7")
    expect(page.get_by_label("Prompt target")).to_have_value("12")

    # when the manager picks who answers written prompts and saves again
    source.select_option("queue")
    page.get_by_role("button", name="Save settings").click()

    # then the values are saved, the hidden rank setting kept, and the page shows rating's
    expect(page.locator(".messages")).to_contain_text("Settings saved.")
    project = Project.objects.get(slug="modes")
    assert (project.ranking_mode, project.rating_scale) == ("rate", 7)
    assert (project.prompt_writing, project.prompt_target) == (True, 12)
    assert project.ties_allowed is True
    expect(page.locator(RATING)).to_be_visible()
    expect(page.get_by_label("Rating scale")).to_have_value("7")
    expect(page.locator(RANK)).to_be_hidden()
    expect(page.locator(PAIRWISE)).to_be_hidden()
    assert page_errors == []


def test_without_javascript_every_fieldset_is_shown(browser: Browser, live_server):
    # given a rank project's manager in a browser with JavaScript off
    project = make_project(slug="nojs", ranking_mode="rank")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(project.created_by.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # when the settings page loads
    page.goto(f"{live_server.url}/p/nojs/settings/")

    # then the fieldsets of every mode are there to fill in
    for selector in (RANK, PAIRWISE, RATING, WRITTEN):
        expect(page.locator(selector)).to_be_visible()
    context.close()
