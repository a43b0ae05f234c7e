"""A succeeded import's line ("imported N new item(s); M already present") is now derived
from its counts (``ImportJob.message``), and ``error`` says only why an import failed or
was cancelled: the stored success lines are cleared (and written back on reversal)."""

from django.db import migrations

SUCCEEDED = "succeeded"


def clear_success_lines(apps, schema_editor):
    ImportJob = apps.get_model("annotation", "ImportJob")
    ImportJob.objects.filter(state=SUCCEEDED).exclude(error="").update(error="")


def write_success_lines(apps, schema_editor):
    ImportJob = apps.get_model("annotation", "ImportJob")
    for job in ImportJob.objects.filter(state=SUCCEEDED, error=""):
        job.error = (
            f"imported {job.created_items:,} new item(s); {job.existing_items:,} already present"
        )
        job.save(update_fields=["error"])


class Migration(migrations.Migration):
    dependencies = [("annotation", "0009_importjob_state")]

    operations = [migrations.RunPython(clear_success_lines, write_success_lines)]
