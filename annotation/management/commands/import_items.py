"""Import a JSONL/CSV file into a project from the command line, with a progress bar."""

import sys
import threading
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotation.importing.services import import_job_create_from_path, import_job_run
from common.progress import progress_bar, progress_read
from projects.models import Project


class Command(BaseCommand):
    help = "Import items from a JSONL or CSV file (all-or-nothing, idempotent on ids)."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project slug")
        parser.add_argument("path", help="JSONL or CSV file")
        parser.add_argument("--batch", default="", help="batch name (default: the file name)")
        parser.add_argument("--as-user", default="", help="username recorded as the uploader")

    def handle(self, *args, project, path, batch, as_user, **options):
        target = Project.objects.filter(slug=project).first()
        if target is None:
            raise CommandError(f"no project '{project}'")
        user = get_user_model().objects.filter(username=as_user).first() if as_user else None
        job = import_job_create_from_path(project=target, user=user, path=path, batch_name=batch)
        done = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(job.pk, done), daemon=True)
        watcher.start()
        job = import_job_run(job_id=job.pk)
        done.set()
        watcher.join()
        for error in job.errors:
            self.stderr.write(f"{path}: line {error['line']}, {error['field']}: {error['message']}")
        if job.state != "succeeded":
            raise CommandError(job.message)
        self.stdout.write(self.style.SUCCESS(job.message))

    def _watch(self, job_id: int, done: threading.Event) -> None:
        interactive = sys.stderr.isatty()
        while not done.wait(0.5 if interactive else 5):
            progress = progress_read("import", job_id)
            if progress:
                line = f"{progress.phase:>10} {progress_bar(progress)}"
                sys.stderr.write(("\r" + line) if interactive else line + "\n")
                sys.stderr.flush()
        if interactive:
            sys.stderr.write("\n")
        time.sleep(0)
