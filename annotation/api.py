"""REST endpoints for claiming, submitting, skipping and importing. Thin by design."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import ImportJob
from annotation.selectors import assignment_view
from annotation.serializers import (
    AnnotationOutSerializer,
    AssignmentOutSerializer,
    ImportInputSerializer,
    ImportJobSerializer,
    SkipInputSerializer,
    SubmitInputSerializer,
)
from annotation.services.claiming import assignment_claim, assignment_heartbeat, assignment_skip
from annotation.services.imports import import_job_cancel, import_job_create
from annotation.services.submission import annotation_submit
from config.api_schema import JOB_QUEUE_DOWN
from config.errors import NotFoundError
from projects.permissions import Capability, has_capability
from projects.selectors import project_get_for_user


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ClaimApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: AssignmentOutSerializer,
            204: OpenApiResponse(description="nothing left for you"),
        },
    )
    def post(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.ANNOTATE)
        assignment = assignment_claim(user=request.user, project=project)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(AssignmentOutSerializer(assignment_view(assignment)).data)


class SubmitApi(APIView):
    @extend_schema(
        request=SubmitInputSerializer,
        responses={201: AnnotationOutSerializer, 200: AnnotationOutSerializer},
    )
    def post(self, request, assignment_id):
        data = _valid(SubmitInputSerializer, request)
        token = data.pop("client_token", None)
        annotation, created = annotation_submit(
            assignment_id=assignment_id, user=request.user, payload=data, client_token=token
        )
        return Response(
            AnnotationOutSerializer(annotation).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SkipApi(APIView):
    @extend_schema(
        request=SkipInputSerializer,
        responses=inline_serializer(
            "Skipped", {"id": serializers.IntegerField(), "state": serializers.CharField()}
        ),
    )
    def post(self, request, assignment_id):
        data = _valid(SkipInputSerializer, request)
        assignment = assignment_skip(assignment_id=assignment_id, user=request.user, **data)
        return Response({"id": assignment.pk, "state": assignment.state})


class HeartbeatApi(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer(
            "LeaseRenewed",
            {"id": serializers.IntegerField(), "lease_expires_at": serializers.DateTimeField()},
        ),
    )
    def post(self, request, assignment_id):
        assignment = assignment_heartbeat(assignment_id=assignment_id, user=request.user)
        return Response({"id": assignment.pk, "lease_expires_at": assignment.lease_expires_at})


class ImportCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request=ImportInputSerializer, responses={202: ImportJobSerializer, 503: JOB_QUEUE_DOWN}
    )
    def post(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        data = _valid(ImportInputSerializer, request)
        job = import_job_create(
            project=project,
            user=request.user,
            upload=data["file"],
            batch_name=data.get("batch", ""),
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def _import_for_manager(request, import_id) -> ImportJob:
    job = ImportJob.objects.select_related("project").filter(pk=import_id).first()
    if job is None or not has_capability(request.user, job.project, Capability.VIEW):
        raise NotFoundError(f"no import {import_id}")
    project_get_for_user(slug=job.project.slug, user=request.user, capability=Capability.MANAGE)
    return job


class ImportDetailApi(APIView):
    @extend_schema(responses=ImportJobSerializer)
    def get(self, request, import_id):
        return Response(ImportJobSerializer(_import_for_manager(request, import_id)).data)


class ImportCancelApi(APIView):
    @extend_schema(request=None, responses={202: ImportJobSerializer})
    def post(self, request, import_id):
        job = _import_for_manager(request, import_id)
        import_job_cancel(job=job)
        job.refresh_from_db()
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
