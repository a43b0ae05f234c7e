"""Refuse a NUL byte in a request's path or query once, for every route.

No page or endpoint has a use for NUL (it is no text a person types), and PostgreSQL
cannot store or even compare it: a NUL reaching a filter, a lookup or a file name failed
with a 500 in view after view. So it is answered here with a 400 that says why, before
any view runs: JSON under /api/, the site's error page otherwise.
"""

from django.http import JsonResponse
from django.shortcuts import render

NUL = "\x00"
MESSAGE = "The address contains a NUL character (%00), which no page or endpoint accepts."


def _has_nul(request) -> bool:
    if NUL in request.path_info:
        return True
    # The decoded query, so %00 in a name or a value (and in a + or %-encoded form) counts.
    return any(
        NUL in key or any(NUL in value for value in values) for key, values in request.GET.lists()
    )


class RefuseNulBytesMiddleware:
    """Answer 400 to a request whose path or query holds a NUL byte."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _has_nul(request):
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            return JsonResponse({"error": "bad_request", "message": MESSAGE}, status=400)
        return render(request, "400.html", {"message": MESSAGE}, status=400)
