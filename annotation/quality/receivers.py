"""What quality control does when a project's settings change (connected in ``ready()``)."""

from django.dispatch import receiver

from annotation.quality.services.annotator_quality import quality_refresh_soon
from projects.signals import project_settings_changed


@receiver(project_settings_changed, dispatch_uid="annotation.quality.settings_changed")
def settings_changed(sender, project, before: dict, **_) -> None:
    if "reward_model" in before:
        quality_refresh_soon(project.pk)  # agreement with the newly attached model
