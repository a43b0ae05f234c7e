"""Shapes of the quality-control API: figures out, review verdicts and gold rankings in."""

from rest_framework import serializers


class ProjectAgreementSerializer(serializers.Serializer):
    items_multi = serializers.IntegerField()
    pairwise = serializers.FloatField(allow_null=True)
    kendall_w = serializers.FloatField(allow_null=True)
    tau_b = serializers.FloatField(allow_null=True)
    alpha = serializers.FloatField(allow_null=True, help_text="Krippendorff's ordinal alpha")


class AlertSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    kind = serializers.CharField()
    message = serializers.CharField()
    created_at = serializers.DateTimeField()


class DashboardSerializer(serializers.Serializer):
    agreement = ProjectAgreementSerializer()
    median_time_ms = serializers.IntegerField(allow_null=True, source="summary.median_time_ms")
    series = serializers.JSONField(
        source="summary.series",
        help_text=(
            "days, annotations, agreement (per day), agreement_bins, rounds, tags, wins, "
            "reward_agreement (annotators against the project's reward model: overall, blind, "
            "assisted, per day and per annotator; null without a reward model)"
        ),
    )
    refreshed_at = serializers.DateTimeField(allow_null=True, source="summary.refreshed_at")
    alerts = AlertSerializer(many=True)


class AnnotatorRowSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField()
    paused = serializers.BooleanField()
    judgements = serializers.IntegerField()
    gold_score = serializers.FloatField(allow_null=True)
    gold_items = serializers.IntegerField()
    loo_agreement = serializers.FloatField(
        allow_null=True, help_text="agreement with the leave-one-out consensus"
    )
    median_time_s = serializers.FloatField(allow_null=True)
    skip_rate = serializers.FloatField(allow_null=True)
    position_first_rate = serializers.FloatField(allow_null=True)
    position_chance_rate = serializers.FloatField(allow_null=True)
    position_z = serializers.FloatField(allow_null=True)
    length_bias = serializers.FloatField(allow_null=True)
    cycle_rate = serializers.FloatField(allow_null=True)
    weight = serializers.FloatField()
    speed_flag = serializers.BooleanField()
    trend = serializers.JSONField()


class PairSerializer(serializers.Serializer):
    user_a = serializers.CharField()
    user_b = serializers.CharField()
    items = serializers.IntegerField()
    pairwise = serializers.FloatField(allow_null=True)
    tau_b = serializers.FloatField(allow_null=True)
    alpha = serializers.FloatField(allow_null=True)


class ReviewReceivedSerializer(serializers.Serializer):
    annotation_id = serializers.IntegerField()
    item_id = serializers.IntegerField(source="annotation.item_id")
    verdict = serializers.CharField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class OwnQualitySerializer(serializers.Serializer):
    figures = AnnotatorRowSerializer(allow_null=True)
    reviews = ReviewReceivedSerializer(many=True)


class ItemConsensusSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    judgements = serializers.IntegerField()
    agreement = serializers.FloatField(allow_null=True)
    kendall_w = serializers.FloatField(allow_null=True)
    tau_b_mean = serializers.FloatField(allow_null=True)
    consensus = serializers.JSONField(help_text="tiers of response ids, best first")
    consensus_method = serializers.CharField(help_text="bradley_terry, borda or none")
    consensus_scores = serializers.JSONField()
    pair_confidence = serializers.JSONField(help_text='{"a,b": P(a is better than b)}')


class QueueEntrySerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    prompt = serializers.CharField()
    pending = serializers.IntegerField()
    unsure = serializers.BooleanField()
    agreement = serializers.FloatField(allow_null=True)


class ReviewAnnotationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="annotation.pk")
    username = serializers.CharField(source="annotation.user.username")
    kind = serializers.CharField(source="annotation.kind")
    ranking = serializers.JSONField(source="annotation.ranking")
    rationale = serializers.CharField(source="annotation.rationale")
    time_spent_ms = serializers.IntegerField(source="annotation.time_spent_ms")
    guideline_version = serializers.IntegerField(
        source="annotation.guideline.version", allow_null=True
    )
    unsure = serializers.BooleanField(source="annotation.unsure")
    status = serializers.CharField(source="annotation.status")
    review_state = serializers.CharField(source="annotation.review_state")
    reviewable = serializers.BooleanField()


class ReviewItemSerializer(serializers.Serializer):
    item_id = serializers.IntegerField(source="item.pk")
    messages = serializers.JSONField(source="item.prompt.messages")
    responses = serializers.SerializerMethodField()
    annotations = ReviewAnnotationSerializer(many=True)

    def get_responses(self, view) -> list[dict]:
        return [
            {"id": r.pk, "letter": letter, "text": r.text, "model": r.model_name}
            for letter, r in view.responses
        ]


class ReviewInputSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=["accept", "reject", "correct"])
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    ranking = serializers.JSONField(
        required=False, help_text="correct: tiers of response ids, best first"
    )


class ReviewOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    annotation_id = serializers.IntegerField()
    verdict = serializers.CharField()
    comment = serializers.CharField()
    correction_id = serializers.IntegerField(allow_null=True)


class GoldInputSerializer(serializers.Serializer):
    ranking = serializers.JSONField(help_text="the known ranking: tiers of response ids")


class GuidelineFlagInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["review", "reannotate"])
    labels = serializers.ListField(
        child=serializers.CharField(max_length=80),
        required=False,
        help_text="only items carrying any of these tag or label names",
    )
