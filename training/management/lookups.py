"""What the training commands look up from their arguments, with the error each names."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from projects.models import Project


def project_and_user(slug: str, username: str) -> tuple[Project, object | None]:
    """The project by slug and, when a username is given, the user recorded as acting."""
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise CommandError(f"no project {slug!r}")
    user = None
    if username:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
    return project, user
