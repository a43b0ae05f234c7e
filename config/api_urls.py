"""The REST API, version 1."""

from django.urls import path
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken

from annotation import api as annotation_api
from annotation import api_authoring, api_quality
from config.auth_throttle import PasswordTryThrottle
from projects import api as projects_api
from projects import api_labels
from training import api as training_api
from training import api_loop, api_runs


@extend_schema_view(
    post=extend_schema(
        auth=[],
        responses={
            200: inline_serializer("AuthToken", {"token": serializers.CharField()}),
            429: OpenApiResponse(description="Too many tries from your address; wait a minute."),
        },
    )
)
class TokenApi(ObtainAuthToken):
    """username + password -> token; password tries limited as on the login page."""

    throttle_classes = [PasswordTryThrottle]


urlpatterns = [
    path("auth/token/", TokenApi.as_view(), name="api-token"),
    path(
        "projects/<slug:slug>/snapshots/",
        training_api.SnapshotListApi.as_view(),
        name="api-snapshots",
    ),
    path(
        "snapshots/<int:snapshot_id>/",
        training_api.SnapshotDetailApi.as_view(),
        name="api-snapshot",
    ),
    path(
        "snapshots/<int:snapshot_id>/cancel/",
        training_api.SnapshotCancelApi.as_view(),
        name="api-snapshot-cancel",
    ),
    path(
        "snapshots/<int:snapshot_id>/files/<path:name>",
        training_api.SnapshotFileApi.as_view(),
        name="api-snapshot-file",
    ),
    path("training-runs/", api_runs.RunListApi.as_view(), name="api-runs"),
    path("training-runs/<int:run_id>/", api_runs.RunDetailApi.as_view(), name="api-run"),
    path(
        "training-runs/<int:run_id>/cancel/",
        api_runs.RunCancelApi.as_view(),
        name="api-run-cancel",
    ),
    path(
        "training-runs/<int:run_id>/relaunch/",
        api_runs.RunRelaunchApi.as_view(),
        name="api-run-relaunch",
    ),
    path(
        "training-runs/<int:run_id>/metrics/",
        api_runs.RunMetricsApi.as_view(),
        name="api-run-metrics",
    ),
    path("models/", api_runs.ModelListApi.as_view(), name="api-models"),
    path("models/<int:model_id>/score/", api_runs.ModelScoreApi.as_view(), name="api-model-score"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script as a file: no inline script for the CSP to refuse.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("projects/", projects_api.ProjectListApi.as_view(), name="api-projects"),
    path("projects/<slug:slug>/", projects_api.ProjectDetailApi.as_view(), name="api-project"),
    path("projects/<slug:slug>/members/", projects_api.MemberApi.as_view(), name="api-members"),
    path(
        "projects/<slug:slug>/guidelines/",
        projects_api.GuidelineApi.as_view(),
        name="api-guidelines",
    ),
    path(
        "projects/<slug:slug>/guidelines/ack/",
        projects_api.GuidelineAckApi.as_view(),
        name="api-guidelines-ack",
    ),
    path(
        "projects/<slug:slug>/imports/",
        annotation_api.ImportCreateApi.as_view(),
        name="api-imports",
    ),
    path("projects/<slug:slug>/claim/", annotation_api.ClaimApi.as_view(), name="api-claim"),
    path("projects/<slug:slug>/labels/", api_labels.TagLabelListApi.as_view(), name="api-labels"),
    path(
        "projects/<slug:slug>/labels/<int:label_id>/",
        api_labels.TagLabelDetailApi.as_view(),
        name="api-label",
    ),
    path("projects/<slug:slug>/rubric/", api_labels.RubricListApi.as_view(), name="api-rubric"),
    path(
        "projects/<slug:slug>/rubric/<int:dimension_id>/",
        api_labels.RubricDetailApi.as_view(),
        name="api-rubric-dimension",
    ),
    path(
        "projects/<slug:slug>/prompts/", api_authoring.PromptListApi.as_view(), name="api-prompts"
    ),
    path(
        "projects/<slug:slug>/prompts/duplicates/",
        api_authoring.DuplicateCheckApi.as_view(),
        name="api-prompt-duplicates",
    ),
    path(
        "projects/<slug:slug>/write/claim/",
        api_authoring.WriteClaimApi.as_view(),
        name="api-write-claim",
    ),
    path(
        "write-assignments/<int:assignment_id>/submit/",
        api_authoring.WriteSubmitApi.as_view(),
        name="api-write-submit",
    ),
    path(
        "write-assignments/<int:assignment_id>/skip/",
        api_authoring.WriteSkipApi.as_view(),
        name="api-write-skip",
    ),
    path(
        "projects/<slug:slug>/annotations/mine/",
        api_authoring.MyAnnotationsApi.as_view(),
        name="api-my-annotations",
    ),
    path(
        "annotations/<int:annotation_id>/",
        api_authoring.AnnotationDetailApi.as_view(),
        name="api-annotation",
    ),
    path(
        "annotations/<int:annotation_id>/revise/",
        api_authoring.AnnotationReviseApi.as_view(),
        name="api-annotation-revise",
    ),
    path("imports/<int:import_id>/", annotation_api.ImportDetailApi.as_view(), name="api-import"),
    path(
        "imports/<int:import_id>/cancel/",
        annotation_api.ImportCancelApi.as_view(),
        name="api-import-cancel",
    ),
    path(
        "assignments/<int:assignment_id>/submit/",
        annotation_api.SubmitApi.as_view(),
        name="api-submit",
    ),
    path(
        "assignments/<int:assignment_id>/skip/", annotation_api.SkipApi.as_view(), name="api-skip"
    ),
    path(
        "assignments/<int:assignment_id>/heartbeat/",
        annotation_api.HeartbeatApi.as_view(),
        name="api-heartbeat",
    ),
    path("projects/<slug:slug>/quality/", api_quality.DashboardApi.as_view(), name="api-quality"),
    path(
        "projects/<slug:slug>/quality/annotators/",
        api_quality.AnnotatorTableApi.as_view(),
        name="api-quality-annotators",
    ),
    path(
        "projects/<slug:slug>/quality/me/",
        api_quality.OwnQualityApi.as_view(),
        name="api-quality-me",
    ),
    path(
        "projects/<slug:slug>/quality/pairs/",
        api_quality.PairsApi.as_view(),
        name="api-quality-pairs",
    ),
    path(
        "projects/<slug:slug>/items/<int:item_id>/consensus/",
        api_quality.ItemConsensusApi.as_view(),
        name="api-item-consensus",
    ),
    path(
        "projects/<slug:slug>/items/<int:item_id>/gold/",
        api_quality.GoldApi.as_view(),
        name="api-item-gold",
    ),
    path(
        "projects/<slug:slug>/review-queue/",
        api_quality.ReviewQueueApi.as_view(),
        name="api-review-queue",
    ),
    path(
        "projects/<slug:slug>/review/items/<int:item_id>/",
        api_quality.ReviewItemApi.as_view(),
        name="api-review-item",
    ),
    path(
        "annotations/<int:annotation_id>/review/",
        api_quality.ReviewActApi.as_view(),
        name="api-review",
    ),
    path(
        "projects/<slug:slug>/annotators/<str:username>/resume/",
        api_quality.ResumeApi.as_view(),
        name="api-annotator-resume",
    ),
    path(
        "projects/<slug:slug>/guidelines/flag/",
        api_quality.GuidelineFlagApi.as_view(),
        name="api-guidelines-flag",
    ),
    path(
        "projects/<slug:slug>/generators/",
        api_loop.GeneratorListApi.as_view(),
        name="api-generators",
    ),
    path(
        "projects/<slug:slug>/generators/<int:generator_id>/",
        api_loop.GeneratorDetailApi.as_view(),
        name="api-generator",
    ),
    path("projects/<slug:slug>/rounds/", api_loop.RoundListApi.as_view(), name="api-rounds"),
    path(
        "generation-jobs/<int:job_id>/",
        api_loop.GenerationJobApi.as_view(),
        name="api-generation-job",
    ),
    path(
        "generation-jobs/<int:job_id>/cancel/",
        api_loop.GenerationJobCancelApi.as_view(),
        name="api-generation-job-cancel",
    ),
]
