"""The Celery app: queue ``default`` for quick work, ``gpu`` for training and generation."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("preflab")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each sub-domain keeps its Celery entry points in its own ``tasks`` module.
app.autodiscover_tasks(
    [
        "annotation.importing",
        "annotation.authoring",
        "annotation.quality",
        "training.datasets",
        "training.runs",
        "training.loop",
    ]
)

# The workers' signs of life and the handlers that fail a job whose task failed.
import common.worker_hooks  # noqa: E402, F401
