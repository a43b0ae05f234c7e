"""One background pass per project at a time, across workers and machines.

Two passes over the same project would re-weight the same items twice and race on the
summary row. On PostgreSQL the lock is a session advisory lock: it dies with the
connection, so a worker killed mid-pass never leaves the project locked. Elsewhere (the
embedded SQLite default, one worker) a cache key with a timeout stands in for it.
"""

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache
from django.db import connection

# Longer than any pass is expected to take; only matters when a holder died without
# releasing the cache key (advisory locks need no timeout).
CACHE_LOCK_SECONDS = 30 * 60


def _advisory_key(name: str) -> int:
    """A stable signed 64-bit key for the lock's name."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def pass_lock(name: str) -> Iterator[bool]:
    """Yields True while holding the lock named ``name``, False if someone else holds it
    (the caller skips its work rather than waiting)."""
    if connection.vendor == "postgresql":
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
        return
    token = uuid.uuid4().hex
    cache_key = f"preflab:lock:{name}"
    held = cache.add(cache_key, token, CACHE_LOCK_SECONDS)
    try:
        yield held
    finally:
        if held and cache.get(cache_key) == token:
            cache.delete(cache_key)
