"""Reads for projects: visibility (members only) is enforced here."""

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from common.errors import NotFoundError, PermissionDeniedError
from projects.models import Guideline, GuidelineAck, Membership, Project
from projects.permissions import (
    Capability,
    capabilities_of,
    has_capability,
    not_allowed_message,
    pause_wording,
    remember_role,
    role_of,
)


def project_list_for_user(user) -> QuerySet[Project]:
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user).distinct()


def project_cards_for_user(user) -> list[dict]:
    """The home page's cards: each open project the user sees, with their role and
    capabilities in it."""
    return [
        {"project": p, "role": role_of(user, p), "caps": capabilities_of(user, p)}
        for p in project_list_for_user(user).filter(archived=False)
    ]


def project_get_for_user(*, slug: str, user, capability: Capability = Capability.VIEW) -> Project:
    """The project if the user may act on it with the capability; 404 for non-members (no leak)."""
    projects = Project.objects.filter(slug=slug)
    if user.is_authenticated:
        # The role comes in the same query: every request on the hot path starts here.
        member = Membership.objects.filter(project=OuterRef("pk"), user=user)
        projects = projects.annotate(
            viewer_role=Subquery(member.values("role")[:1]),
            viewer_paused_at=Subquery(member.values("paused_at")[:1]),
            viewer_paused_reason=Subquery(member.values("paused_reason")[:1]),
        )
    project = projects.first()
    if project is not None and user.is_authenticated:
        paused = pause_wording(project.viewer_paused_at, project.viewer_paused_reason)
        remember_role(user, project, project.viewer_role, paused=paused)
    if project is None or not has_capability(user, project, Capability.VIEW):
        raise NotFoundError(f"no project '{slug}'")
    if not has_capability(user, project, capability):
        raise PermissionDeniedError(
            not_allowed_message(project=project, role=project.viewer_role, capability=capability)
        )
    return project


def guideline_current(project: Project) -> Guideline | None:
    return project.guidelines.order_by("-version").first()


def guideline_history(project: Project, *, limit: int = 20) -> QuerySet[Guideline]:
    """The project's guideline versions, newest first, with who published each."""
    return project.guidelines.select_related("published_by")[:limit]


def guideline_version_get(*, project: Project, version: int) -> Guideline | None:
    return project.guidelines.filter(version=version).first()


def guideline_needs_ack(*, project: Project, user) -> Guideline | None:
    """The current guideline if the user has not acknowledged it yet, else None (one query)."""
    read = GuidelineAck.objects.filter(guideline=OuterRef("pk"), user=user)
    current = project.guidelines.order_by("-version").annotate(acknowledged=Exists(read)).first()
    if current is None or current.acknowledged:
        return None
    return current


def membership_list(project: Project) -> QuerySet[Membership]:
    return project.memberships.select_related("user").order_by("role", "user__username")


def members_page(project: Project) -> dict:
    """What the members page lists: memberships by role, and the groups with their members."""
    return {
        "memberships": membership_list(project),
        "groups": project.groups.prefetch_related("members"),
    }


def member_user_id(*, project: Project, username: str) -> int | None:
    """The user id of the project's member with that username (None: no such member)."""
    return (
        project.memberships.filter(user__username=username)
        .values_list("user_id", flat=True)
        .first()
    )
