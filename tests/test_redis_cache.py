"""The project's Redis cache backend: Django's, keeping one redis-py client per pool."""

import pytest
import redis
from django.core.cache import caches

from common.redis_cache import RedisCache


@pytest.fixture
def redis_url():
    url = "redis://127.0.0.1:6379/3"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {url}: start redis-server (.ci/run starts it)")
    return url


def test_stores_and_reads_back_through_one_client(redis_url):
    cache = RedisCache(redis_url, {"KEY_PREFIX": "redis-cache-test"})
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


def test_the_configured_default_cache_is_this_backend(settings):
    if "redis" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("REDIS_URL is not set: the default cache is the file cache")
    assert isinstance(caches["default"], RedisCache)
