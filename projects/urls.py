"""Routes of the projects app: projects, members, guidelines; then the labels sub-domain."""

from django.urls import path

from projects import api, views
from projects.labels import urls as labels

urlpatterns = [
    # Django's login page under the token endpoint's limit on password tries.
    path("accounts/login/", views.login, name="login"),
    path("", views.home, name="home"),
    path("projects/new/", views.project_create, name="project-create"),
    path("p/<slug:slug>/", views.project_detail, name="project-detail"),
    path("p/<slug:slug>/settings/", views.project_settings, name="project-settings"),
    path("p/<slug:slug>/members/", views.project_members, name="project-members"),
    path("p/<slug:slug>/members/add/", views.member_add, name="member-add"),
    path("p/<slug:slug>/members/remove/", views.member_remove, name="member-remove"),
    path("p/<slug:slug>/members/groups/", views.group_save, name="group-save"),
    path("p/<slug:slug>/guidelines/", views.guideline_detail, name="guideline-detail"),
    path("p/<slug:slug>/guidelines/ack/", views.guideline_acknowledge, name="guideline-ack"),
    path("p/<slug:slug>/guidelines/edit/", views.guideline_edit, name="guideline-edit"),
    path("p/<slug:slug>/guidelines/preview/", views.guideline_preview, name="guideline-preview"),
    path(
        "p/<slug:slug>/guidelines/v<int:version>/",
        views.guideline_version,
        name="guideline-version",
    ),
] + labels.urlpatterns

api_urlpatterns = [
    path("projects/", api.ProjectListApi.as_view(), name="api-projects"),
    path("projects/<slug:slug>/", api.ProjectDetailApi.as_view(), name="api-project"),
    path("projects/<slug:slug>/members/", api.MemberApi.as_view(), name="api-members"),
    path(
        "projects/<slug:slug>/guidelines/",
        api.GuidelineApi.as_view(),
        name="api-guidelines",
    ),
    path(
        "projects/<slug:slug>/guidelines/ack/",
        api.GuidelineAckApi.as_view(),
        name="api-guidelines-ack",
    ),
] + labels.api_urlpatterns
