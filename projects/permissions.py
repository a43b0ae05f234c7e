"""Who may do what in a project: the one table of role capabilities, shared by views and API."""

from enum import StrEnum

from django.conf import settings

from projects.models import Membership, Project, Role


class Capability(StrEnum):
    VIEW = "view"
    ANNOTATE = "annotate"
    REVIEW = "review"
    MANAGE = "manage"
    ENGINEER = "engineer"
    # The quality dashboard: every annotator's figures (an annotator sees only their own).
    QUALITY = "quality"
    # Dataset snapshots: create, list, download (managers and engineers).
    EXPORT = "export"


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.ANNOTATOR: frozenset({Capability.VIEW, Capability.ANNOTATE}),
    Role.REVIEWER: frozenset({Capability.VIEW, Capability.ANNOTATE, Capability.REVIEW}),
    # Managers annotate too, to try their own set-up the way annotators see it.
    Role.MANAGER: frozenset(
        {
            Capability.VIEW,
            Capability.ANNOTATE,
            Capability.REVIEW,
            Capability.MANAGE,
            Capability.QUALITY,
            Capability.EXPORT,
        }
    ),
    Role.ENGINEER: frozenset(
        {Capability.VIEW, Capability.ENGINEER, Capability.QUALITY, Capability.EXPORT}
    ),
}


def not_allowed_message(*, project: Project, role: str | None, capability: Capability) -> str:
    """Say in words which roles may do this and who can change the user's role."""
    allowed = [
        f"{Role(r).label.lower()}s" for r, caps in ROLE_CAPABILITIES.items() if capability in caps
    ]
    who = f"{', '.join(allowed[:-1])} and {allowed[-1]}" if len(allowed) > 1 else allowed[0]
    yours = (
        f"Your role in '{project.name}' is {Role(role).label.lower()}" if role else "You have none"
    )
    return f"This is for the project's {who}. {yours}: ask one of its managers to change it."


def role_of(user, project: Project) -> str | None:
    """The user's role in the project, or None for non-members (anonymous users included)."""
    if not user.is_authenticated:
        return None
    cache = getattr(user, "_preflab_roles", None)
    if cache is None:
        cache = user._preflab_roles = {}
    if project.pk not in cache:
        cache[project.pk] = (
            Membership.objects.filter(user=user, project=project)
            .values_list("role", flat=True)
            .first()
        )
    return cache[project.pk]


def _paused_cache(user) -> dict:
    if getattr(user, "_preflab_paused", None) is None:
        user._preflab_paused = {}
    return user._preflab_paused


def pause_wording(paused_at, reason: str) -> str | None:
    """What a membership's pause columns say: None when not paused, else the reason
    quality control recorded (or just "paused")."""
    return (reason or "paused") if paused_at else None


def paused_reason(user, project: Project) -> str | None:
    """Why quality control paused the member's work here, or None when they may work.

    ``project_get_for_user`` reads it with the role at the start of each request, so the
    claim path pays nothing extra; elsewhere it costs one query.
    """
    if not user.is_authenticated:
        return None
    paused = _paused_cache(user)
    if project.pk in paused:
        return paused[project.pk]
    row = (
        Membership.objects.filter(user=user, project=project, paused_at__isnull=False)
        .values_list("paused_at", "paused_reason")
        .first()
    )
    return None if row is None else pause_wording(*row)


def remember_role(user, project: Project, role: str | None, *, paused: str | None = None) -> None:
    """Seed role_of's per-request cache when a query already fetched the role."""
    if user.is_authenticated:
        if getattr(user, "_preflab_roles", None) is None:
            user._preflab_roles = {}
        user._preflab_roles[project.pk] = role
        _paused_cache(user)[project.pk] = paused


def capabilities_of(user, project: Project) -> frozenset[Capability]:
    if user.is_authenticated and user.is_superuser:
        return frozenset(Capability)
    role = role_of(user, project)
    return ROLE_CAPABILITIES.get(role, frozenset()) if role else frozenset()


def has_capability(user, project: Project, capability: Capability) -> bool:
    return capability in capabilities_of(user, project)


def can_create_projects(user) -> bool:
    """Whether ``user`` may create projects, under the ``PREFLAB_PROJECT_CREATORS`` setting.

    ``superusers``: staff and holders of the ``projects.add_project`` permission only;
    ``managers``: those, plus anyone who manages at least one project (the default);
    ``everyone``: any signed-in user.
    """
    if not user.is_authenticated:
        return False
    if user.is_staff or user.has_perm("projects.add_project"):
        return True
    creators = settings.PREFLAB_PROJECT_CREATORS
    if creators == "everyone":
        return True
    if creators == "managers":
        return Membership.objects.filter(user=user, role=Role.MANAGER).exists()
    return False
