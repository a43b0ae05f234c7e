import os

import pytest

from projects.models import Role
from tests.factories import UserFactory, add_member, make_project

# live_server + sync Playwright run Django ORM calls from the event loop thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """PBKDF2's deliberate slowness costs ~0.3 s per test user; tests need no such cost."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Job progress and cancel flags live in the cache; ids repeat across tests."""
    from django.core.cache import cache

    from common.debounce import forget_taken

    cache.clear()
    forget_taken()
    yield


@pytest.fixture
def manager(db):
    return UserFactory(username="manager")


@pytest.fixture
def project(db, manager):
    return make_project(manager=manager, slug="proj", responses_per_item=4, overlap=2)


@pytest.fixture
def annotator(project):
    return add_member(project, Role.ANNOTATOR, "annotator")


@pytest.fixture
def reviewer(project):
    return add_member(project, Role.REVIEWER, "reviewer")


@pytest.fixture
def engineer(project):
    return add_member(project, Role.ENGINEER, "engineer")


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


def _test_database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
        return f"postgresql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    return f"sqlite:///{s['NAME']}"


def start_celery_worker(log, env_extra=None, queues="default"):
    """Start a real Celery worker process on the test database and the configured broker;
    returns it once it says it is ready (callers stop or kill it)."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    env = {**os.environ, "DATABASE_URL": _test_database_url(), **(env_extra or {})}
    root = Path(__file__).resolve().parents[1]
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
             "-Q", queues, "--loglevel=INFO", "--without-gossip", "--without-mingle",
             f"--hostname=test-{os.getpid()}-{time.monotonic_ns()}@%h"],
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"celery worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return process


WORKER_SKIP_REASON = (
    "another process cannot see the in-memory SQLite test database; this runs wherever "
    "DATABASE_URL names a shared database (CI runs it on PostgreSQL with Redis)"
)


def worker_can_share_database() -> bool:
    from django.db import connection

    return not (connection.vendor == "sqlite" and connection.is_in_memory_db())


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real Celery worker process on the test database and the configured broker."""
    import subprocess

    with django_db_blocker.unblock():
        if not worker_can_share_database():
            pytest.skip(WORKER_SKIP_REASON)
        process = start_celery_worker(tmp_path_factory.mktemp("celery") / "worker.log")
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
