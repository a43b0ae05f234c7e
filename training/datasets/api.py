"""REST endpoints for dataset snapshots (managers and engineers of the project)."""

from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.bodies import valid_data
from common.api.schema import JOB_QUEUE_DOWN
from projects.permissions import Capability
from projects.selectors import project_get_for_user
from training.datasets.selectors import snapshot_for_user, snapshots_of
from training.datasets.serializers import SnapshotCreateSerializer, SnapshotSerializer
from training.datasets.services.snapshots import (
    snapshot_cancel,
    snapshot_create,
    snapshot_file_open,
)

OPTION_FIELDS = set(SnapshotCreateSerializer().fields) - {"name", "client_token"}


class SnapshotListApi(APIView):
    @extend_schema(responses=SnapshotSerializer(many=True))
    def get(self, request, slug):
        """The project's snapshots, newest first."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.EXPORT)
        data = SnapshotSerializer(snapshots_of(project), many=True, context={"request": request})
        return Response(data.data)

    @extend_schema(
        request=SnapshotCreateSerializer,
        responses={202: SnapshotSerializer, 200: SnapshotSerializer, 503: JOB_QUEUE_DOWN},
    )
    def post(self, request, slug):
        """Queue an export; a repeated ``client_token`` returns the earlier snapshot (200)."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.EXPORT)
        body = valid_data(SnapshotCreateSerializer, request)
        options = {k: v for k, v in request.data.items() if k in OPTION_FIELDS}
        snapshot, created = snapshot_create(
            project=project,
            user=request.user,
            options=options,
            name=body.get("name", ""),
            client_token=body.get("client_token"),
        )
        out = SnapshotSerializer(snapshot, context={"request": request}).data
        return Response(out, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class SnapshotDetailApi(APIView):
    @extend_schema(responses=SnapshotSerializer)
    def get(self, request, snapshot_id):
        """Status, progress, manifest and (once finished) the files with download URLs."""
        snapshot = snapshot_for_user(snapshot_id=snapshot_id, user=request.user)
        return Response(SnapshotSerializer(snapshot, context={"request": request}).data)


class SnapshotCancelApi(APIView):
    @extend_schema(request=None, responses=SnapshotSerializer)
    def post(self, request, snapshot_id):
        """Stop a queued or running export; nothing of it is published."""
        snapshot = snapshot_cancel(
            snapshot=snapshot_for_user(snapshot_id=snapshot_id, user=request.user)
        )
        return Response(SnapshotSerializer(snapshot, context={"request": request}).data)


class SnapshotFileApi(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, snapshot_id, name):
        """Download one file of a finished snapshot."""
        snapshot = snapshot_for_user(snapshot_id=snapshot_id, user=request.user)
        stream = snapshot_file_open(snapshot, name)
        filename = f"{snapshot.project.slug}-{snapshot.number}-{name.replace('/', '-')}"
        return FileResponse(stream, as_attachment=True, filename=filename)
