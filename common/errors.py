"""The one error family services raise; views and the API turn it into a response."""

from typing import Any


class ApplicationError(Exception):
    """A user-facing failure with a clear message and the HTTP status it maps to."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class PermissionDeniedError(ApplicationError):
    status_code = 403
    code = "permission_denied"


class NotFoundError(ApplicationError):
    status_code = 404
    code = "not_found"


class ConflictError(ApplicationError):
    status_code = 409
    code = "conflict"


class ServiceUnavailableError(ApplicationError):
    """A service the request needs is down (the job queue, the workers): try again later."""

    status_code = 503
    code = "unavailable"
