"""Liveness for load balancers and compose health checks, and friendly 404 and 500 answers."""

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "not_found", "message": "no such endpoint"}, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    # An API client reads JSON, also when the failure came before DRF's own handler (a
    # middleware, the URL configuration); pages get 500.html, standalone by design.
    if request.path.startswith("/api/"):
        body = {"error": "server_error", "message": "Internal error; it has been logged."}
        return JsonResponse(body, status=500)
    return defaults.server_error(request)
