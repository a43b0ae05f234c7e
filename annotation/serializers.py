"""The annotation API's bodies.

The serializers below define and document every body (drf-spectacular reads them). The
two answers of the annotate loop, an assignment and a stored annotation, are also built
by the plain functions ``assignment_out`` and ``annotation_out``: a DRF serializer
deep-copies and binds its fields for every instance it renders, which cost about 1.5 ms
of the loop's 8 ms of web CPU per annotation (benchmarks/request_profile.py).
``tests/annotation/test_api_bodies.py`` holds each function to its serializer's output.
"""

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


# One field instance, built once: DRF's own datetime formatting, without a serializer.
_DATETIME = serializers.DateTimeField()


def _datetime_out(value):
    return None if value is None else _DATETIME.to_representation(value)


def assignment_out(view) -> dict:
    """``AssignmentOutSerializer(view).data``, built directly (see the module docstring)."""
    assignment = view.assignment
    return {
        "id": assignment.id,
        "state": assignment.state,
        "lease_expires_at": _datetime_out(assignment.lease_expires_at),
        "item": {
            "id": assignment.item_id,
            "messages": view.messages,
            "responses": [
                {"id": shown.id, "letter": shown.letter, "text": shown.text}
                for shown in view.responses
            ],
            "suggestion": view.suggestion,
        },
    }


def annotation_out(annotation: Annotation) -> dict:
    """``AnnotationOutSerializer(annotation).data``, built directly (see the module
    docstring)."""
    guideline = annotation.guideline
    return {
        "id": annotation.id,
        "assignment_id": annotation.assignment_id,
        "item_id": annotation.item_id,
        "mode": annotation.mode,
        "ranking": annotation.ranking,
        "ratings": annotation.ratings,
        "rubric_scores": annotation.rubric_scores,
        "strength": annotation.strength,
        "spans": [
            {
                "response": span.response_id,
                "label": span.label_id,
                "start": span.start,
                "end": span.end,
                "note": span.note,
            }
            for span in annotation.spans.all()
        ],
        "labels": [
            {"response": tag.response_id, "label": tag.label_id}
            for tag in annotation.response_labels.all()
        ],
        "none_acceptable": annotation.none_acceptable,
        "rationale": annotation.rationale,
        "time_spent_ms": annotation.time_spent_ms,
        "guideline_version": guideline.version if guideline is not None else None,
        "display_order": annotation.display_order,
        "client_token": annotation.client_token,
        "created_at": _datetime_out(annotation.created_at),
        "unsure": annotation.unsure,
        "status": annotation.status,
        "review_state": annotation.review_state,
    }
