"""The Celery app: queue ``default`` for quick work, ``gpu`` for training and generation."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("preflab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The workers' signs of life and the handlers that fail a job whose task failed.
import config.workers  # noqa: E402, F401
