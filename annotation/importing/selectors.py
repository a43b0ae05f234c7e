"""Reads of import jobs."""

from annotation.importing.models import ImportJob
from projects.models import Project


def import_jobs_for_project(project: Project):
    return ImportJob.objects.filter(project=project).select_related("uploaded_by")[:50]
