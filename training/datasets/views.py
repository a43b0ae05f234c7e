"""Snapshot pages: the list with the export form, and one snapshot with its progress,
manifest and downloads (managers and engineers)."""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from common.errors import ApplicationError, NotFoundError
from projects.decorators import project_view
from projects.permissions import Capability
from training.datasets.forms import SnapshotForm
from training.datasets.models import DatasetSnapshot
from training.datasets.selectors import snapshot_page, snapshots_of
from training.datasets.services.snapshots import (
    snapshot_cancel,
    snapshot_create,
    snapshot_file_open,
)


@project_view(Capability.EXPORT)
def snapshot_list(request, project):
    form = SnapshotForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            snapshot, _ = snapshot_create(
                project=project,
                user=request.user,
                options=form.options(),
                name=form.cleaned_data["name"],
                client_token=request.POST.get("client_token") or None,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            status = exc.status_code if exc.status_code >= 500 else 200  # the broker is down
        else:
            return redirect("snapshot-detail", slug=project.slug, number=snapshot.number)
    context = {"project": project, "form": form, "snapshots": snapshots_of(project)[:50]}
    return render(request, "training/snapshot_list.html", context, status=status)


def _snapshot(project, number) -> DatasetSnapshot:
    return get_object_or_404(DatasetSnapshot, project=project, number=number)


@project_view(Capability.EXPORT)
def snapshot_detail(request, project, number: int):
    snapshot = _snapshot(project, number)
    context = {"project": project, "snapshot": snapshot, **snapshot_page(snapshot)}
    if request.htmx:
        return render(request, "training/snapshot_detail.html#snapshot-status", context)
    return render(request, "training/snapshot_detail.html", context)


@require_POST
@project_view(Capability.EXPORT)
def snapshot_cancel_view(request, project, number: int):
    try:
        snapshot_cancel(snapshot=_snapshot(project, number))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("snapshot-detail", slug=project.slug, number=number)


@project_view(Capability.EXPORT)
def snapshot_file(request, project, number: int, name: str):
    snapshot = _snapshot(project, number)
    try:
        stream = snapshot_file_open(snapshot, name)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    filename = f"{project.slug}-{snapshot.number}-{name.replace('/', '-')}"
    return FileResponse(stream, as_attachment=True, filename=filename)
