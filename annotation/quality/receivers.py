"""What quality control does on news from below: a submit, a revision, a settings change.

Connected in ``AnnotationConfig.ready()``; they run in the sender's transaction.
"""

from django.dispatch import receiver

from annotation.quality.services.annotator_quality import quality_refresh_soon
from annotation.quality.services.item_quality import item_quality_refresh
from annotation.quality.services.stale_items import stale_items_refresh_soon
from annotation.signals import annotation_revised, annotation_submitted
from projects.signals import project_settings_changed


@receiver(project_settings_changed, dispatch_uid="annotation.quality.settings_changed")
def settings_changed(sender, project, before: dict, **_) -> None:
    if "reward_model" in before:
        quality_refresh_soon(project.pk)  # agreement with the newly attached model


@receiver(annotation_submitted, dispatch_uid="annotation.quality.submitted")
def submitted(sender, project, item_id: int, user_id: int, **_) -> None:
    """The item's figures (and the gold check) a second later, the project's figures in
    the background: the submit marked the item stale and waits for neither."""
    stale_items_refresh_soon(project.pk)
    quality_refresh_soon(project.pk)


@receiver(annotation_revised, dispatch_uid="annotation.quality.revised")
def revised(sender, project_id: int, item_id: int, **_) -> None:
    item_quality_refresh(item_id=item_id)
