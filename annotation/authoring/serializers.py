"""Input and output shapes for prompt writing, the response queue and own history."""

from rest_framework import serializers

from annotation.authoring.models import WriteAssignment
from annotation.models import Annotation, AnnotationRevision, Prompt, Response
from annotation.serializers import ResponseLabelOutSerializer, SpanOutSerializer

WRITING_HELP = (
    '{"<field>": {"typing_ms", "keystrokes", "paste_events", "pasted_chars"}}: how the '
    "text was produced, per field (messages[i], text); omit when not measured"
)


class PromptWriteInputSerializer(serializers.Serializer):
    messages = serializers.JSONField(help_text='[{"role": "user"|"assistant", "content"}]')
    category = serializers.CharField(required=False, allow_blank=True, max_length=60)
    writing = serializers.JSONField(required=False, help_text=WRITING_HELP)
    responses = serializers.JSONField(
        required=False,
        help_text='writer projects: exactly K [{"text", "writing"}], in the order written',
    )
    ranking = serializers.JSONField(
        required=False, help_text="writer projects: tiers of indices into responses, best first"
    )
    allow_near_duplicate = serializers.BooleanField(required=False, default=False)
    time_spent_ms = serializers.IntegerField(required=False, min_value=0, default=0)
    client_token = serializers.CharField(required=False, max_length=64)


class DuplicateCheckInputSerializer(serializers.Serializer):
    messages = serializers.JSONField()


class DuplicateMatchSerializer(serializers.Serializer):
    prompt_id = serializers.IntegerField()
    similarity = serializers.FloatField()
    exact = serializers.BooleanField()
    text = serializers.CharField()


class PromptOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Prompt
        fields = [
            "id", "messages", "category", "source", "status", "status_reason",
            "open_write_slots", "writing", "mostly_pasted", "created_at",
        ]  # fmt: skip


class WritePromptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    messages = serializers.JSONField()
    category = serializers.CharField()


class WriteAssignmentOutSerializer(serializers.ModelSerializer):
    prompt = WritePromptSerializer()

    class Meta:
        model = WriteAssignment
        fields = ["id", "state", "lease_expires_at", "prompt"]


class WriteSubmitInputSerializer(serializers.Serializer):
    text = serializers.CharField(trim_whitespace=False)
    writing = serializers.JSONField(required=False, help_text=WRITING_HELP)
    client_token = serializers.CharField(required=False, max_length=64)


class WrittenResponseOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Response
        fields = ["id", "prompt_id", "text", "origin", "writing", "mostly_pasted", "created_at"]


class RewriteOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Response
        fields = ["id", "rewrite_of_id", "text", "writing", "mostly_pasted", "created_at"]


class HistoryEntrySerializer(serializers.ModelSerializer):
    prompt = serializers.CharField(source="item.prompt.text")
    guideline_version = serializers.IntegerField(source="guideline.version", default=None)
    revisable = serializers.SerializerMethodField()

    class Meta:
        model = Annotation
        fields = [
            "id", "item_id", "kind", "mode", "prompt", "ranking", "revision", "created_at",
            "revised_at", "reviewed_at", "guideline_version", "revisable",
        ]  # fmt: skip

    def get_revisable(self, annotation) -> bool:
        return annotation.reviewed_at is None


class RevisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = AnnotationRevision
        fields = ["number", "content", "made_at"]


class AnnotationDetailSerializer(HistoryEntrySerializer):
    spans = SpanOutSerializer(many=True, read_only=True)
    labels = ResponseLabelOutSerializer(source="response_labels", many=True, read_only=True)
    rewrites = RewriteOutSerializer(many=True, read_only=True)
    revisions = RevisionSerializer(many=True, read_only=True)
    messages = serializers.JSONField(source="item.prompt.messages")

    class Meta(HistoryEntrySerializer.Meta):
        fields = [
            *HistoryEntrySerializer.Meta.fields, "messages", "display_order", "ratings",
            "rubric_scores", "strength", "none_acceptable", "rationale", "time_spent_ms",
            "spans", "labels", "rewrites", "revisions",
        ]  # fmt: skip


class ReviseInputSerializer(serializers.Serializer):
    ranking = serializers.JSONField(required=False)
    ratings = serializers.JSONField(required=False)
    rubric = serializers.JSONField(required=False)
    spans = serializers.JSONField(required=False)
    labels = serializers.JSONField(required=False)
    rewrites = serializers.JSONField(required=False)
    choice = serializers.JSONField(required=False)
    strength = serializers.IntegerField(required=False, min_value=1, max_value=3)
    none_acceptable = serializers.BooleanField(required=False, default=False)
    rationale = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    time_spent_ms = serializers.IntegerField(required=False, min_value=0)
    base_revision = serializers.IntegerField(
        required=False, min_value=1, help_text="the revision you edited; refused if stale"
    )
