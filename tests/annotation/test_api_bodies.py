"""The annotate loop's answers are built by plain functions for speed; each must say exactly
what its serializer (the documented schema) says, field for field."""

import dataclasses

from annotation.models import Annotation
from annotation.serializers import (
    AnnotationOutSerializer,
    AssignmentOutSerializer,
    annotation_out,
    assignment_out,
)
from annotation.services.claim_flow import claim_next
from annotation.services.submission import annotation_submit
from projects.labels.services import tag_label_save
from tests.factories import make_items


def test_assignment_out_matches_its_serializer_blind_and_with_a_suggestion(project, annotator):
    make_items(project, 1, texts=lambda n, j: f"<b>answer</b> {j} é 👋")
    view = claim_next(user=annotator, project=project).view
    assert assignment_out(view) == AssignmentOutSerializer(view).data
    suggested = dataclasses.replace(view, suggestion=["C", "A", "D", "B"])
    assert assignment_out(suggested) == AssignmentOutSerializer(suggested).data
    assert assignment_out(suggested)["item"]["suggestion"] == ["C", "A", "D", "B"]


def test_annotation_out_matches_its_serializer_with_tags_and_as_read_back(project, annotator):
    make_items(project, 1)
    error = tag_label_save(project=project, name="factual error", hotkey="f")
    refusal = tag_label_save(project=project, name="refusal", kind="response")
    view = claim_next(user=annotator, project=project).view
    ids = [shown.id for shown in view.responses]
    payload = {
        "ranking": [[ids[0]], [ids[1], ids[2]], [ids[3]]],
        "strength": 2,
        "rationale": "A is right; <script>",
        "time_spent_ms": 4200,
        "spans": [
            {"response": ids[0], "start": 0, "end": 6, "label": error.pk, "note": "why"},
        ],
        "labels": [{"response": ids[3], "label": refusal.pk}],
        "unsure": True,
    }
    stored, created = annotation_submit(
        assignment_id=view.assignment.pk, user=annotator, payload=payload, client_token="t-1"
    )
    assert created
    fresh = annotation_out(stored)
    assert fresh == AnnotationOutSerializer(stored).data
    assert fresh["guideline_version"] == 1 and len(fresh["spans"]) == 1 and fresh["labels"]
    # Read back from the table (a retry's answer), without the guideline: the same rule.
    again = Annotation.objects.get(pk=stored.pk)
    assert annotation_out(again) == AnnotationOutSerializer(again).data == fresh
    Annotation.objects.filter(pk=stored.pk).update(guideline=None, strength=None)
    bare = Annotation.objects.get(pk=stored.pk)
    assert annotation_out(bare) == AnnotationOutSerializer(bare).data
    assert annotation_out(bare)["guideline_version"] is None
