"""Membership and role checks for HTML views: the same rules as the API, as a decorator."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from common.errors import NotFoundError, PermissionDeniedError
from projects.permissions import Capability
from projects.selectors import project_get_for_user


def project_view(capability: Capability = Capability.VIEW):
    """Resolve ``slug`` to the user's project: 404 for outsiders, 403 for the wrong role."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, slug, *args, **kwargs):
            try:
                project = project_get_for_user(slug=slug, user=request.user, capability=capability)
            except NotFoundError as exc:
                raise Http404(exc.message) from exc
            except PermissionDeniedError as exc:
                return render(request, "403.html", {"message": exc.message}, status=403)
            try:
                return view(request, project, *args, **kwargs)
            except NotFoundError as exc:  # a selector's "no such row in this project"
                raise Http404(exc.message) from exc

        return wrapper

    return decorator
