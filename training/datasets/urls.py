"""Routes of dataset snapshots: pages and REST endpoints."""

from django.urls import path

from training.datasets import api, views

urlpatterns = [
    path("p/<slug:slug>/snapshots/", views.snapshot_list, name="snapshot-list"),
    path("p/<slug:slug>/snapshots/<int:number>/", views.snapshot_detail, name="snapshot-detail"),
    path(
        "p/<slug:slug>/snapshots/<int:number>/cancel/",
        views.snapshot_cancel_view,
        name="snapshot-cancel",
    ),
    path(
        "p/<slug:slug>/snapshots/<int:number>/files/<path:name>",
        views.snapshot_file,
        name="snapshot-file",
    ),
]

api_urlpatterns = [
    path(
        "projects/<slug:slug>/snapshots/",
        api.SnapshotListApi.as_view(),
        name="api-snapshots",
    ),
    path(
        "snapshots/<int:snapshot_id>/",
        api.SnapshotDetailApi.as_view(),
        name="api-snapshot",
    ),
    path(
        "snapshots/<int:snapshot_id>/cancel/",
        api.SnapshotCancelApi.as_view(),
        name="api-snapshot-cancel",
    ),
    path(
        "snapshots/<int:snapshot_id>/files/<path:name>",
        api.SnapshotFileApi.as_view(),
        name="api-snapshot-file",
    ),
]
