"""What annotation does when a project's settings change (connected in ``ready()``)."""

from django.dispatch import receiver

from annotation.services.claiming import items_resize_overlap
from annotation.services.prompt_index import prompt_bands_backfill_later
from projects.signals import project_settings_changed


@receiver(project_settings_changed, dispatch_uid="annotation.settings_changed")
def settings_changed(sender, project, before: dict, **_) -> None:
    if "overlap" in before:
        items_resize_overlap(project=project, old_overlap=before["overlap"])
    if "prompt_writing" in before and project.prompt_writing:
        prompt_bands_backfill_later(project)
