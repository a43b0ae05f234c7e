"""The manager's import pages (upload, progress, errors) and batch pages."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from annotation.importing.forms import BatchRestrictionForm, ImportForm
from annotation.importing.selectors import (
    batch_get,
    batch_list_for_project,
    import_job_get,
    import_jobs_for_project,
)
from annotation.importing.services import import_job_cancel, import_job_create
from annotation.services.batches import batch_restrict
from common.errors import ApplicationError
from common.jobs import job_waiting
from common.numbers import plain_ids
from common.progress import progress_read
from projects.decorators import project_view
from projects.permissions import Capability


@project_view(Capability.MANAGE)
def import_list(request, project):
    form = ImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            job = import_job_create(
                project=project,
                user=request.user,
                upload=form.cleaned_data["file"],
                batch_name=form.cleaned_data["batch"],
            )
        except ApplicationError as exc:
            form.add_error("file", exc.message)
            status = exc.status_code if exc.status_code >= 500 else 200  # the broker is down
        else:
            return redirect("import-detail", slug=project.slug, import_id=job.pk)
    context = {"project": project, "form": form, "jobs": import_jobs_for_project(project)}
    return render(request, "annotation/import_list.html", context, status=status)


@project_view(Capability.MANAGE)
def import_detail(request, project, import_id: int):
    job = import_job_get(project=project, import_id=import_id)
    context = {
        "project": project,
        "job": job,
        "progress": progress_read("import", job.pk),
        "waiting": None if job.is_finished else job_waiting(job),
    }
    if request.htmx:
        return render(request, "annotation/import_detail.html#job-status", context)
    return render(request, "annotation/import_detail.html", context)


@require_POST
@project_view(Capability.MANAGE)
def import_cancel(request, project, import_id: int):
    job = import_job_get(project=project, import_id=import_id)
    try:
        import_job_cancel(job=job)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("import-detail", slug=project.slug, import_id=job.pk)


@project_view(Capability.MANAGE)
def batch_list(request, project):
    context = {"project": project, "batches": batch_list_for_project(project)}
    return render(request, "annotation/batch_list.html", context)


@require_POST
@project_view(Capability.MANAGE)
def batch_restrict_view(request, project):
    ids = plain_ids(request.POST.get("batch", ""))
    batch = batch_get(project=project, batch_id=ids[0] if ids else None)
    form = BatchRestrictionForm(request.POST)
    if form.is_valid():
        try:
            batch_restrict(
                batch=batch,
                restricted=form.cleaned_data["restricted"],
                usernames=form.cleaned_data["usernames"],
                group_names=form.cleaned_data["groups"],
            )
            messages.success(request, f"Batch “{batch.name}” updated.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("batch-list", slug=project.slug)
