"""REST endpoints for training runs and the model registry.

Engineers launch, cancel and re-launch runs; managers and engineers read them.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.bodies import valid_data
from common.api.schema import JOB_QUEUE_DOWN
from common.numbers import QUERY_INT_SCHEMA, query_int
from projects.permissions import Capability
from projects.selectors import project_get_for_user
from training.runs.selectors import (
    artifact_for_launch,
    artifact_get_for_user,
    models_for_project,
    run_get_for_user,
    run_metrics,
    runs_for_project,
    snapshot_for_launch,
)
from training.runs.serializers import (
    ArtifactSerializer,
    RunCreateSerializer,
    RunMetricSerializer,
    RunSerializer,
    RunSummarySerializer,
    ScoreResultSerializer,
    ScoreSerializer,
)
from training.runs.services.runs import run_cancel, run_create, run_relaunch
from training.runs.services.scoring import responses_score


class RunListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("project", str, required=True)],
        responses=RunSummarySerializer(many=True),
    )
    def get(self, request):
        """A project's runs, newest first (``GET training-runs/{id}/`` has metrics and log)."""
        slug = request.query_params.get("project", "")
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.EXPORT)
        return Response(RunSummarySerializer(runs_for_project(project), many=True).data)

    @extend_schema(
        request=RunCreateSerializer,
        responses={
            202: RunSerializer,
            200: RunSerializer,
            404: OpenApiResponse(description="No such project visible to you."),
            503: JOB_QUEUE_DOWN,
        },
    )
    def post(self, request):
        """Queue a run on the ``gpu`` queue; a repeated ``client_token`` returns the
        earlier run (200) instead of training twice."""
        data = valid_data(RunCreateSerializer, request)
        project = project_get_for_user(
            slug=data["project"], user=request.user, capability=Capability.ENGINEER
        )
        snapshot = snapshot_for_launch(project=project, snapshot_id=data["snapshot"])
        models = {
            name: artifact_for_launch(project=project, field=name, artifact_id=data.get(name))
            for name in ("reward_model", "policy", "reference_policy")
        }
        run, created = run_create(
            project=project,
            user=request.user,
            kind=data["kind"],
            snapshot=snapshot,
            reward_model=models["reward_model"],
            policy=models["policy"],
            reference=data.get("reference", ""),
            reference_policy=models["reference_policy"],
            hyperparameters=data.get("hyperparameters") or {},
            base_model=data.get("base_model", ""),
            name=data.get("name", ""),
            client_token=data.get("client_token"),
        )
        code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        return Response(RunSerializer(run).data, status=code)


class RunDetailApi(APIView):
    @extend_schema(responses=RunSerializer)
    def get(self, request, run_id):
        """State, progress with ETA, the newest metrics, log tail and the artifact."""
        return Response(RunSerializer(run_get_for_user(run_id=run_id, user=request.user)).data)


class RunCancelApi(APIView):
    @extend_schema(request=None, responses=RunSerializer)
    def post(self, request, run_id):
        """Stop the run: its trainer's process group is killed."""
        run = run_get_for_user(run_id=run_id, user=request.user, capability=Capability.ENGINEER)
        return Response(RunSerializer(run_cancel(run=run)).data)


class RunRelaunchApi(APIView):
    @extend_schema(request=None, responses={202: RunSerializer, 503: JOB_QUEUE_DOWN})
    def post(self, request, run_id):
        """Queue a failed or cancelled run again; it resumes from its last checkpoint."""
        run = run_get_for_user(run_id=run_id, user=request.user, capability=Capability.ENGINEER)
        return Response(RunSerializer(run_relaunch(run=run)).data, status=status.HTTP_202_ACCEPTED)


class RunMetricsApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("after", QUERY_INT_SCHEMA, description="only rows with a larger id")
        ],
        responses=RunMetricSerializer(many=True),
    )
    def get(self, request, run_id):
        """The run's metrics lines in order (poll with ``after`` for new ones)."""
        run = run_get_for_user(run_id=run_id, user=request.user)
        rows = run_metrics(run, after=query_int(request, "after"))
        return Response(RunMetricSerializer(rows, many=True).data)


class ModelListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("project", str, required=True)],
        responses=ArtifactSerializer(many=True),
    )
    def get(self, request):
        """The project's registered models, newest first."""
        slug = request.query_params.get("project", "")
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.EXPORT)
        return Response(ArtifactSerializer(models_for_project(project), many=True).data)


class ModelScoreApi(APIView):
    @extend_schema(
        request=ScoreSerializer,
        responses={
            200: ScoreResultSerializer,
            503: OpenApiResponse(description="The model's files are not on this machine."),
        },
    )
    def post(self, request, model_id):
        """Rewards of the responses to the prompt, one per response, in order."""
        artifact = artifact_get_for_user(model_id=model_id, user=request.user)
        body = valid_data(ScoreSerializer, request)
        rewards = responses_score(
            artifact=artifact, prompt=body["prompt"], responses=body["responses"]
        )
        return Response({"model": artifact.pk, "rewards": rewards})
