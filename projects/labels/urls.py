"""Routes of a project's tag set and rubric: pages and REST endpoints."""

from django.urls import path

from projects.labels import api, views

urlpatterns = [
    path("p/<slug:slug>/labels/", views.label_list, name="label-list"),
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
