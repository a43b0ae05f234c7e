"""JSON errors for every API failure: a clear message, the right status, never a 500 page."""

import logging

from django.core.exceptions import PermissionDenied, SuspiciousOperation, ValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from common.errors import ApplicationError

logger = logging.getLogger(__name__)


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flatten(value) for value in detail)
    return str(detail)


def json_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        body = {"error": exc.code, "message": exc.message, **exc.extra}
        return Response(body, status=exc.status_code)
    if isinstance(exc, SuspiciousOperation):  # e.g. RequestDataTooBig
        return Response(
            {"error": "bad_request", "message": f"request refused: {exc}"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "Permission denied.")
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(
            {"error": "server_error", "message": "Internal error; it has been logged."},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    code = getattr(exc, "default_code", "error")
    detail = response.data
    body = {"error": code, "message": _flatten(detail)}
    if isinstance(exc, exceptions.ValidationError):
        body["fields"] = detail
    response.data = body
    return response
