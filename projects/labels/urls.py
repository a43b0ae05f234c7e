"""Routes of a project's tag set and rubric: pages and REST endpoints."""

from django.urls import path

from projects.labels import api, views

urlpatterns = [
    path("p/<slug:slug>/labels/", views.label_list, name="label-list"),
    path("p/<slug:slug>/labels/add/", views.label_add, name="label-add"),
    path("p/<slug:slug>/labels/<int:label_id>/delete/", views.label_delete, name="label-delete"),
    path("p/<slug:slug>/labels/dimensions/add/", views.dimension_add, name="dimension-add"),
    path(
        "p/<slug:slug>/labels/dimensions/<int:dimension_id>/delete/",
        views.dimension_delete,
        name="dimension-delete",
    ),
]

api_urlpatterns = [
    path("projects/<slug:slug>/labels/", api.TagLabelListApi.as_view(), name="api-labels"),
    path(
        "projects/<slug:slug>/labels/<int:label_id>/",
        api.TagLabelDetailApi.as_view(),
        name="api-label",
    ),
    path("projects/<slug:slug>/rubric/", api.RubricListApi.as_view(), name="api-rubric"),
    path(
        "projects/<slug:slug>/rubric/<int:dimension_id>/",
        api.RubricDetailApi.as_view(),
        name="api-rubric-dimension",
    ),
]
