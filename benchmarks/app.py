"""Run PrefLab for a benchmark: its environment, migrations, Django in-process, gunicorn."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.pg import PgServer, database_drop, database_recreate

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def app_env(*, database_url: str, data_dir: str, redis_url: str) -> dict[str, str]:
    """The environment a production-like PrefLab process gets (settings read only this)."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DATABASE_CONN_MAX_AGE="60",
        PREFLAB_DATA_DIR=data_dir,
        DEBUG="0",  # DEBUG=1 would keep every query in memory and slow every request
        SECRET_KEY="bench",
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url or "filesystem://",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def django_boot(env: dict[str, str]) -> None:
    """Set Django up in this process against the benchmark database (once per process)."""
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@contextmanager
def django_on_fresh_database(
    server: PgServer, database: str, *, redis_url: str, **env_overrides: str
) -> Iterator[dict[str, str]]:
    """Django set up in this process on a database made afresh and migrated, with a
    throwaway data folder; yields the environment, and drops the database afterwards.
    ``env_overrides`` replace entries of ``app_env``'s environment."""
    with tempfile.TemporaryDirectory(prefix=f"preflab-{database}-") as data_dir:
        env = app_env(database_url=server.url(database), data_dir=data_dir, redis_url=redis_url)
        env.update(env_overrides)
        database_recreate(server, database)
        try:
            manage("migrate", "--noinput", env=env)
            django_boot(env)
            yield env
        finally:
            from django.db import connections

            connections.close_all()
            database_drop(server, database)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Gunicorn:
    process: subprocess.Popen
    port: int
    workers: int
    threads: int
    worker_class: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def gunicorn_start(
    *, env: dict[str, str], workers: int, threads: int, worker_class: str, log_path: Path
) -> Gunicorn:
    """Start gunicorn on a free port and wait until /healthz answers 200."""
    port = free_port()
    command = [
        str(BIN / "gunicorn"), "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--threads", str(threads),
        "--worker-class", worker_class,
        "--log-level", "warning",
    ]  # fmt: skip
    log = log_path.open("w")
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    server = Gunicorn(process, port, workers, threads, worker_class, log_path)
    _wait_healthy(server)
    return server


def _wait_healthy(server: Gunicorn, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited at start:\n{server.log_tail()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    gunicorn_stop(server)
    raise RuntimeError(f"gunicorn did not answer /healthz in {timeout:.0f} s:\n{server.log_tail()}")


def gunicorn_stop(server: Gunicorn) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)  # graceful: workers finish their requests
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
