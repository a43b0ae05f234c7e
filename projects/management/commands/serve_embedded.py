"""Run the web server and real Celery workers together on the embedded default.

Two worker processes, one per queue, so a training run or a generation job (``gpu``)
never holds an import, a snapshot or a quality refresh (``default``) behind it. A
supervisor thread starts a worker again when it dies (an out-of-memory kill, a crash),
with a growing pause so a worker that cannot start does not spin; every restart is
logged with the worker's exit code.
"""

import logging
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field

from django.core.management import call_command
from django.core.management.base import BaseCommand

logger = logging.getLogger(__name__)

# One worker per queue: (queue, pool arguments). Both solo: one task at a time each, so
# an embedded SQLite database sees at most two writers.
WORKERS = (("default", ["--pool=solo"]), ("gpu", ["--pool=solo"]))
MAX_RESTART_PAUSE_S = 60.0
STOP_GRACE_S = 1.0


@dataclass
class SupervisedWorker:
    """A Celery worker consuming one queue, started again whenever it exits unasked."""

    queue: str
    pool_args: list[str]
    process: subprocess.Popen | None = None
    restarts: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "celery", "-A", "config", "worker", *self.pool_args,
            "-Q", self.queue, "--loglevel=INFO", f"--hostname={self.queue}@%h",
        ]  # fmt: skip

    def start(self) -> None:
        self.process = subprocess.Popen(self.command())

    def supervise(self) -> None:
        """Wait on the worker; start it again after an unasked exit."""
        while not self.stopping.is_set():
            code = self.process.wait()
            # A signal to the whole process group (Ctrl-C, `kill -- -PGID`) reaches the
            # worker as soon as this process: give the stop a moment to be seen.
            if self.stopping.wait(STOP_GRACE_S):
                return
            self.restarts += 1
            pause = min(2.0**self.restarts, MAX_RESTART_PAUSE_S)
            logger.warning(
                "celery worker for queue %r exited with %s; starting it again in %.0f s",
                self.queue, code, pause,
            )  # fmt: skip
            if self.stopping.wait(pause):
                return
            self.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Command(BaseCommand):
    help = (
        "Start one Celery worker per queue (default, gpu), supervised, and the development "
        "web server."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000")
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port, host, **options):
        workers = [SupervisedWorker(queue, pool) for queue, pool in WORKERS]
        for worker in workers:
            worker.start()
            threading.Thread(target=worker.supervise, daemon=True).start()
            self.stdout.write(
                f"celery worker for queue '{worker.queue}' (pid {worker.process.pid})"
            )
        self.stdout.write(f"web at http://{host}:{port}/")

        def shut_down(*_):
            for worker in workers:
                worker.stopping.set()
            sys.exit(0)

        signal.signal(signal.SIGTERM, shut_down)
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        finally:
            for worker in workers:
                worker.stop()
