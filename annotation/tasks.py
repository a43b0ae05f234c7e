"""Celery entry points for annotation work: thin, they load ids and call services."""

from celery import shared_task


@shared_task(acks_late=True, name="annotation.import_run")
def import_run(job_id: int) -> str:
    from annotation.services.imports import import_job_run

    return import_job_run(job_id=job_id).status
