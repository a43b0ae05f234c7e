"""REST endpoints for a project's tag set and rubric. Members read; managers change."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from projects.labels import services as labels
from projects.permissions import Capability
from projects.selectors import project_get_for_user
from projects.serializers import RatingDimensionSerializer, TagLabelSerializer


def _data(serializer_class, request, *, instance=None) -> dict:
    partial = instance is not None
    serializer = serializer_class(instance, data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    if partial:  # a PATCH keeps what it does not name
        return {**serializer_class(instance).data, **serializer.validated_data}
    return serializer.validated_data


def _fields(data: dict) -> dict:
    return {key: value for key, value in data.items() if key != "id"}


class TagLabelListApi(APIView):
    @extend_schema(responses=TagLabelSerializer(many=True))
    def get(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user)
        return Response(TagLabelSerializer(project.tag_labels.all(), many=True).data)

    @extend_schema(request=TagLabelSerializer, responses={201: TagLabelSerializer})
    def post(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        label = labels.tag_label_save(project=project, **_data(TagLabelSerializer, request))
        return Response(TagLabelSerializer(label).data, status=status.HTTP_201_CREATED)


class TagLabelDetailApi(APIView):
    @extend_schema(request=TagLabelSerializer, responses=TagLabelSerializer)
    def patch(self, request, slug, label_id):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        label = labels.tag_label_get(project=project, label_id=label_id)
        data = _fields(_data(TagLabelSerializer, request, instance=label))
        label = labels.tag_label_save(project=project, label=label, **data)
        return Response(TagLabelSerializer(label).data)

    @extend_schema(responses={204: None})
    def delete(self, request, slug, label_id):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        labels.tag_label_delete(project=project, label_id=label_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RubricListApi(APIView):
    @extend_schema(responses=RatingDimensionSerializer(many=True))
    def get(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user)
        return Response(RatingDimensionSerializer(project.rating_dimensions.all(), many=True).data)

    @extend_schema(request=RatingDimensionSerializer, responses={201: RatingDimensionSerializer})
    def post(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        data = _data(RatingDimensionSerializer, request)
        dimension = labels.rating_dimension_save(project=project, **data)
        return Response(RatingDimensionSerializer(dimension).data, status=status.HTTP_201_CREATED)


class RubricDetailApi(APIView):
    @extend_schema(request=RatingDimensionSerializer, responses=RatingDimensionSerializer)
    def patch(self, request, slug, dimension_id):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        dimension = labels.rating_dimension_get(project=project, dimension_id=dimension_id)
        data = _fields(_data(RatingDimensionSerializer, request, instance=dimension))
        dimension = labels.rating_dimension_save(project=project, dimension=dimension, **data)
        return Response(RatingDimensionSerializer(dimension).data)

    @extend_schema(responses={204: None})
    def delete(self, request, slug, dimension_id):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        labels.rating_dimension_delete(project=project, dimension_id=dimension_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
