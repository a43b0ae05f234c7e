"""What the loop does when a project's settings change (connected in ``ready()``)."""

from django.dispatch import receiver

from projects.signals import project_settings_changed
from training.loop.services.acquisition import acquisition_refresh_soon
from training.loop.services.prerank import prerank_soon

# The settings that change which items the loop asks for first.
LOOP_SETTINGS = ("reward_model", "acquisition_rule", "acquisition_mix")


@receiver(project_settings_changed, dispatch_uid="training.loop.settings_changed")
def settings_changed(sender, project, before: dict, **_) -> None:
    if "reward_model" in before:
        prerank_soon(project.pk)
    if any(name in before for name in LOOP_SETTINGS):
        acquisition_refresh_soon(project.pk)
