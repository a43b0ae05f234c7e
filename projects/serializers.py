from rest_framework import serializers

from projects.models import (
    AcquisitionRule,
    AssistMode,
    Guideline,
    Membership,
    Project,
    RankingMode,
    RationaleMode,
    ResponseSource,
    Role,
)
from projects.permissions import role_of


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id", "name", "slug", "description", "ranking_mode", "responses_per_item",
            "ties_allowed", "pairwise_strength", "rating_scale", "overlap", "lease_minutes",
            "rationale", "archived", "created_at", "role", "require_response_tags",
            "prompt_writing", "prompt_categories", "prompt_target", "response_source",
            "gold_rate", "gold_threshold", "gold_min_answers", "gold_pause", "review_rate",
            "reward_model", "assist_mode", "acquisition_rule", "acquisition_mix",
            "disagreement_threshold", "disagreement_cap",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "role"]

    def get_role(self, project) -> str | None:

        request = self.context.get("request")
        return role_of(request.user, project) if request else None


class ProjectCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=80, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    ranking_mode = serializers.ChoiceField(choices=RankingMode.choices, required=False)
    responses_per_item = serializers.IntegerField(min_value=2, max_value=9, required=False)
    ties_allowed = serializers.BooleanField(required=False)
    pairwise_strength = serializers.BooleanField(required=False)
    rating_scale = serializers.IntegerField(min_value=2, max_value=10, required=False)
    overlap = serializers.IntegerField(min_value=1, max_value=10, required=False)
    lease_minutes = serializers.IntegerField(min_value=1, max_value=1440, required=False)
    rationale = serializers.ChoiceField(choices=RationaleMode.choices, required=False)
    require_response_tags = serializers.BooleanField(required=False)
    prompt_writing = serializers.BooleanField(required=False)
    prompt_categories = serializers.ListField(
        child=serializers.CharField(max_length=60, allow_blank=True), required=False, max_length=50
    )
    prompt_target = serializers.IntegerField(min_value=0, max_value=10000, required=False)
    response_source = serializers.ChoiceField(choices=ResponseSource.choices, required=False)
    gold_rate = serializers.FloatField(min_value=0, max_value=0.5, required=False)
    gold_threshold = serializers.FloatField(min_value=0, max_value=1, required=False)
    gold_min_answers = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    gold_pause = serializers.BooleanField(required=False)
    review_rate = serializers.FloatField(min_value=0, max_value=1, required=False)
    reward_model = serializers.IntegerField(
        required=False, allow_null=True,
        help_text="id of a reward model of this project that pre-ranks new items; null: none",
    )  # fmt: skip
    assist_mode = serializers.ChoiceField(choices=AssistMode.choices, required=False)
    acquisition_rule = serializers.ChoiceField(choices=AcquisitionRule.choices, required=False)
    acquisition_mix = serializers.DictField(
        child=serializers.FloatField(min_value=0), required=False,
        help_text='mix rule weights, e.g. {"uncertainty": 0.5, "disagreement": 0.25, '
        '"random": 0.25}',
    )  # fmt: skip
    disagreement_threshold = serializers.FloatField(min_value=0, max_value=1, required=False)
    disagreement_cap = serializers.IntegerField(min_value=1, max_value=10, required=False)


class ProjectUpdateSerializer(ProjectCreateSerializer):
    name = serializers.CharField(max_length=200, required=False)
    archived = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if "slug" in self.initial_data:
            raise serializers.ValidationError({"slug": "a project's slug cannot change"})
        return attrs


class MembershipInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at"]


class GuidelineInputSerializer(serializers.Serializer):
    body = serializers.CharField(trim_whitespace=False)
    summary = serializers.CharField(max_length=200, required=False, allow_blank=True)


class GuidelineSerializer(serializers.ModelSerializer):
    published_by = serializers.CharField(
        source="published_by.username", default=None, allow_null=True
    )

    class Meta:
        model = Guideline
        fields = ["version", "body", "summary", "published_by", "published_at"]


class GuidelineAckInputSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, required=False)


class GuidelineAckSerializer(serializers.Serializer):
    """Which version the user acknowledged, and when."""

    version = serializers.IntegerField(source="guideline.version")
    acknowledged_at = serializers.DateTimeField()


class TagLabelSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=80)
    kind = serializers.ChoiceField(choices=["span", "response"], default="span")
    colour = serializers.CharField(max_length=7, default="#f5c542")
    hotkey = serializers.CharField(max_length=1, allow_blank=True, default="")
    description = serializers.CharField(max_length=500, allow_blank=True, default="")


class RatingDimensionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=80)
    scale = serializers.IntegerField(min_value=2, max_value=10, default=5)
    hotkey = serializers.CharField(max_length=1, allow_blank=True, default="")
    description = serializers.CharField(max_length=500, allow_blank=True, default="")
