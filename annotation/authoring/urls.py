"""Routes of writing, rewriting and an annotator's own history: pages and REST endpoints."""

from django.urls import path

from annotation.authoring import api, views

urlpatterns = [
    path(
        "p/<slug:slug>/annotate/<int:assignment_id>/diff/",
        views.rewrite_diff,
        name="annotate-rewrite-diff",
    ),
    path("p/<slug:slug>/write/", views.prompt_write_page, name="prompt-write"),
    path(
        "p/<slug:slug>/write/duplicates/",
        views.prompt_duplicates,
        name="prompt-duplicates",
    ),
    path(
        "p/<slug:slug>/write-responses/",
        views.response_write_page,
        name="response-write",
    ),
    path(
        "p/<slug:slug>/write-responses/submit/",
        views.response_write_submit,
        name="response-write-submit",
    ),
    path(
        "p/<slug:slug>/write-responses/skip/",
        views.response_write_skip,
        name="response-write-skip",
    ),
    path("p/<slug:slug>/prompts/", views.written_prompts, name="written-prompts"),
    path(
        "p/<slug:slug>/history/<int:annotation_id>/",
        views.history_detail,
        name="history-detail",
    ),
]

api_urlpatterns = [
    path("projects/<slug:slug>/prompts/", api.PromptListApi.as_view(), name="api-prompts"),
    path(
        "projects/<slug:slug>/prompts/duplicates/",
        api.DuplicateCheckApi.as_view(),
        name="api-prompt-duplicates",
    ),
    path(
        "projects/<slug:slug>/write/claim/",
        api.WriteClaimApi.as_view(),
        name="api-write-claim",
    ),
    path(
        "write-assignments/<int:assignment_id>/submit/",
        api.WriteSubmitApi.as_view(),
        name="api-write-submit",
    ),
    path(
        "write-assignments/<int:assignment_id>/skip/",
        api.WriteSkipApi.as_view(),
        name="api-write-skip",
    ),
    path(
        "projects/<slug:slug>/annotations/mine/",
        api.MyAnnotationsApi.as_view(),
        name="api-my-annotations",
    ),
    path(
        "annotations/<int:annotation_id>/",
        api.AnnotationDetailApi.as_view(),
        name="api-annotation",
    ),
    path(
        "annotations/<int:annotation_id>/revise/",
        api.AnnotationReviseApi.as_view(),
        name="api-annotation-revise",
    ),
]
