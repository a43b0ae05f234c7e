"""A request rate shared by every worker calling the same endpoint, kept in the cache.

Each generator's ``requests_per_minute`` is the endpoint's budget, not one job's: two
jobs on two workers must share it, or together they earn 429s. Time is cut into slots of
60 / rate seconds; a request takes the first free slot from now on with the cache's
atomic add (Redis ``SET NX`` in production, so no two processes get the same slot) and
sleeps until it starts. A hint of the last slot taken saves scanning the taken ones; a
stale hint can only leave a slot unused, never hand one out twice. The in-process lock
makes the scan atomic between threads too, whatever the cache (the embedded default's
file cache has no atomic add).

Written here because the client's own limiter (``training.loop.generation.openai_client``)
must stay free of Django, and no maintained library shares a rate through Django's cache.
"""

import math
import threading
import time

from django.core.cache import cache

MAX_SCAN = 10_000  # slots tried in one acquire: far more than any queue of waiting requests
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


class SharedRateLimiter:
    """``acquire()`` waits for this request's slot under ``per_minute`` requests a minute,
    counted over every process that builds a limiter of the same ``name``."""

    def __init__(self, name: str, per_minute: float):
        if per_minute <= 0:
            raise ValueError(f"requests_per_minute must be above 0, not {per_minute}")
        self.name, self.interval = name, 60.0 / per_minute

    def _key(self, slot: int | str) -> str:
        return f"preflab:rate:{self.name}:{slot}"

    def acquire(self) -> None:
        with _lock_for(self.name):
            now = time.time()
            slot = max(math.ceil(now / self.interval), (cache.get(self._key("last")) or 0) + 1)
            for _ in range(MAX_SCAN):
                ttl = max(1, math.ceil(slot * self.interval - now) + 60)
                if cache.add(self._key(slot), 1, ttl):
                    break
                slot += 1
            else:
                raise RuntimeError(f"{self.name}: no free request slot in {MAX_SCAN} tries")
            cache.set(self._key("last"), slot, ttl)
        wait = slot * self.interval - time.time()
        if wait > 0:
            time.sleep(wait)
