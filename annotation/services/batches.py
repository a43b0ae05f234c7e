"""Restrict a batch of items (an import or a tag) to named annotators or groups."""

from django.contrib.auth import get_user_model
from django.db import transaction

from annotation.models import Batch, Item
from common.errors import ApplicationError, NotFoundError
from projects.models import AnnotatorGroup, Membership


@transaction.atomic
def batch_restrict(
    *, batch: Batch, restricted: bool, usernames: list[str], group_names: list[str]
) -> Batch:
    """Set who may claim the batch's items; an unrestricted batch is open to every annotator."""
    users = list(get_user_model().objects.filter(username__in=usernames))
    missing = sorted(set(usernames) - {user.username for user in users})
    if missing:
        raise NotFoundError(f"no such users: {', '.join(missing)}")
    outsiders = sorted(
        user.username
        for user in users
        if not Membership.objects.filter(user=user, project=batch.project).exists()
    )
    if outsiders:
        raise ApplicationError(f"not members of this project: {', '.join(outsiders)}")
    groups = list(AnnotatorGroup.objects.filter(project=batch.project, name__in=group_names))
    unknown = sorted(set(group_names) - {group.name for group in groups})
    if unknown:
        raise NotFoundError(f"no such groups: {', '.join(unknown)}")
    if restricted and not users and not groups:
        raise ApplicationError("name at least one annotator or group to restrict a batch to")
    batch.restricted = restricted
    batch.save(update_fields=["restricted"])
    batch.allowed_users.set(users)
    batch.allowed_groups.set(groups)
    Item.objects.filter(batch=batch).update(restricted=restricted)
    return batch
