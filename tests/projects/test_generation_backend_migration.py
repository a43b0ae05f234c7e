"""The migration off ``Project.generation_backend``: every project keeps its response
source, and the written prompts that wait for a model say what to do now, run forward by
Django's migration executor from the schema that still had the field."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from annotation.models import Prompt
from projects.models import Project

BEFORE = ("projects", "0005_model_in_the_loop_settings")
OLD_REASON = "This project has no generation backend configured; a later release adds ..."


def _leaves_with(node):
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    return executor, [n for n in leaves if n[0] != node[0]] + [node]


@pytest.mark.django_db(transaction=True)
def test_waiting_written_prompts_say_whether_a_generator_will_answer_them():
    # given: the schema before the migration, with rows as the old code left them
    executor, before = _leaves_with(BEFORE)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    OldProject, OldPrompt = (
        old.get_model("projects", "Project"),
        old.get_model("annotation", "Prompt"),
    )
    Item, Generator = old.get_model("annotation", "Item"), old.get_model("training", "Generator")

    def project(slug, source, backend):
        return OldProject.objects.create(name=slug, slug=slug, response_source=source,
                                         generation_backend=backend)  # fmt: skip

    def prompt(project, key, status="needs_generation", source="written"):
        return OldPrompt.objects.create(project=project, external_id=key, source=source,
                                        messages=[{"role": "user", "content": key}],
                                        status=status, status_reason=OLD_REASON)  # fmt: skip

    no_generator = project("no-gen", "model", "vllm")
    with_generator = project("with-gen", "model", "echo")
    Generator.objects.create(project=with_generator, name="served", kind="openai",
                             base_url="http://vllm:8000/v1", model_name="m")  # fmt: skip
    only_inactive = project("inactive-gen", "model", "")
    Generator.objects.create(project=only_inactive, name="off", kind="openai", active=False,
                             base_url="http://vllm:8000/v1", model_name="m")  # fmt: skip
    queue = project("queue", "queue", "x")
    waits = prompt(no_generator, "a")
    will_be_answered = prompt(with_generator, "b")
    answered = prompt(with_generator, "c")
    Item.objects.create(project=with_generator, prompt=answered, open_slots=0)
    imported = prompt(with_generator, "d", source="import")
    inactive = prompt(only_inactive, "e")
    other_source = prompt(queue, "f", status="needs_responses")

    # when
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    # then
    reasons = dict(Prompt.objects.values_list("pk", "status_reason"))
    assert reasons[waits.pk].startswith("No generator yet:")
    assert reasons[inactive.pk].startswith("No generator yet:")
    assert reasons[will_be_answered.pk].startswith("Not answered yet: start a round")
    for untouched in (answered, imported, other_source):
        assert reasons[untouched.pk] == OLD_REASON
    sources = dict(Project.objects.values_list("slug", "response_source"))
    assert sources == {"no-gen": "model", "with-gen": "model", "inactive-gen": "model",
                       "queue": "queue"}  # fmt: skip
    columns = {c.name for c in connection.introspection.get_table_description(
        connection.cursor(), Project._meta.db_table)}  # fmt: skip
    assert "generation_backend" not in columns and "response_source" in columns
