"""Snapshots, runs and generation jobs join the one background-job model
(common.job_models.BackgroundJob): a snapshot's ``status`` is now ``state`` (the column is
renamed, rows keep their data), and every job says "Succeeded" where snapshots and
generation jobs said "Finished" (a label: the stored values are unchanged)."""

from django.db import migrations, models

STATES = [
    ("queued", "Queued"),
    ("running", "Running"),
    ("succeeded", "Succeeded"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]


class Migration(migrations.Migration):
    dependencies = [("training", "0008_generation_tokens")]

    operations = [
        migrations.RenameField(model_name="datasetsnapshot", old_name="status", new_name="state"),
        migrations.AlterField(
            model_name="datasetsnapshot",
            name="state",
            field=models.CharField(choices=STATES, default="queued", max_length=16),
        ),
        migrations.AlterField(
            model_name="generationjob",
            name="state",
            field=models.CharField(choices=STATES, default="queued", max_length=16),
        ),
    ]
