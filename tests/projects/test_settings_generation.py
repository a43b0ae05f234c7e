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
    # and the backend of written prompts is named for what it is
    assert "Generation backend for written prompts" in section
    assert "Response generation: <strong>Not configured" not in page


def test_settings_without_generators_say_so(client, manager, project):
    client.force_login(manager)
    page = client.get(f"/p/{project.slug}/settings/").content.decode()
    assert "<strong>none yet</strong>" in page
