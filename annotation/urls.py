"""Routes of the annotation app: the ranking page and its API here, then each sub-domain's."""

from django.urls import path

from annotation import api, views
from annotation.authoring import urls as authoring
from annotation.importing import urls as importing
from annotation.quality import urls as quality

SUBDOMAINS = (importing, authoring, quality)

urlpatterns = [
    path("p/<slug:slug>/annotate/", views.annotate, name="annotate"),
    path("p/<slug:slug>/annotate/next/", views.prefetch, name="annotate-prefetch"),
    path(
        "p/<slug:slug>/annotate/<int:assignment_id>/submit/", views.submit, name="annotate-submit"
    ),
    path("p/<slug:slug>/annotate/<int:assignment_id>/skip/", views.skip, name="annotate-skip"),
    path(
        "p/<slug:slug>/annotate/<int:assignment_id>/heartbeat/",
        views.heartbeat,
        name="annotate-heartbeat",
    ),
] + [route for sub in SUBDOMAINS for route in sub.urlpatterns]

api_urlpatterns = [
    path("projects/<slug:slug>/claim/", api.ClaimApi.as_view(), name="api-claim"),
    path(
        "assignments/<int:assignment_id>/submit/",
        api.SubmitApi.as_view(),
        name="api-submit",
    ),
    path("assignments/<int:assignment_id>/skip/", api.SkipApi.as_view(), name="api-skip"),
    path(
        "assignments/<int:assignment_id>/heartbeat/",
        api.HeartbeatApi.as_view(),
        name="api-heartbeat",
    ),
] + [route for sub in SUBDOMAINS for route in sub.api_urlpatterns]
