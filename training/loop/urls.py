"""Routes of the model in the loop (generators, rounds, generation jobs): pages and API."""

from django.urls import path

from training.loop import api, views

urlpatterns = [
    path("p/<slug:slug>/loop/", views.loop, name="loop"),
    path("p/<slug:slug>/loop/settings/", views.loop_settings_save, name="loop-settings"),
    path("p/<slug:slug>/loop/generators/", views.generator_add, name="loop-generator-add"),
    path("p/<slug:slug>/loop/rounds/", views.round_start_view, name="loop-round-start"),
    path(
        "p/<slug:slug>/loop/jobs/<int:job_id>/cancel/",
        views.generation_job_cancel_view,
        name="generation-job-cancel",
    ),
]

api_urlpatterns = [
    path(
        "projects/<slug:slug>/generators/",
        api.GeneratorListApi.as_view(),
        name="api-generators",
    ),
    path(
        "projects/<slug:slug>/generators/<int:generator_id>/",
        api.GeneratorDetailApi.as_view(),
        name="api-generator",
    ),
    path("projects/<slug:slug>/rounds/", api.RoundListApi.as_view(), name="api-rounds"),
    path(
        "generation-jobs/<int:job_id>/",
        api.GenerationJobApi.as_view(),
        name="api-generation-job",
    ),
    path(
        "generation-jobs/<int:job_id>/cancel/",
        api.GenerationJobCancelApi.as_view(),
        name="api-generation-job-cancel",
    ),
]
