"""The project section nav: every project page names its section, and a member sees only
the sections their role opens, the page's own marked for screen readers."""

import re
from pathlib import Path

import pytest

from projects.models import Role
from projects.templatetags.project_nav import SECTION_KEYS
from tests.factories import add_member

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
INCLUDE = re.compile(r'\{% include "partials/project_nav.html"(?: with section="([\w-]+)")? %\}')


def test_every_page_with_the_nav_names_a_known_section():
    # given every template that shows the project nav
    pages = {
        path.relative_to(TEMPLATES): INCLUDE.findall(path.read_text())
        for path in TEMPLATES.rglob("*.html")
        if "partials/project_nav.html" in path.read_text()
    }

    # then each names its section, one of the nav's
    assert len(pages) > 20
    unnamed = {str(page): found for page, found in pages.items() if not found or "" in found}
    assert unnamed == {}
    unknown = {str(page): found for page, found in pages.items() if set(found) - SECTION_KEYS}
    assert unknown == {}


def _nav(html: str) -> str:
    return html[html.index('aria-label="Project sections"') : html.index("</nav>")]


@pytest.mark.django_db
def test_an_annotator_sees_only_their_sections_with_the_current_one_marked(client, project):
    # given an annotator on the guidelines page
    client.force_login(add_member(project, Role.ANNOTATOR, "ann"))

    # when the page renders
    nav = _nav(client.get(f"/p/{project.slug}/guidelines/").content.decode())

    # then the nav lists the annotator's sections, Guidelines marked current, no manager's ones
    labels = re.findall(r">([A-Z][a-z]+)</a></li>", nav)
    assert labels == ["Overview", "Guidelines", "Annotate"]
    assert re.search(r'aria-current="page">Guidelines<', nav)
    assert nav.count('aria-current="page"') == 1


@pytest.mark.django_db
def test_a_manager_sees_the_settings_section_marked_on_the_settings_page(client, project, manager):
    client.force_login(manager)
    nav = _nav(client.get(f"/p/{project.slug}/settings/").content.decode())
    assert re.search(r'aria-current="page">Settings<', nav)
    assert "Members" in nav and "Runs" in nav
