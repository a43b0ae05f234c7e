"""The manager's import and batch pages on the design system (issue 21): fields render
through the field partial (label above, help under, errors at the field), job states are
badges, and an empty list says what to do."""

from annotation.importing.models import ImportJob
from annotation.models import Batch
from common.jobs import JobState


def test_an_upload_without_a_file_shows_the_error_at_its_field(project, client, manager):
    client.force_login(manager)
    page = client.post(f"/p/{project.slug}/imports/", {"batch": "b"}).content.decode()
    field = page[page.index('data-field="file"') :]
    assert field.index('<label for="id_file">') < field.index('id="id_file_helptext"')
    assert 'id="id_file_error"' in field[: field.index('data-field="batch"')]
    assert "No imports yet" in page and 'href="#id_file"' in page


def test_recent_imports_show_their_state_as_a_badge(project, client, manager):
    ImportJob.objects.create(
        project=project, uploaded_by=manager, original_name="bad.jsonl", state=JobState.FAILED
    )
    client.force_login(manager)
    page = client.get(f"/p/{project.slug}/imports/").content.decode()
    assert '<span class="badge failed" data-status="failed">Failed</span>' in page
    assert '<div class="table-wrap">' in page


def test_each_batch_form_has_labelled_fields_of_its_own(project, client, manager):
    first = Batch.objects.create(project=project, name="one")
    second = Batch.objects.create(project=project, name="two", restricted=True)
    client.force_login(manager)
    page = client.get(f"/p/{project.slug}/batches/").content.decode()
    for batch in (first, second):
        assert f'<label for="batch-{batch.pk}-usernames">Annotators</label>' in page
        assert f'id="batch-{batch.pk}-groups_helptext"' in page
    assert f'id="batch-{second.pk}-restricted" checked' in page
