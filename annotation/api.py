"""REST endpoints for claiming, submitting, skipping and importing. Thin by design."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.serializers import (
    AssignmentOutSerializer,
    SkipInputSerializer,
    SubmitInputSerializer,
    SubmitOutSerializer,
    annotation_out,
    assignment_out,
)
from annotation.services.claim_flow import claim_next
from annotation.services.claiming import assignment_heartbeat, assignment_skip
from annotation.services.submission import annotation_submit
from common.api.bodies import valid_data, valid_flat_data
from common.errors import ApplicationError


class ClaimApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: AssignmentOutSerializer,
            204: OpenApiResponse(description="nothing left for you"),
        },
    )
    def post(self, request, slug):
        claimed = claim_next(slug=slug, user=request.user)
        if claimed.view is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(assignment_out(claimed.view))


class SubmitApi(APIView):
    @extend_schema(
        request=SubmitInputSerializer,
        responses={201: SubmitOutSerializer, 200: SubmitOutSerializer},
    )
    def post(self, request, assignment_id):
        data = valid_flat_data(SubmitInputSerializer, request)
        token = data.pop("client_token", None)
        wants_next = data.pop("next", False)
        annotation, created = annotation_submit(
            assignment_id=assignment_id, user=request.user, payload=data, client_token=token
        )
        body = annotation_out(annotation)
        if wants_next:
            body.update(_next_for(request.user, annotation))
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _next_for(user, annotation) -> dict:
    """The ``next`` and ``next_refused`` fields: the claim that follows a stored submit.

    A refusal (paused meanwhile, new guidelines) is reported beside the stored annotation,
    never as the request's error: the submit itself succeeded.
    """
    try:
        claimed = claim_next(project=annotation.project, user=user)
    except ApplicationError as exc:
        return {"next": None, "next_refused": {"code": exc.code, "message": exc.message}}
    view = claimed.view
    return {"next": assignment_out(view) if view else None, "next_refused": None}


class SkipApi(APIView):
    @extend_schema(
        request=SkipInputSerializer,
        responses=inline_serializer(
            "Skipped", {"id": serializers.IntegerField(), "state": serializers.CharField()}
        ),
    )
    def post(self, request, assignment_id):
        data = valid_data(SkipInputSerializer, request)
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
