"""One limit on password tries, for the API's token endpoint and the login page alike.

Each try counts against two budgets of the "auth" rate (``PREFLAB_AUTH_RATE``): the
client's address and the username tried. So one address cannot try many passwords,
and many addresses cannot share out the guessing of one user's password. The counters
live in the cache, shared by every web process.
"""

import hashlib
import logging

from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class PasswordTryThrottle(SimpleRateThrottle):
    """A DRF throttle that the login view consults too (it only reads META and POST)."""

    scope = "auth"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def _keys(self, request) -> list[str]:
        keys = [self.get_cache_key(request, None)]
        data = getattr(request, "data", None)
        username = (data if data is not None else request.POST).get("username")
        if isinstance(username, str) and username.strip():
            # Hashed: a username may hold characters a cache key must not.
            digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
            keys.append(self.cache_format % {"scope": f"{self.scope}_user", "ident": digest})
        return keys

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.now = self.timer()
        self.history = []
        try:
            histories = {key: self._recent(key) for key in self._keys(request)}
            full = [history for history in histories.values() if len(history) >= self.num_requests]
            if full:
                self.history = max(full, key=lambda history: history[-1])  # the longest wait
                return False
            for key, history in histories.items():
                self.cache.set(key, [self.now, *history], self.duration)
        except Exception:  # the cache is down: nobody locked out, as without the limit
            logger.warning("cache unavailable; password tries are not limited", exc_info=True)
        return True

    def _recent(self, key: str) -> list[float]:
        return [t for t in self.cache.get(key, []) if t > self.now - self.duration]
