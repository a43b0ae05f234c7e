from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("projects", "0006_written_prompts_to_generators")]

    operations = [migrations.RemoveField(model_name="project", name="generation_backend")]
