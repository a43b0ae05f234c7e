"""What the loop does on news from below: a submit, new items, a settings change.

Connected in ``TrainingConfig.ready()``; they run in the sender's transaction.
"""

from django.dispatch import receiver

from annotation.signals import annotation_submitted, items_added
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


@receiver(annotation_submitted, dispatch_uid="training.loop.submitted")
def submitted(sender, project, **_) -> None:
    acquisition_refresh_soon(project.pk, rule=project.acquisition_rule)


@receiver(items_added, dispatch_uid="training.loop.items_added")
def new_items(sender, project_id: int, **_) -> None:
    prerank_soon(project_id)
    acquisition_refresh_soon(project_id)
