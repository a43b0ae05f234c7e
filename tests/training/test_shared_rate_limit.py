"""A generator's rate limit holds across jobs: limiters of the same name share the slots
through the cache, between threads and between processes; other names do not wait."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from training.loop.services.generators import HttpBackend
from training.loop.services.rate_limit import SharedRateLimiter

PER_MINUTE = 300  # one request each 0.2 s
INTERVAL = 60 / PER_MINUTE


def _acquire_times(limiter: SharedRateLimiter, n: int, into: list) -> None:
    for _ in range(n):
        limiter.acquire()
        into.append(time.time())


def _assert_spaced(times: list[float], n: int) -> None:
    times = sorted(times)
    assert len(times) == n
    # Every request has its own slot; a late wake-up can shorten one gap, never by half.
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) > INTERVAL / 2, gaps
    assert times[-1] - times[0] >= (n - 1) * INTERVAL - INTERVAL / 2


def _name(tag: str) -> str:
    return f"test-{tag}-{os.getpid()}-{time.monotonic_ns()}"


def test_two_jobs_limiters_of_one_generator_share_its_rate():
    name, times = _name("threads"), []
    threads = [
        threading.Thread(
            target=_acquire_times, args=(SharedRateLimiter(name, PER_MINUTE), 4, times)
        )  # fmt: skip
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _assert_spaced(times, 8)


def test_other_generators_do_not_wait_on_each_other():
    times_a, times_b = [], []
    started = time.time()
    threads = [
        threading.Thread(
            target=_acquire_times, args=(SharedRateLimiter(_name(tag), PER_MINUTE), 3, into)
        )  # fmt: skip
        for tag, into in (("a", times_a), ("b", times_b))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each has its own 3 slots: the pair takes as long as one, not as two in a row.
    assert max(times_a + times_b) - started < 5 * INTERVAL


# CI names its Redis; elsewhere a database no other run of the suite flushes.
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/9"


@pytest.fixture
def redis_cache(settings):
    """The cache on Redis, as in production, whatever this run's default cache is."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}: start redis-server (.ci/run starts it)")
    settings.CACHES = {
        "default": {"BACKEND": "common.redis_cache.RedisCache", "LOCATION": REDIS_URL}
    }
    return REDIS_URL


def test_two_processes_share_the_rate_through_redis(redis_cache):
    name = _name("processes")
    code = (
        "import django, sys, time; django.setup(); "
        "from training.loop.services.rate_limit import SharedRateLimiter; "
        f"limiter = SharedRateLimiter({name!r}, {PER_MINUTE}); "
        "print('ready', flush=True); sys.stdin.readline(); "
        "[(limiter.acquire(), print(repr(time.time()), flush=True)) for _ in range(4)]"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "REDIS_URL": redis_cache}
    other = subprocess.Popen([sys.executable, "-c", code], cwd=root, env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    assert other.stdout.readline().strip() == "ready"
    other.stdin.write("go\n")  # both start asking at the same moment
    other.stdin.flush()
    mine: list[float] = []
    _acquire_times(SharedRateLimiter(name, PER_MINUTE), 4, mine)
    out, _ = other.communicate(timeout=60)
    assert other.returncode == 0
    _assert_spaced(mine + [float(line) for line in out.split()], 8)


def test_an_http_generator_paces_with_the_shared_limiter(db):
    from tests.factories import make_project
    from training.loop.services.generators import generator_save

    project = make_project(slug="rate")
    g = generator_save(project=project, name="api", kind="openai", base_url="http://h:1/v1",
                       model_name="m", requests_per_minute=30)  # fmt: skip
    with HttpBackend(g)._client() as client:
        assert isinstance(client._limiter, SharedRateLimiter)
        assert client._limiter.name == f"generator-{g.pk}" and client._limiter.interval == 2.0
