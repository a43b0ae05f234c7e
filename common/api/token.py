"""The token endpoint: username and password in, an API token out."""

from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken

from common.web.auth_throttle import PasswordTryThrottle


@extend_schema_view(
    post=extend_schema(
        auth=[],
        responses={
            200: inline_serializer("AuthToken", {"token": serializers.CharField()}),
            429: OpenApiResponse(description="Too many tries from your address; wait a minute."),
        },
    )
)
class TokenApi(ObtainAuthToken):
    """username + password -> token; password tries limited as on the login page."""

    throttle_classes = [PasswordTryThrottle]
