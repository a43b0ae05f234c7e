"""Idempotent create: a retried request carrying the same ``client_token`` gets the row
its first try made, never a second one.

Every model that takes a token holds a unique constraint over its owner's fields and
``client_token`` (``snapshot_client_token``, ``run_client_token``,
``round_client_token``), or over a column keeping the token in another form (a written
prompt's ``external_id``: ``prompt_external_id_unique_in_project``). That constraint,
not the first lookup, is what makes this safe: two requests with one token that both
find nothing both insert, and on PostgreSQL the second waits on the unique index until
the first commits, then fails with an IntegrityError. Its savepoint is rolled back and
the row the first one committed is returned (each statement under READ COMMITTED sees
what committed before it began).
"""

from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, models, transaction

from common.errors import ConflictError
from common.tokens import client_token_checked

M = TypeVar("M", bound=models.Model)


def create_once(
    model: type[M],
    *,
    client_token: str | None,
    owner: dict,
    create: Callable[[str | None], M],
    attempts: int = 1,
    busy: str = "another request made the same change at the same moment; try again",
    stored_as: Callable[[str], dict] | None = None,
) -> tuple[M, bool]:
    """The row ``client_token`` made before under ``owner`` (created False), else the
    row ``create(token)`` makes now (created True).

    Args:
        model: the model whose unique constraint covers ``owner`` and ``client_token``.
        client_token: the token as sent (checked here; None or "" means no token).
        owner: the constraint's other fields, e.g. ``{"project": p, "created_by": u}``.
        create: makes and returns the row, storing the token it is given; it runs in a
            savepoint, so an IntegrityError undoes it whole (work it queued on commit
            included).
        attempts: how often ``create`` may run when it hits another uniqueness (a
            number two requests took at once) rather than the token's.
        busy: the conflict's message when every attempt lost such a race.
        stored_as: the fields that find the row a token made, where the model keeps it
            in another form than its ``client_token`` column; ``{"client_token": token}``
            by default.
    """
    token = client_token_checked(client_token)
    lookup = stored_as or _as_sent
    if earlier := _made_by(model, token, owner, lookup):
        return earlier, False
    for _attempt in range(attempts):
        try:
            with transaction.atomic():
                return create(token), True
        except IntegrityError:
            # The same token raced in from a retried request, or another unique value
            # (a number) was taken at once: the first returns its row, the second retries.
            if earlier := _made_by(model, token, owner, lookup):
                return earlier, False
    raise ConflictError(busy)


def _as_sent(token: str) -> dict:
    return {"client_token": token}


def _made_by(
    model: type[M], token: str | None, owner: dict, lookup: Callable[[str], dict]
) -> M | None:
    if not token:
        return None
    return model._default_manager.filter(**owner, **lookup(token)).first()
