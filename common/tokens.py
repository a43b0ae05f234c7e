"""Idempotency tokens sent by clients (a retried request carries the same one)."""

from common.errors import ApplicationError

MAX_LENGTH = 64  # the models' client_token columns


def client_token_checked(value) -> str | None:
    """The token as the models store it, or None when none was sent. Pages post it from
    a hidden field, which a crafted request can fill with anything: a token too long for
    its column or holding NUL would fail in PostgreSQL with a 500, so it is refused here."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > MAX_LENGTH or "\x00" in value:
        raise ApplicationError(
            f"client_token: at most {MAX_LENGTH} characters, without NUL",
            extra={"field": "client_token"},
        )
    return value
