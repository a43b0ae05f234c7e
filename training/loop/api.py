"""REST endpoints of the model in the loop: generators, rounds, generation jobs. Thin.

Engineers point generation at models (generators); managers and engineers start rounds
and follow their generation.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.bodies import valid_data
from common.api.schema import JOB_QUEUE_DOWN
from projects.permissions import Capability
from projects.selectors import project_get_for_user
from training.loop.selectors import (
    generation_job_get_for_user,
    generator_get,
    generators_for_project,
    round_stats,
)
from training.loop.serializers import (
    GenerationJobSerializer,
    GeneratorInputSerializer,
    GeneratorSerializer,
    GeneratorUpdateSerializer,
    RoundSerializer,
    RoundStartSerializer,
)
from training.loop.services.generation_run import generation_job_cancel
from training.loop.services.generators import generator_save
from training.loop.services.rounds import round_start


class GeneratorListApi(APIView):
    @extend_schema(responses=GeneratorSerializer(many=True))
    def get(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.EXPORT)
        return Response(GeneratorSerializer(generators_for_project(project), many=True).data)

    @extend_schema(request=GeneratorInputSerializer, responses={201: GeneratorSerializer})
    def post(self, request, slug):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.ENGINEER)
        generator = generator_save(project=project, **valid_data(GeneratorInputSerializer, request))
        return Response(GeneratorSerializer(generator).data, status=status.HTTP_201_CREATED)


class GeneratorDetailApi(APIView):
    @extend_schema(request=GeneratorUpdateSerializer, responses=GeneratorSerializer)
    def patch(self, request, slug, generator_id):
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.ENGINEER)
        generator = generator_get(project=project, generator_id=generator_id)
        data = valid_data(GeneratorUpdateSerializer, request, partial=True)
        generator = generator_save(project=project, generator=generator, **data)
        return Response(GeneratorSerializer(generator).data)


class RoundListApi(APIView):
    @extend_schema(responses=RoundSerializer(many=True))
    def get(self, request, slug):
        """Every round, newest first, with its figures and its generation job."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.EXPORT)
        return Response(RoundSerializer(round_stats(project), many=True).data)

    @extend_schema(
        request=RoundStartSerializer,
        responses={202: RoundSerializer, 200: RoundSerializer, 503: JOB_QUEUE_DOWN},
    )
    def post(self, request, slug):
        """Start the next round: pick prompts and generators and queue the generation; a
        repeated ``client_token`` returns the round it started (200)."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.EXPORT)
        data = valid_data(RoundStartSerializer, request)
        round, created = round_start(
            project=project, user=request.user, prompt_source=data["prompt_source"],
            prompts=data["prompts"], generator_ids=data.get("generators"),
            client_token=data.get("client_token"),
        )  # fmt: skip
        entry = next(r for r in round_stats(project) if r.number == round.number)
        return Response(
            RoundSerializer(entry).data,
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
        )


class GenerationJobApi(APIView):
    @extend_schema(responses=GenerationJobSerializer)
    def get(self, request, job_id):
        job = generation_job_get_for_user(job_id=job_id, user=request.user)
        return Response(GenerationJobSerializer(job).data)


class GenerationJobCancelApi(APIView):
    @extend_schema(request=None, responses=GenerationJobSerializer)
    def post(self, request, job_id):
        job = generation_job_get_for_user(job_id=job_id, user=request.user)
        job = generation_job_cancel(job=job)
        return Response(GenerationJobSerializer(job).data)
