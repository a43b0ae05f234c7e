"""The loop page's wording: where to find things, and model paths short enough to read."""

import pytest

from projects.models import Role
from tests.factories import add_member, make_project
from training.loop.models import Generator

GGUF = "/work/main/.venv/lib/python3.11/site-packages/llama_models/qwen2.5-0.5b-q4.gguf"


@pytest.fixture
def loop_page(db, client):
    """The engineer's loop page of a project with one local generator and no reward model."""
    project = make_project(slug="loop-text")
    engineer = add_member(project, Role.ENGINEER, "eng")
    Generator.objects.create(project=project, name="small", kind="local", model_path=GGUF)
    client.force_login(engineer)
    return client.get(f"/p/{project.slug}/loop/").content.decode()


def test_the_generators_table_shows_a_file_name_and_a_short_kind(loop_page):
    # then: the row names the file, the whole path in its title, and the kind in a word
    row = loop_page.split('aria-label="Generators"')[1].split("</tr>")[1]
    assert f'<code title="{GGUF}">qwen2.5-0.5b-q4.gguf</code>' in row
    assert f">{GGUF}<" not in row
    assert ">Local</td>" in row and "run by a GPU worker</td>" not in row


def test_the_prompt_source_hint_points_at_the_card_below_not_the_page_it_is_on(loop_page):
    # then: the reason "Unsure prompts" cannot be chosen points down the page
    assert "choose one under Pre-ranking below." in loop_page
    assert "on the loop page" not in loop_page
