"""REST endpoints for writing prompts and responses and for an annotator's own history."""

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.authoring.selectors import (
    annotation_detail_for_user,
    annotations_of_user,
    prompts_of_user,
    write_assignment_check_for_user,
)
from annotation.authoring.serializers import (
    AnnotationDetailSerializer,
    DuplicateCheckInputSerializer,
    DuplicateMatchSerializer,
    HistoryEntrySerializer,
    PromptOutSerializer,
    PromptWriteInputSerializer,
    ReviseInputSerializer,
    WriteAssignmentOutSerializer,
    WriteSubmitInputSerializer,
    WrittenResponseOutSerializer,
)
from annotation.authoring.services.prompts import (
    messages_clean,
    prompt_duplicates_find,
    prompt_write,
)
from annotation.authoring.services.response_queue import write_claim, write_skip, write_submit
from annotation.authoring.services.revisions import annotation_revise
from annotation.serializers import SkipInputSerializer
from common.api.bodies import valid_data
from common.numbers import QUERY_INT_SCHEMA, query_int
from projects.permissions import Capability
from projects.selectors import project_get_for_user

PAGE_SIZE = 50


PAGE_PARAMETERS = [
    OpenApiParameter("offset", QUERY_INT_SCHEMA),
    OpenApiParameter("limit", QUERY_INT_SCHEMA, description="at most 200 are returned"),
]


def _page(request) -> tuple[int, int]:
    def number(name: str, default: int, top: int) -> int:
        number = query_int(request, name)
        return default if number is None else min(number, top)

    return number("offset", 0, 10**9), number("limit", PAGE_SIZE, 200)


class PromptListApi(APIView):
    @extend_schema(parameters=PAGE_PARAMETERS, responses=PromptOutSerializer(many=True))
    def get(self, request, slug):
        """The prompts you wrote in the project, newest first."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.ANNOTATE)
        offset, limit = _page(request)
        prompts = prompts_of_user(user=request.user, project=project)[offset : offset + limit]
        return Response(PromptOutSerializer(prompts, many=True).data)

    @extend_schema(
        request=PromptWriteInputSerializer,
        responses={
            201: PromptOutSerializer,
            200: PromptOutSerializer,
            409: OpenApiResponse(description="an exact or near repeat; see extra.duplicates"),
        },
    )
    def post(self, request, slug):
        """Write a prompt (with your responses and their order in writer projects)."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.ANNOTATE)
        written = prompt_write(project=project, user=request.user, **valid_data(
            PromptWriteInputSerializer, request
        ))  # fmt: skip
        return Response(
            PromptOutSerializer(written.prompt).data,
            status=status.HTTP_201_CREATED if written.created else status.HTTP_200_OK,
        )


class DuplicateCheckApi(APIView):
    @extend_schema(
        request=DuplicateCheckInputSerializer, responses=DuplicateMatchSerializer(many=True)
    )
    def post(self, request, slug):
        """Prompts of the project that repeat this conversation, before you save it."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.ANNOTATE)
        messages = messages_clean(valid_data(DuplicateCheckInputSerializer, request)["messages"])
        matches = prompt_duplicates_find(project=project, messages=messages)
        return Response(DuplicateMatchSerializer(matches, many=True).data)


class WriteClaimApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: WriteAssignmentOutSerializer,
            204: OpenApiResponse(description="no prompt waits for your response"),
        },
    )
    def post(self, request, slug):
        """Lease a prompt that needs a response from you."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.ANNOTATE)
        assignment = write_claim(user=request.user, project=project)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(WriteAssignmentOutSerializer(assignment).data)


class WriteSubmitApi(APIView):
    @extend_schema(
        request=WriteSubmitInputSerializer,
        responses={201: WrittenResponseOutSerializer, 200: WrittenResponseOutSerializer},
    )
    def post(self, request, assignment_id):
        """Submit your response to the leased prompt (a retried token returns the first)."""
        write_assignment_check_for_user(user=request.user, assignment_id=assignment_id)
        response, created = write_submit(
            assignment_id=assignment_id, user=request.user, **valid_data(
                WriteSubmitInputSerializer, request
            )
        )  # fmt: skip
        return Response(
            WrittenResponseOutSerializer(response).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class WriteSkipApi(APIView):
    @extend_schema(
        request=SkipInputSerializer,
        responses=inline_serializer(
            "WriteSkipped", {"id": serializers.IntegerField(), "state": serializers.CharField()}
        ),
    )
    def post(self, request, assignment_id):
        """Give the prompt back; it never returns to you."""
        write_assignment_check_for_user(user=request.user, assignment_id=assignment_id)
        data = valid_data(SkipInputSerializer, request)
        assignment = write_skip(assignment_id=assignment_id, user=request.user, **data)
        return Response({"id": assignment.pk, "state": assignment.state})


class MyAnnotationsApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="text in the prompt or your rationale"),
            *PAGE_PARAMETERS,
        ],
        responses=HistoryEntrySerializer(many=True),
    )
    def get(self, request, slug):
        """Your annotations in the project, newest first."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.ANNOTATE)
        offset, limit = _page(request)
        annotations = annotations_of_user(
            user=request.user, project=project, query=request.query_params.get("q", "")
        )[offset : offset + limit]
        return Response(HistoryEntrySerializer(annotations, many=True).data)


def _own_detail(request, annotation_id: int):
    detail = annotation_detail_for_user(user=request.user, annotation_id=annotation_id)
    # Membership is checked too: leaving a project ends access to its annotations.
    project_get_for_user(
        slug=detail.annotation.project.slug, user=request.user, capability=Capability.ANNOTATE
    )
    return detail


class AnnotationDetailApi(APIView):
    @extend_schema(responses=AnnotationDetailSerializer)
    def get(self, request, annotation_id):
        """One of your annotations with its earlier revisions and rewrites."""
        detail = _own_detail(request, annotation_id)
        return Response(AnnotationDetailSerializer(detail.annotation).data)


class AnnotationReviseApi(APIView):
    @extend_schema(
        request=ReviseInputSerializer,
        responses={200: AnnotationDetailSerializer, 409: OpenApiResponse()},
    )
    def post(self, request, annotation_id):
        """Replace your annotation with a new revision (the old one is kept)."""
        _own_detail(request, annotation_id)
        data = valid_data(ReviseInputSerializer, request)
        base = data.pop("base_revision", None)
        annotation = annotation_revise(
            annotation_id=annotation_id, user=request.user, payload=data, base_revision=base
        )
        detail = annotation_detail_for_user(user=request.user, annotation_id=annotation.pk)
        return Response(AnnotationDetailSerializer(detail.annotation).data)
