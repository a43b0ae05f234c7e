"""The settings page names the project's generators as the loop page does, instead of
saying response generation is "Not configured" while a generator works."""

from training.loop.models import Generator


def test_settings_list_the_loop_generators_and_link_to_the_loop_page(client, manager, project):
    # given a project whose loop has two generators, one switched off
    Generator.objects.create(project=project, name="tiny <policy>", kind="local", model_path="/m")
    Generator.objects.create(
        project=project, name="old", kind="local", model_path="/o", active=False
    )
    client.force_login(manager)
    # when the manager opens the settings
    page = client.get(f"/p/{project.slug}/settings/").content.decode()
    # then the response generation section names them (escaped), read-only, with the loop page's link
    section = page[page.index("data-generation-status") :]
    assert "<strong>tiny &lt;policy&gt;</strong>, <strong>old</strong> (inactive)" in section
    assert f'href="/p/{project.slug}/loop/#generators"' in section
    # and nothing names a second way to generate (the removed backend setting)
    assert "Generation backend" not in page and "Not configured" not in page
    assert 'name="generation_backend"' not in page


def test_settings_without_generators_say_so(client, manager, project):
    client.force_login(manager)
    page = client.get(f"/p/{project.slug}/settings/").content.decode()
    assert "<strong>none yet</strong>" in page


def test_a_model_project_without_an_active_generator_is_told_where_to_add_one(
    client, manager, project
):
    # given written prompts answered by a model, and only a switched-off generator
    project.prompt_writing, project.response_source = True, "model"
    project.save(update_fields=["prompt_writing", "response_source"])
    Generator.objects.create(
        project=project, name="old", kind="local", model_path="/o", active=False
    )
    client.force_login(manager)

    # when
    page = client.get(f"/p/{project.slug}/settings/").content.decode()

    # then
    assert "data-no-generator" in page
    assert "written prompts wait as “Waiting for generated responses”" in page

    # and once one is active, the warning is gone and the generators answer written prompts
    Generator.objects.create(project=project, name="new", kind="local", model_path="/n")
    page = client.get(f"/p/{project.slug}/settings/").content.decode()
    assert "data-no-generator" not in page and "and every written prompt" in page


def test_the_settings_form_comes_first_and_the_generators_note_after_it(client, manager, project):
    # given a manager on the settings page
    client.force_login(manager)
    # when it opens
    page = client.get(f"/p/{project.slug}/settings/").content.decode()
    # then the form (Basics first) is above the read-only note on the loop's generators
    assert page.index("Save settings</button>") < page.index("data-generation-status")
