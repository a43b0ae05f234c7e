from django.urls import path

from annotation import views, views_authoring, views_quality

urlpatterns = [
    path("p/<slug:slug>/annotate/", views.annotate, name="annotate"),
    path("p/<slug:slug>/annotate/next/", views.prefetch, name="annotate-prefetch"),
    path(
        "p/<slug:slug>/annotate/<int:assignment_id>/submit/", views.submit, name="annotate-submit"
    ),
    path("p/<slug:slug>/annotate/<int:assignment_id>/skip/", views.skip, name="annotate-skip"),
    path(
        "p/<slug:slug>/annotate/<int:assignment_id>/heartbeat/",
        views.heartbeat,
        name="annotate-heartbeat",
    ),
    path("p/<slug:slug>/imports/", views.import_list, name="import-list"),
    path("p/<slug:slug>/imports/<int:import_id>/", views.import_detail, name="import-detail"),
    path(
        "p/<slug:slug>/imports/<int:import_id>/cancel/", views.import_cancel, name="import-cancel"
    ),
    path("p/<slug:slug>/batches/", views.batch_list, name="batch-list"),
    path(
        "p/<slug:slug>/annotate/<int:assignment_id>/diff/",
        views_authoring.rewrite_diff,
        name="annotate-rewrite-diff",
    ),
    path("p/<slug:slug>/write/", views_authoring.prompt_write_page, name="prompt-write"),
    path(
        "p/<slug:slug>/write/duplicates/",
        views_authoring.prompt_duplicates,
        name="prompt-duplicates",
    ),
    path(
        "p/<slug:slug>/write-responses/",
        views_authoring.response_write_page,
        name="response-write",
    ),
    path("p/<slug:slug>/prompts/", views_authoring.written_prompts, name="written-prompts"),
    path("p/<slug:slug>/history/", views_authoring.history, name="history"),
    path(
        "p/<slug:slug>/history/<int:annotation_id>/",
        views_authoring.history_detail,
        name="history-detail",
    ),
    path("p/<slug:slug>/quality/", views_quality.quality_dashboard, name="quality-dashboard"),
    path(
        "p/<slug:slug>/quality/annotators.csv",
        views_quality.quality_annotators_csv,
        name="quality-annotators-csv",
    ),
    path(
        "p/<slug:slug>/quality/refresh/", views_quality.quality_refresh_now, name="quality-refresh"
    ),
    path(
        "p/<slug:slug>/quality/annotators/<int:user_id>/resume/",
        views_quality.annotator_resume,
        name="annotator-resume",
    ),
    path("p/<slug:slug>/review/", views_quality.review_queue_page, name="review-queue"),
    path(
        "p/<slug:slug>/review/items/<int:item_id>/",
        views_quality.review_item_page,
        name="review-item",
    ),
    path(
        "p/<slug:slug>/review/items/<int:item_id>/annotations/<int:annotation_id>/",
        views_quality.review_act,
        name="review-act",
    ),
    path(
        "p/<slug:slug>/review/items/<int:item_id>/gold/", views_quality.item_gold, name="item-gold"
    ),
    path("p/<slug:slug>/guidelines/flag/", views_quality.guideline_flag, name="guideline-flag"),
]
