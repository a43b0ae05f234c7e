"""Routes of training runs and the model registry: pages and REST endpoints."""

from django.urls import path

from training.runs import api, views
from training.runs.kinds import RUN_KINDS

urlpatterns = [
    path("p/<slug:slug>/runs/", views.run_list, name="run-list"),
    path("p/<slug:slug>/runs/compare/", views.run_compare, name="run-compare"),
    # One launch page per kind in the registry, all named run-new:
    # {% url 'run-new' slug=project.slug kind="ppo" %} picks the kind's.
    *(
        path(f"p/<slug:slug>/runs/new/{kind}/", views.run_new, {"kind": kind}, name="run-new")
        for kind in RUN_KINDS
    ),
    path("p/<slug:slug>/runs/launch/reward/", views.run_launch_reward, name="run-launch-reward"),
    path("p/<slug:slug>/runs/launch/policy/", views.run_launch_policy, name="run-launch-policy"),
    path(
        "p/<slug:slug>/runs/launch/evaluation/",
        views.run_launch_evaluation,
        name="run-launch-evaluation",
    ),
    path("p/<slug:slug>/runs/<int:run_id>/", views.run_detail, name="run-detail"),
    path("p/<slug:slug>/runs/<int:run_id>/cancel/", views.run_cancel_view, name="run-cancel"),
    path(
        "p/<slug:slug>/runs/<int:run_id>/relaunch/",
        views.run_relaunch_view,
        name="run-relaunch",
    ),
]

api_urlpatterns = [
    path("training-runs/", api.RunListApi.as_view(), name="api-runs"),
    path("training-runs/<int:run_id>/", api.RunDetailApi.as_view(), name="api-run"),
    path(
        "training-runs/<int:run_id>/cancel/",
        api.RunCancelApi.as_view(),
        name="api-run-cancel",
    ),
    path(
        "training-runs/<int:run_id>/relaunch/",
        api.RunRelaunchApi.as_view(),
        name="api-run-relaunch",
    ),
    path(
        "training-runs/<int:run_id>/metrics/",
        api.RunMetricsApi.as_view(),
        name="api-run-metrics",
    ),
    path("models/", api.ModelListApi.as_view(), name="api-models"),
    path("models/<int:model_id>/score/", api.ModelScoreApi.as_view(), name="api-model-score"),
]
