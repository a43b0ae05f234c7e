"""Routes of imports and batches: pages and REST endpoints."""

from django.urls import path

from annotation.importing import api, views

urlpatterns = [
    path("p/<slug:slug>/imports/", views.import_list, name="import-list"),
    path("p/<slug:slug>/imports/<int:import_id>/", views.import_detail, name="import-detail"),
    path(
        "p/<slug:slug>/imports/<int:import_id>/cancel/", views.import_cancel, name="import-cancel"
    ),
    path("p/<slug:slug>/batches/", views.batch_list, name="batch-list"),
    path("p/<slug:slug>/batches/restrict/", views.batch_restrict_view, name="batch-restrict"),
]

api_urlpatterns = [
    path(
        "projects/<slug:slug>/imports/",
        api.ImportCreateApi.as_view(),
        name="api-imports",
    ),
    path("imports/<int:import_id>/", api.ImportDetailApi.as_view(), name="api-import"),
    path(
        "imports/<int:import_id>/cancel/",
        api.ImportCancelApi.as_view(),
        name="api-import-cancel",
    ),
]
