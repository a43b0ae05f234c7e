"""Routes of quality control (dashboard, review, gold): pages and REST endpoints."""

from django.urls import path

from annotation.quality import api, views

urlpatterns = [
    path("p/<slug:slug>/quality/", views.quality_dashboard, name="quality-dashboard"),
    path(
        "p/<slug:slug>/quality/annotators.csv",
        views.quality_annotators_csv,
        name="quality-annotators-csv",
    ),
    path("p/<slug:slug>/quality/refresh/", views.quality_refresh_now, name="quality-refresh"),
    path(
        "p/<slug:slug>/quality/annotators/<int:user_id>/resume/",
        views.annotator_resume,
        name="annotator-resume",
    ),
    path("p/<slug:slug>/review/", views.review_queue_page, name="review-queue"),
    path(
        "p/<slug:slug>/review/items/<int:item_id>/",
        views.review_item_page,
        name="review-item",
    ),
    *(
        path(
            f"p/<slug:slug>/review/items/<int:item_id>/annotations/<int:annotation_id>/{verdict}/",
            view,
            name=f"review-{verdict}",
        )
        for verdict, view in (
            ("accept", views.review_accept),
            ("reject", views.review_reject),
            ("correct", views.review_correct),
        )
    ),
    path("p/<slug:slug>/review/items/<int:item_id>/gold/", views.item_gold_mark, name="item-gold"),
    path(
        "p/<slug:slug>/review/items/<int:item_id>/gold/unmark/",
        views.item_gold_unmark,
        name="item-gold-unmark",
    ),
    path("p/<slug:slug>/guidelines/flag/", views.guideline_flag, name="guideline-flag"),
    path("p/<slug:slug>/quality/me/", views.quality_own, name="quality-own"),
    path("p/<slug:slug>/history/", views.history, name="history"),
]

api_urlpatterns = [
    path("projects/<slug:slug>/quality/", api.DashboardApi.as_view(), name="api-quality"),
    path(
        "projects/<slug:slug>/quality/annotators/",
        api.AnnotatorTableApi.as_view(),
        name="api-quality-annotators",
    ),
    path(
        "projects/<slug:slug>/quality/me/",
        api.OwnQualityApi.as_view(),
        name="api-quality-me",
    ),
    path(
        "projects/<slug:slug>/quality/pairs/",
        api.PairsApi.as_view(),
        name="api-quality-pairs",
    ),
    path(
        "projects/<slug:slug>/items/<int:item_id>/consensus/",
        api.ItemConsensusApi.as_view(),
        name="api-item-consensus",
    ),
    path(
        "projects/<slug:slug>/items/<int:item_id>/gold/",
        api.GoldApi.as_view(),
        name="api-item-gold",
    ),
    path(
        "projects/<slug:slug>/review-queue/",
        api.ReviewQueueApi.as_view(),
        name="api-review-queue",
    ),
    path(
        "projects/<slug:slug>/review/items/<int:item_id>/",
        api.ReviewItemApi.as_view(),
        name="api-review-item",
    ),
    path(
        "annotations/<int:annotation_id>/review/",
        api.ReviewActApi.as_view(),
        name="api-review",
    ),
    path(
        "projects/<slug:slug>/annotators/<str:username>/resume/",
        api.ResumeApi.as_view(),
        name="api-annotator-resume",
    ),
    path(
        "projects/<slug:slug>/guidelines/flag/",
        api.GuidelineFlagApi.as_view(),
        name="api-guidelines-flag",
    ),
]
