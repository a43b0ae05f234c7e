"""REST endpoints for quality control: figures, consensus, review and gold.

Managers and engineers read every annotator's figures; an annotator reads only their own
(``quality/me/``). Reviewers read the review queue and act on annotations.
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.quality.selectors.dashboard import SORT_KEYS, annotator_table, dashboard
from annotation.quality.selectors.figures import annotator_pairs, item_stats_of
from annotation.quality.selectors.own import own_quality
from annotation.quality.selectors.review import annotation_project_slug, review_item, review_queue
from annotation.quality.serializers import (
    AnnotatorRowSerializer,
    DashboardSerializer,
    GoldInputSerializer,
    GuidelineFlagInputSerializer,
    ItemConsensusSerializer,
    OwnQualitySerializer,
    PairSerializer,
    QueueEntrySerializer,
    ReviewInputSerializer,
    ReviewItemSerializer,
    ReviewOutSerializer,
)
from annotation.quality.services import gold, guideline_flags, review
from annotation.quality.services.stale_items import stale_item_refresh_now
from common.api.bodies import valid_data
from common.errors import ApplicationError, NotFoundError
from projects.models import Project
from projects.permissions import Capability
from projects.selectors import member_user_id, project_get_for_user


class DashboardApi(APIView):
    @extend_schema(responses=DashboardSerializer)
    def get(self, request, slug):
        """The project's agreement, the series the dashboard draws, and open alerts."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.QUALITY)
        board = dashboard(project)
        data = {
            "agreement": board.agreement,
            "summary": board.summary
            or {"median_time_ms": None, "series": {}, "refreshed_at": None},
            "alerts": board.alerts,
        }
        return Response(DashboardSerializer(data).data)


class AnnotatorTableApi(APIView):
    @extend_schema(responses=AnnotatorRowSerializer(many=True))
    def get(self, request, slug):
        """Every annotator's figures; ``?sort=<figure>&dir=desc`` orders them."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.QUALITY)
        sort = request.query_params.get("sort", "weight")
        if sort not in SORT_KEYS:
            raise ApplicationError(f"sort: one of {', '.join(SORT_KEYS)}", extra={"field": "sort"})
        rows = annotator_table(
            project, sort=sort, descending=request.query_params.get("dir") == "desc"
        )
        return Response(AnnotatorRowSerializer(rows, many=True).data)


class OwnQualityApi(APIView):
    @extend_schema(responses=OwnQualitySerializer)
    def get(self, request, slug):
        """Your own figures in the project and the reviews of your annotations.

        Gold figures are left out: watching them move would reveal which items are gold.
        """
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.ANNOTATE)
        own = own_quality(project=project, user=request.user)
        data = {"figures": own.figures, "reviews": own.reviews}
        return Response(OwnQualitySerializer(data).data)


class PairsApi(APIView):
    @extend_schema(responses=PairSerializer(many=True))
    def get(self, request, slug):
        """Agreement between annotator pairs (pairwise, tau-b, ordinal alpha)."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.QUALITY)
        return Response(PairSerializer(annotator_pairs(project), many=True).data)


def _project_for_review_or_quality(slug: str, user) -> Project:
    """Consensus reveals what annotators said: reviewers, managers and engineers only."""
    try:
        return project_get_for_user(slug=slug, user=user, capability=Capability.REVIEW)
    except ApplicationError as exc:
        if exc.status_code != 403:
            raise
        return project_get_for_user(slug=slug, user=user, capability=Capability.QUALITY)


class ItemConsensusApi(APIView):
    @extend_schema(responses=ItemConsensusSerializer)
    def get(self, request, slug, item_id):
        """An item's agreement, consensus ranking and per-pair confidence."""
        project = _project_for_review_or_quality(slug, request.user)
        stale_item_refresh_now(item_id=item_id)  # a submit a moment ago counts already
        stats = item_stats_of(item_id)
        if stats is None or stats.project_id != project.pk:
            raise NotFoundError(f"no figures for item {item_id} in this project")
        return Response(ItemConsensusSerializer(stats).data)


class ReviewQueueApi(APIView):
    @extend_schema(responses=QueueEntrySerializer(many=True))
    def get(self, request, slug):
        """Items waiting for your review, lowest agreement first."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.REVIEW)
        return Response(
            QueueEntrySerializer(
                review_queue(project=project, reviewer=request.user), many=True
            ).data
        )


class ReviewItemApi(APIView):
    @extend_schema(responses=ReviewItemSerializer)
    def get(self, request, slug, item_id):
        """An item with all its annotations side by side, for review."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.REVIEW)
        view = review_item(project=project, item_id=item_id, reviewer=request.user)
        if view is None:
            raise NotFoundError(f"no item {item_id} in this project")
        return Response(ReviewItemSerializer(view).data)


class ReviewActApi(APIView):
    @extend_schema(request=ReviewInputSerializer, responses={201: ReviewOutSerializer})
    def post(self, request, annotation_id):
        """Accept, reject (with a comment) or correct (with a ranking) an annotation."""
        slug = annotation_project_slug(annotation_id)
        if slug is None:
            raise NotFoundError(f"no annotation {annotation_id}")
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.REVIEW)
        data = valid_data(ReviewInputSerializer, request)
        verdict = review.annotation_review(
            project=project,
            annotation_id=annotation_id,
            reviewer=request.user,
            verdict=data["verdict"],
            comment=data.get("comment", ""),
            ranking=data.get("ranking"),
        )
        return Response(ReviewOutSerializer(verdict).data, status=status.HTTP_201_CREATED)


class GoldApi(APIView):
    @extend_schema(
        request=GoldInputSerializer,
        responses=inline_serializer(
            "GoldMarked",
            {
                "item_id": serializers.IntegerField(),
                "gold": serializers.BooleanField(),
                "ranking": serializers.ListField(
                    child=serializers.ListField(child=serializers.IntegerField())
                ),
            },
        ),
    )
    def put(self, request, slug, item_id):
        """Make the item gold with a known ranking."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        item = gold.item_gold_mark(
            project=project,
            item_id=item_id,
            ranking=valid_data(GoldInputSerializer, request)["ranking"],
        )
        return Response({"item_id": item.pk, "gold": True, "ranking": item.gold_ranking})

    @extend_schema(
        responses={
            200: inline_serializer(
                "GoldUnmarked",
                {"item_id": serializers.IntegerField(), "gold": serializers.BooleanField()},
            )
        }
    )
    def delete(self, request, slug, item_id):
        """Return a gold item to the ordinary pool."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        item = gold.item_gold_unmark(project=project, item_id=item_id)
        return Response({"item_id": item.pk, "gold": False})


class ResumeApi(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer(
            "AnnotatorResumed",
            {"username": serializers.CharField(), "alerts_closed": serializers.IntegerField()},
        ),
    )
    def post(self, request, slug, username):
        """Let a paused annotator claim again and close their open alerts."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        user_id = member_user_id(project=project, username=username)
        if user_id is None:
            raise NotFoundError(f"no member '{username}' in this project")
        closed = gold.annotator_resume(project=project, user_id=user_id, by=request.user)
        return Response({"username": username, "alerts_closed": closed})


class GuidelineFlagApi(APIView):
    @extend_schema(
        request=GuidelineFlagInputSerializer,
        responses=inline_serializer(
            "SupersededFlagged",
            {"flagged": serializers.IntegerField(), "items_reopened": serializers.IntegerField()},
        ),
    )
    def post(self, request, slug):
        """Send annotations made under superseded guideline versions to review or re-annotation."""
        project = project_get_for_user(slug=slug, user=request.user, capability=Capability.MANAGE)
        data = valid_data(GuidelineFlagInputSerializer, request)
        count, items = guideline_flags.guideline_flag_superseded(
            project=project, action=data["action"], label_names=data.get("labels") or None
        )
        return Response({"flagged": count, "items_reopened": len(items)})
