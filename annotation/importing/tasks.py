"""Celery entry point of imports: thin, it loads the job id and calls the service."""

from celery import shared_task

from annotation.importing.services import import_job_run


@shared_task(acks_late=True, name="annotation.import_run")
def import_run(job_id: int) -> str:
    return import_job_run(job_id=job_id).state
