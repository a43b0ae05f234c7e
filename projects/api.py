"""REST endpoints for projects, members and guidelines. Thin: parse, call a service, respond."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.bodies import valid_data
from common.errors import PermissionDeniedError
from projects import services
from projects.permissions import Capability, can_create_projects
from projects.selectors import (
    guideline_current,
    membership_list,
    project_get_for_user,
    project_list_for_user,
)
from projects.serializers import (
    GuidelineAckInputSerializer,
    GuidelineAckSerializer,
    GuidelineInputSerializer,
    GuidelineSerializer,
    MembershipInputSerializer,
    MembershipSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
)


class ProjectListApi(APIView):
    @extend_schema(responses=ProjectSerializer(many=True))
    def get(self, request):
        projects = project_list_for_user(request.user)  # by name (the model's ordering)
        return Response(ProjectSerializer(projects, many=True, context={"request": request}).data)

    @extend_schema(request=ProjectCreateSerializer, responses={201: ProjectSerializer})
    def post(self, request):
        if not can_create_projects(request.user):
            raise PermissionDeniedError("you may not create projects")
        data = valid_data(ProjectCreateSerializer, request)
        project = services.project_create(creator=request.user, **data)
        return Response(
            ProjectSerializer(project, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class ProjectDetailApi(APIView):
    @extend_schema(responses=ProjectSerializer)
    def get(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user)
        return Response(ProjectSerializer(project, context={"request": request}).data)

    @extend_schema(request=ProjectUpdateSerializer, responses=ProjectSerializer)
    def patch(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        data = valid_data(ProjectUpdateSerializer, request, partial=True)
        project = services.project_update(project=project, **data)
        return Response(ProjectSerializer(project, context={"request": request}).data)


class MemberApi(APIView):
    @extend_schema(responses=MembershipSerializer(many=True))
    def get(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        return Response(MembershipSerializer(membership_list(project), many=True).data)

    @extend_schema(request=MembershipInputSerializer, responses={201: MembershipSerializer})
    def post(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        data = valid_data(MembershipInputSerializer, request)
        membership = services.membership_set(project=project, **data)
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class GuidelineApi(APIView):
    @extend_schema(responses=GuidelineSerializer)
    def get(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user)
        current = guideline_current(project)
        if current is None:
            return Response({"error": "not_found", "message": "no guidelines yet"}, status=404)
        return Response(GuidelineSerializer(current).data)

    @extend_schema(request=GuidelineInputSerializer, responses={201: GuidelineSerializer})
    def post(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        data = valid_data(GuidelineInputSerializer, request)
        guideline = services.guideline_publish(project=project, author=request.user, **data)
        return Response(GuidelineSerializer(guideline).data, status=status.HTTP_201_CREATED)


class GuidelineAckApi(APIView):
    @extend_schema(request=GuidelineAckInputSerializer, responses={200: GuidelineAckSerializer})
    def post(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.ANNOTATE)
        data = valid_data(GuidelineAckInputSerializer, request)
        ack = services.guideline_acknowledge(project=project, user=request.user, **data)
        return Response(GuidelineAckSerializer(ack).data)
