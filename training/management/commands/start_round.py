"""Start the next round from the command line, with a progress bar; Ctrl-C cancels.

The same service as the loop page and ``POST projects/{slug}/rounds/``: the round appears
there like any other. By default the generation runs in this process (a machine with the
model and, for local generators, the GPU); ``--queue`` hands it to the Celery workers and
returns at once. The first Ctrl-C asks the job to stop after the chunk it is on (whole
items only, as a cancel from the page); a second one stops at once.
"""

import signal
import sys

from django.core.management.base import BaseCommand, CommandError

from common.errors import ApplicationError
from common.jobs import JobState
from common.progress import cancel_request, progress_bar
from training.loop.models import Round
from training.loop.services.generation_run import (
    PROGRESS_KIND,
    generation_job_run,
    generation_job_stopped,
)
from training.loop.services.rounds import round_start
from training.management.lookups import project_and_user


class Command(BaseCommand):
    help = "Open round N+1 of a project: choose prompts and generate their responses."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project slug")
        parser.add_argument(
            "--source", choices=Round.PromptSource.values, default=Round.PromptSource.NEW,
            help="new: prompts never answered; held_out: the newest snapshot's held-out "
            "prompts; uncertain: the items the reward model is least sure about",
        )  # fmt: skip
        parser.add_argument("--prompts", type=int, default=50, help="how many prompts")
        parser.add_argument(
            "--generator", action="append", default=[],
            help="a generator's name (repeat for several); default: every active one",
        )  # fmt: skip
        parser.add_argument("--as-user", default="", help="username recorded as the starter")
        parser.add_argument(
            "--queue", action="store_true", help="leave the generation to the Celery workers"
        )

    def handle(self, *args, **o):
        project, user = project_and_user(o["project"], o["as_user"])
        generator_ids = []
        for name in o["generator"]:
            generator = project.generators.filter(name=name).first()
            if generator is None:
                known = ", ".join(project.generators.values_list("name", flat=True)) or "none"
                raise CommandError(
                    f"--generator: no generator {name!r} (this project has: {known})"
                )
            generator_ids.append(generator.pk)
        try:
            round, _ = round_start(
                project=project, user=user, prompt_source=o["source"], prompts=o["prompts"],
                generator_ids=generator_ids, enqueue=o["queue"],
            )  # fmt: skip
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        job = round.jobs.get()
        self.stdout.write(
            f"round {round.number} of {project.slug}: {len(job.prompt_ids)} prompts "
            f"(generation job {job.pk})"
        )
        if o["queue"]:
            return
        job = self._run_here(job)
        if job.failures:
            self.stdout.write(f"{len(job.failures)} prompts failed:")
            for prompt_id, reason in job.failures.items():
                self.stdout.write(f"  prompt {prompt_id}: {reason}")
        summary = f"{job.get_state_display()}: {job.prompts_done}/{job.prompts_total} prompts"
        if job.state not in (JobState.SUCCEEDED, JobState.CANCELLED):
            raise CommandError(f"{summary}. {job.error}")
        self.stdout.write(summary)

    def _run_here(self, job):
        def draw(progress) -> None:
            sys.stderr.write(f"\r  generating {progress_bar(progress)}")
            sys.stderr.flush()

        def cancel(signum, frame) -> None:
            cancel_request(PROGRESS_KIND, job.pk)
            sys.stderr.write("\n  cancelling after this chunk (Ctrl-C again stops at once)\n")
            signal.signal(signal.SIGINT, signal.default_int_handler)

        previous = signal.signal(signal.SIGINT, cancel)
        try:
            return generation_job_run(job_id=job.pk, on_progress=draw)
        except BaseException:  # the second Ctrl-C, or anything else that stops us dead
            generation_job_stopped(job_id=job.pk, reason="stopped from the command line")
            raise
        finally:
            signal.signal(signal.SIGINT, previous)
            sys.stderr.write("\n")
