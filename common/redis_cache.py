"""Django's Redis cache backend, keeping its redis-py client instead of building one per call.

Django's ``RedisCacheClient.get_client`` makes a new ``redis.Redis`` for every cache
operation, and making one fills its table of about 170 response callbacks: about 0.5 ms
each time on the benchmark machine, for every token look-up and lease reap of the
annotate loop (benchmarks/request_profile.py). The client is a thin handle on a
connection pool, and Django already keeps one cache object (so one of these) per thread,
so one client per pool is safe to keep.
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
