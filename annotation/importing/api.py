"""REST endpoints for imports: upload a file, follow it, cancel it. Thin."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.importing.selectors import import_job_get_for_manager
from annotation.importing.serializers import ImportInputSerializer, ImportJobSerializer
from annotation.importing.services import import_job_cancel, import_job_create
from common.api.bodies import valid_data
from common.api.schema import JOB_QUEUE_DOWN
from projects.permissions import Capability
from projects.selectors import project_get_for_user


class ImportCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request=ImportInputSerializer, responses={202: ImportJobSerializer, 503: JOB_QUEUE_DOWN}
    )
    def post(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        data = valid_data(ImportInputSerializer, request)
        job = import_job_create(
            project=project,
            user=request.user,
            upload=data["file"],
            batch_name=data.get("batch", ""),
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ImportDetailApi(APIView):
    @extend_schema(responses=ImportJobSerializer)
    def get(self, request, import_id):
        job = import_job_get_for_manager(import_id=import_id, user=request.user)
        return Response(ImportJobSerializer(job).data)


class ImportCancelApi(APIView):
    @extend_schema(request=None, responses={202: ImportJobSerializer})
    def post(self, request, import_id):
        job = import_job_get_for_manager(import_id=import_id, user=request.user)
        import_job_cancel(job=job)
        job.refresh_from_db()
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
