from django.urls import path

from training import views, views_loop, views_runs

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
    path("p/<slug:slug>/runs/", views_runs.run_list, name="run-list"),
    path("p/<slug:slug>/runs/compare/", views_runs.run_compare, name="run-compare"),
    path("p/<slug:slug>/runs/<int:run_id>/", views_runs.run_detail, name="run-detail"),
    path("p/<slug:slug>/runs/<int:run_id>/cancel/", views_runs.run_cancel_view, name="run-cancel"),
    path(
        "p/<slug:slug>/runs/<int:run_id>/relaunch/",
        views_runs.run_relaunch_view,
        name="run-relaunch",
    ),
    path("p/<slug:slug>/loop/", views_loop.loop, name="loop"),
    path(
        "p/<slug:slug>/loop/jobs/<int:job_id>/cancel/",
        views_loop.generation_job_cancel_view,
        name="generation-job-cancel",
    ),
]
