"""ImportJob joins the one background-job model (common.job_models.BackgroundJob): its
``status`` is now ``state`` and its ``message`` is ``error``, as on every job. The columns
are renamed, so every row keeps its data."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("annotation", "0008_assisted_annotation")]

    operations = [
        migrations.RenameField(model_name="importjob", old_name="status", new_name="state"),
        migrations.RenameField(model_name="importjob", old_name="message", new_name="error"),
    ]
