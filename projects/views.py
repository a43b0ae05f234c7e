"""HTML pages for projects, members and guidelines. Each view: parse, one service, render."""

import copy
import math

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from common.errors import ApplicationError
from common.web.auth_throttle import PasswordTryThrottle
from projects import services
from projects.decorators import project_view
from projects.forms import (
    GroupForm,
    GuidelineForm,
    MemberForm,
    ProjectCreateForm,
    ProjectSettingsForm,
)
from projects.panels import project_panels
from projects.permissions import Capability, can_create_projects, capabilities_of, role_of
from projects.rendering import render_markdown
from projects.selectors import (
    guideline_current,
    guideline_history,
    guideline_needs_ack,
    guideline_version_get,
    members_page,
    project_cards_for_user,
)

_django_login = auth_views.LoginView.as_view()


@sensitive_post_parameters("password")
def login(request):
    """Django's login page, under the token endpoint's limit on password tries."""
    if request.method == "POST":
        throttle = PasswordTryThrottle()
        if not throttle.allow_request(request, None):
            seconds = max(1, math.ceil(throttle.wait() or 1))
            context = {
                "form": AuthenticationForm(request, initial={"username": ""}),
                "next": request.POST.get("next", ""),
                "wait_seconds": seconds,
            }
            response = render(request, "registration/login.html", context, status=429)
            response["Retry-After"] = str(seconds)
            return response
    return _django_login(request)


@login_required
def home(request):
    projects = project_cards_for_user(request.user)
    return render(
        request,
        "projects/project_list.html",
        {"projects": projects, "can_create": can_create_projects(request.user)},
    )


@login_required
def project_create(request):
    if not can_create_projects(request.user):
        return render(request, "403.html", {"message": "you may not create projects"}, status=403)
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(creator=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            return redirect("project-detail", slug=project.slug)
    return render(request, "projects/project_create.html", {"form": form})


@project_view()
def project_detail(request, project):
    caps = capabilities_of(request.user, project)
    context = {
        "project": project,
        "role": role_of(request.user, project),
        "caps": {cap.value for cap in caps},
        "guideline": guideline_current(project),
        "needs_ack": guideline_needs_ack(project=project, user=request.user),
        **project_panels(user=request.user, project=project, caps=caps),
    }
    return render(request, "projects/project_detail.html", context)


@project_view(Capability.MANAGE)
def project_settings(request, project):
    # The form gets its own copy: a refused save must not rename the page's header and nav.
    form = ProjectSettingsForm(request.POST or None, instance=copy.copy(project))
    if request.method == "POST" and form.is_valid():
        try:
            services.project_update(project=project, **form.changed_settings())
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, "Settings saved.")
            return redirect("project-settings", slug=project.slug)
    return render(request, "projects/project_settings.html", {"project": project, "form": form})


def _members_page(request, project, *, member_form=None, group_form=None):
    """The members page; a refused form comes back bound, with its errors."""
    context = {
        "project": project,
        **members_page(project),
        "member_form": member_form or MemberForm(),
        "group_form": group_form or GroupForm(),
    }
    return render(request, "projects/project_members.html", context)


@project_view(Capability.MANAGE)
def project_members(request, project):
    return _members_page(request, project)


@require_POST
@project_view(Capability.MANAGE)
def member_add(request, project):
    form = MemberForm(request.POST)
    try:
        if form.is_valid():
            services.membership_set(project=project, **form.cleaned_data)
            messages.success(request, f"{form.cleaned_data['username']} is now a member.")
            return redirect("project-members", slug=project.slug)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _members_page(request, project, member_form=form)


@require_POST
@project_view(Capability.MANAGE)
def member_remove(request, project):
    username = request.POST.get("username", "")
    try:
        services.membership_remove(project=project, username=username)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{username} removed.")
    return redirect("project-members", slug=project.slug)


@require_POST
@project_view(Capability.MANAGE)
def group_save(request, project):
    form = GroupForm(request.POST)
    try:
        if form.is_valid():
            services.group_set_members(
                project=project,
                name=form.cleaned_data["name"],
                usernames=form.cleaned_data["usernames"],
            )
            messages.success(request, "Group saved.")
            return redirect("project-members", slug=project.slug)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _members_page(request, project, group_form=form)


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@project_view()
def guideline_detail(request, project):
    current = guideline_current(project)
    context = {
        "project": project,
        "guideline": current,
        "body_html": render_markdown(current.body) if current else "",
        "needs_ack": guideline_needs_ack(project=project, user=request.user),
        "can_annotate": Capability.ANNOTATE in capabilities_of(request.user, project),
        "can_manage": Capability.MANAGE in capabilities_of(request.user, project),
        "history": guideline_history(project),
        "next": _safe_next(request, ""),
    }
    if request.htmx:
        return render(request, "projects/guideline_detail.html#guideline-body", context)
    return render(request, "projects/guideline_detail.html", context)


@require_POST
@project_view(Capability.ANNOTATE)
def guideline_acknowledge(request, project):
    version = request.POST.get("version")
    try:
        services.guideline_acknowledge(
            project=project, user=request.user, version=int(version) if version else None
        )
    except (ApplicationError, ValueError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("guideline-detail", slug=project.slug)
    return redirect(_safe_next(request, f"/p/{project.slug}/annotate/"))


@project_view(Capability.MANAGE)
def guideline_edit(request, project):
    current = guideline_current(project)
    form = GuidelineForm(request.POST or None, initial={"body": current.body if current else ""})
    if request.method == "POST" and form.is_valid():
        try:
            guideline = services.guideline_publish(
                project=project, author=request.user, **form.cleaned_data
            )
        except ApplicationError as exc:
            form.add_error("body", exc.message)
        else:
            messages.success(
                request,
                f"Version {guideline.version} published; annotators will be asked to read it.",
            )
            return redirect("guideline-detail", slug=project.slug)
    return render(
        request,
        "projects/guideline_edit.html",
        {"project": project, "form": form, "current": current},
    )


@require_POST
@project_view(Capability.MANAGE)
def guideline_preview(request, project):
    return render(
        request,
        "projects/guideline_edit.html#preview",
        {"preview_html": render_markdown(request.POST.get("body", ""))},
    )


@project_view()
def guideline_version(request, project, version: int):
    guideline = guideline_version_get(project=project, version=version)
    if guideline is None:
        raise Http404("no such version")
    return render(
        request,
        "projects/guideline_version.html",
        {"project": project, "guideline": guideline, "body_html": render_markdown(guideline.body)},
    )
