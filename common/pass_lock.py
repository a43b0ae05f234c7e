"""One background pass per project (or export per snapshot) at a time, across workers.

Two passes over the same project would re-weight the same items twice and race on the
summary row. Either lock dies with its holder, so a worker killed mid-pass never leaves
the work locked: on PostgreSQL a session advisory lock (released with the connection);
on the embedded SQLite default, where every worker shares one machine and one data
folder, an exclusive ``flock`` on a file there (released by the kernel with the process).
"""

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection


def _advisory_key(name: str) -> int:
    """A stable signed 64-bit key for the lock's name."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def _advisory(name: str) -> Iterator[bool]:
    key = _advisory_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@contextmanager
def _file_lock(name: str) -> Iterator[bool]:
    folder = settings.DATA_DIR / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (hashlib.sha256(name.encode()).hexdigest()[:32] + ".lock")
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def pass_lock(name: str) -> Iterator[bool]:
    """Yields True while holding the lock named ``name``, False if someone else holds it
    (the caller skips its work rather than waiting)."""
    lock = _advisory if connection.vendor == "postgresql" else _file_lock
    with lock(name) as held:
        yield held
