"""Reads of import jobs and batches, with who may see them."""

from annotation.importing.models import ImportJob
from annotation.models import Batch
from common.errors import NotFoundError
from projects.models import Project
from projects.permissions import Capability, has_capability
from projects.selectors import project_get_for_user


def import_jobs_for_project(project: Project):
    return ImportJob.objects.filter(project=project).select_related("uploaded_by")[:50]


def import_job_get(*, project: Project, import_id: int) -> ImportJob:
    """One import of the project; NotFoundError for another project's."""
    job = ImportJob.objects.filter(pk=import_id, project=project).first()
    if job is None:
        raise NotFoundError(f"no import {import_id} in this project")
    return job


def import_job_get_for_manager(*, import_id: int, user) -> ImportJob:
    """An import the user manages; one they may not see at all is 404, as if it did not
    exist, and one of a project they only see is 403."""
    job = ImportJob.objects.select_related("project").filter(pk=import_id).first()
    if job is None or not has_capability(user, job.project, Capability.VIEW):
        raise NotFoundError(f"no import {import_id}")
    project_get_for_user(slug=job.project.slug, user=user, capability=Capability.MANAGE)
    return job


def batch_list_for_project(project: Project):
    """The project's batches, newest first, with who may annotate each."""
    return project.batches.prefetch_related("allowed_users", "allowed_groups").order_by(
        "-created_at"
    )


def batch_get(*, project: Project, batch_id: int | None) -> Batch:
    batch = project.batches.filter(pk=batch_id).first() if batch_id is not None else None
    if batch is None:
        raise NotFoundError(f"no batch {batch_id} in this project")
    return batch
