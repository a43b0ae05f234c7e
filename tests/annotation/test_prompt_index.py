"""Imported prompts get band keys in the background, so near repeats of them are found."""

from annotation.authoring.services.prompts import prompt_duplicates_find
from annotation.models import PromptBand
from annotation.services.prompt_index import prompt_bands_backfill
from projects.services import project_update
from tests.factories import make_items, make_project


def test_the_backfill_indexes_imported_prompts_once(db):
    # given imported prompts (no band keys) in a project that then turns writing on
    project = make_project(slug="idx")
    make_items(project, 30)
    assert prompt_bands_backfill(project_id=project.pk) == 0  # writing is off: nothing to do
    project = project_update(project=project, prompt_writing=True, response_source="queue")
    near = [{"role": "user", "content": "Question number 17 ?!"}]
    assert prompt_duplicates_find(project=project, messages=near) == []
    # when the backfill runs (twice, as a duplicate delivery would)
    assert prompt_bands_backfill(project_id=project.pk) == 30
    assert prompt_bands_backfill(project_id=project.pk) == 0
    # then every prompt has its 16 keys and a repeat of an imported prompt is found
    assert PromptBand.objects.count() == 30 * 16
    matches = prompt_duplicates_find(project=project, messages=near)
    # (short numbered prompts are near each other too; the exact one ranks first)
    assert matches[0].text == "Question number 17?" and matches[0].exact
    assert all(not m.exact and m.similarity >= 0.8 for m in matches[1:])
