from django.urls import path

from projects import views, views_labels

urlpatterns = [
    # Django's login page under the token endpoint's limit on password tries.
    path("accounts/login/", views.login, name="login"),
    path("", views.home, name="home"),
    path("projects/new/", views.project_create, name="project-create"),
    path("p/<slug:slug>/", views.project_detail, name="project-detail"),
    path("p/<slug:slug>/settings/", views.project_settings, name="project-settings"),
    path("p/<slug:slug>/members/", views.project_members, name="project-members"),
    path("p/<slug:slug>/labels/", views_labels.label_list, name="label-list"),
    path("p/<slug:slug>/guidelines/", views.guideline_detail, name="guideline-detail"),
    path("p/<slug:slug>/guidelines/ack/", views.guideline_acknowledge, name="guideline-ack"),
    path("p/<slug:slug>/guidelines/edit/", views.guideline_edit, name="guideline-edit"),
    path("p/<slug:slug>/guidelines/preview/", views.guideline_preview, name="guideline-preview"),
    path(
        "p/<slug:slug>/guidelines/v<int:version>/",
        views.guideline_version,
        name="guideline-version",
    ),
]
