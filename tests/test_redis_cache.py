"""The project's Redis cache backend: Django's, keeping one redis-py client per pool."""

import os

import pytest
from django.core.cache import caches

from common.redis_cache import RedisCache

# `make test` runs on the embedded defaults (file cache, no Redis); CI sets REDIS_URL and
# a Redis to reach, so there this test runs, and fails if Redis cannot be reached.
REDIS_URL = os.environ.get("REDIS_URL", "")
pytestmark = pytest.mark.skipif(
    not REDIS_URL, reason="REDIS_URL is unset: `make test` runs without Redis; CI sets it"
)


def test_stores_and_reads_back_through_one_client():
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": "redis-cache-test"})
    cache.set("answer", {"ranking": [[1], [2, 3]]}, 30)
    assert cache.add("answer", "other", 30) is False
    assert cache.get("answer") == {"ranking": [[1], [2, 3]]}
    assert cache.add("count", 1, 30)
    assert cache.incr("count") == 2
    client = cache._cache.get_client()
    assert client is cache._cache.get_client()  # kept, not built per call
    assert client is cache._cache.get_client(write=True)  # one server: one pool, one client
    cache.delete_many(["answer", "count"])
    assert cache.get("answer") is None


def test_the_configured_default_cache_is_this_backend():
    assert isinstance(caches["default"], RedisCache)
