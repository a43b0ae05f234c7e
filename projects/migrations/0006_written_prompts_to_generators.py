"""Written prompts of "model" projects are answered by the loop's generators.

``Project.generation_backend`` named a backend of a registry that shipped empty, so no
server could ever answer through it; the next migration removes the field. Every project
keeps its response source: a "model" project with an active loop generator is answered by
it, one without waits (the settings page says a generator must be added on the loop
page). The prompts that wait stop naming the old setting in their reason and say what to
do now: they are answered once an engineer saves an active generator (or starts a round
of new prompts).
"""

from django.db import migrations
from django.db.models import Exists, OuterRef

NO_GENERATOR = (
    "No generator yet: the project's generators answer written prompts, and an engineer "
    "adds one under Generators on the loop page."
)
NOT_ASKED = (
    "Not answered yet: start a round of new prompts on the loop page, or save one of its "
    "generators there, to have the project's generators answer it."
)


def waiting_reasons_rewrite(apps, schema_editor):
    """Give each waiting written prompt of a "model" project the reason that holds now."""
    Project = apps.get_model("projects", "Project")
    Prompt = apps.get_model("annotation", "Prompt")
    Item = apps.get_model("annotation", "Item")
    Generator = apps.get_model("training", "Generator")
    has_item = Item.objects.filter(prompt=OuterRef("pk"))
    for project in Project.objects.filter(response_source="model").only("pk"):
        waiting = Prompt.objects.filter(
            project=project, source="written", status="needs_generation"
        ).exclude(Exists(has_item))
        answered = Generator.objects.filter(project=project, active=True).exists()
        waiting.update(status_reason=NOT_ASKED if answered else NO_GENERATOR)


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0005_model_in_the_loop_settings"),
        ("annotation", "0008_assisted_annotation"),
        ("training", "0008_generation_tokens"),
    ]

    operations = [migrations.RunPython(waiting_reasons_rewrite, migrations.RunPython.noop)]
