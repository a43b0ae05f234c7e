from django.urls import path

from training import views

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
