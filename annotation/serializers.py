from rest_framework import serializers

from annotation.models import Annotation


class ClaimedResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    letter = serializers.CharField()
    text = serializers.CharField()


class ClaimedItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="assignment.item_id")
    messages = serializers.ListField(child=serializers.DictField())
    responses = ClaimedResponseSerializer(many=True)
    suggestion = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text="assisted projects: the reward model's order as letters, best first; "
        "null when the annotator works blind",
    )


class AssignmentOutSerializer(serializers.Serializer):
    """An assignment with its item as the annotator sees it (their own response order)."""

    id = serializers.IntegerField(source="assignment.id")
    state = serializers.CharField(source="assignment.state")
    lease_expires_at = serializers.DateTimeField(source="assignment.lease_expires_at")
    item = ClaimedItemSerializer(source="*")


class SubmitInputSerializer(serializers.Serializer):
    ranking = serializers.JSONField(required=False, help_text="tiers of response ids, best first")
    ratings = serializers.JSONField(required=False, help_text="{response id: score} in rate mode")
    rubric = serializers.JSONField(
        required=False,
        help_text="{dimension id: {response id: score}} when the project has a rubric",
    )
    spans = serializers.JSONField(
        required=False,
        help_text='[{"response", "start", "end", "label", "note"}]: offsets in code points',
    )
    labels = serializers.JSONField(required=False, help_text='[{"response", "label"}]')
    rewrites = serializers.JSONField(
        required=False,
        help_text='[{"response", "text", "writing"}]: improved versions, preferred over originals',
    )
    choice = serializers.JSONField(
        required=False, help_text='pairwise: preferred response id or "tie"'
    )
    strength = serializers.IntegerField(required=False, min_value=1, max_value=3)
    none_acceptable = serializers.BooleanField(required=False, default=False)
    unsure = serializers.BooleanField(
        required=False, default=False, help_text="send this annotation to a reviewer"
    )
    rationale = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    time_spent_ms = serializers.IntegerField(required=False, min_value=0)
    client_token = serializers.CharField(required=False, max_length=64)
    next = serializers.BooleanField(
        required=False,
        default=False,
        help_text=(
            "also claim your next item and return it as `next` in the same answer: one "
            "request per annotation"
        ),
    )


class SpanOutSerializer(serializers.Serializer):
    response = serializers.IntegerField(source="response_id")
    label = serializers.IntegerField(source="label_id")
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    note = serializers.CharField()


class ResponseLabelOutSerializer(serializers.Serializer):
    response = serializers.IntegerField(source="response_id")
    label = serializers.IntegerField(source="label_id")


class AnnotationOutSerializer(serializers.ModelSerializer):
    guideline_version = serializers.IntegerField(source="guideline.version", default=None)
    spans = SpanOutSerializer(many=True, read_only=True)
    labels = ResponseLabelOutSerializer(source="response_labels", many=True, read_only=True)

    class Meta:
        model = Annotation
        fields = [
            "id", "assignment_id", "item_id", "mode", "ranking", "ratings", "rubric_scores",
            "strength", "spans", "labels",
            "none_acceptable", "rationale", "time_spent_ms", "guideline_version",
            "display_order", "client_token", "created_at", "unsure", "status", "review_state",
        ]  # fmt: skip


class SkipInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class NextRefusedSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class SubmitOutSerializer(AnnotationOutSerializer):
    """The stored annotation; with ``next: true`` in the request, the next item too."""

    next = AssignmentOutSerializer(
        required=False,
        allow_null=True,
        help_text=(
            "only when the request asked `next: true`: your next item, as the claim "
            "answers it, or null when nothing is left for you"
        ),
    )
    next_refused = NextRefusedSerializer(
        required=False,
        allow_null=True,
        help_text=(
            "only with `next: true`: why no next item was claimed although the annotation "
            "is stored (paused by quality control, new guidelines to acknowledge)"
        ),
    )

    class Meta(AnnotationOutSerializer.Meta):
        fields = [*AnnotationOutSerializer.Meta.fields, "next", "next_refused"]
