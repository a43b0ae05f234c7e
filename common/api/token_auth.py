"""API token authentication that does not cost a database query per request.

DRF's ``TokenAuthentication`` reads the token and its user on every request: on the
annotate loop that is one statement in four. Here the user a token names is kept in
the cache (Redis in production) under a hash of the token, never the token itself, for
``TOKEN_CACHE_SECONDS``. It stays safe because every change that must end a token's
access takes the entry out at once:

- a token deleted (revoked, regenerated, its user deleted) fires ``post_delete``;
- a user saved (deactivated, made staff or not) fires ``post_save``, and the user's
  token entry goes.

A bulk ``update()`` of users sends no signal; the time-out bounds how long such a change
takes to apply. The user is rebuilt with only the fields authentication and permission
checks read; any other field loads from the database when first touched.
"""

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

logger = logging.getLogger(__name__)

# The user fields kept in the cache: what authentication, roles and staff checks read.
CACHED_USER_FIELDS = ("id", "username", "is_active", "is_staff", "is_superuser")


def _token_cache_key(key: str) -> str:
    return "preflab:token:" + hashlib.sha256(key.encode()).hexdigest()


def _user_cache_key(user_id: int) -> str:
    return f"preflab:token-of:{user_id}"


def _cached_fields() -> list[str]:
    """The cached fields in the model's own field order, the order ``from_db`` reads."""
    return [
        f.attname for f in get_user_model()._meta.concrete_fields if f.attname in CACHED_USER_FIELDS
    ]


def _cached_user(values: list):
    """A user instance from cached values; the other fields are deferred (loaded if read)."""
    return get_user_model().from_db("default", _cached_fields(), list(values))


class CachedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, answered from the cache when it holds the key."""

    def authenticate_credentials(self, key):
        cache_key = _token_cache_key(key)
        try:
            values = cache.get(cache_key)
        except Exception:  # the cache is down: the database still answers
            logger.warning("cache unavailable; token read from the database", exc_info=True)
            values = None
        if values is not None:
            return _cached_user(values), None
        user, token = super().authenticate_credentials(key)
        remembered = [getattr(user, name) for name in _cached_fields()]
        try:
            cache.set_many(
                {cache_key: remembered, _user_cache_key(user.pk): cache_key},
                settings.PREFLAB_TOKEN_CACHE_SECONDS,
            )
        except Exception:
            logger.warning("cache unavailable; token not remembered", exc_info=True)
        return user, token


def _forget_user(user_id: int) -> None:
    try:
        token_key = cache.get(_user_cache_key(user_id))
        if token_key:
            cache.delete_many([token_key, _user_cache_key(user_id)])
    except Exception:  # a cache that is down remembers nothing to forget
        logger.warning("cache unavailable; token entry of user %s not dropped", user_id)


def _token_deleted(sender, instance: Token, **_) -> None:
    try:
        cache.delete_many([_token_cache_key(instance.key), _user_cache_key(instance.user_id)])
    except Exception:
        logger.warning("cache unavailable; revoked token entry not dropped", exc_info=True)


def _user_saved(sender, instance, created: bool, **_) -> None:
    if not created:
        _forget_user(instance.pk)


def token_cache_connect() -> None:
    """Connect the receivers that keep the cache honest (from an app's ``ready()``)."""
    post_delete.connect(_token_deleted, sender=Token, dispatch_uid="common.token_deleted")
    post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="common.user_saved")
