"""Annotators revise their own annotations until a reviewer has looked at them.

The Annotation row always holds the latest revision, so exports and agreement read one
row per judgement; each superseded version is first copied whole (judgement, spans,
labels, rationale, time, guideline) into AnnotationRevision. Nothing is lost.
"""

from django.db import transaction
from django.utils import timezone

from annotation.models import Annotation, AnnotationKind, AnnotationRevision, Item
from annotation.services.judgements import (
    Judgement,
    judgement_validate,
    project_dimensions,
    tiers_check,
)
from annotation.services.rewrites import rewrites_store, rewrites_validate
from annotation.services.spans import Tags, tags_store, tags_validate
from annotation.services.submission import MAX_TIME_SPENT_MS, guideline_read_by
from annotation.signals import annotation_revised
from common.errors import ApplicationError, ConflictError, NotFoundError
from projects.permissions import Capability, has_capability


def annotation_content(annotation: Annotation) -> dict:
    """Everything a revision changes, as JSON: what AnnotationRevision keeps."""
    return {
        "ranking": annotation.ranking,
        "ratings": annotation.ratings,
        "rubric_scores": annotation.rubric_scores,
        "strength": annotation.strength,
        "none_acceptable": annotation.none_acceptable,
        "rationale": annotation.rationale,
        "time_spent_ms": annotation.time_spent_ms,
        "guideline_id": annotation.guideline_id,
        "spans": [
            {"response": r, "label": label, "start": start, "end": end, "note": note}
            for r, label, start, end, note in annotation.spans.values_list(
                "response_id", "label_id", "start", "end", "note"
            )
        ],
        "labels": [
            {"response": r, "label": label}
            for r, label in annotation.response_labels.values_list("response_id", "label_id")
        ],
    }


def _lock_own(annotation_id: int, user) -> Annotation:
    annotation = (
        Annotation.objects.select_for_update(of=("self",))
        .select_related("project")
        .filter(pk=annotation_id, user=user)
        .first()
    )
    if annotation is None or not has_capability(user, annotation.project, Capability.ANNOTATE):
        raise NotFoundError(f"no annotation {annotation_id} of yours")
    return annotation


def _validate(annotation: Annotation, payload: dict) -> tuple[Judgement, Tags]:
    project = annotation.project
    response_ids = list(annotation.display_order)
    if annotation.kind == AnnotationKind.WRITER_ORDER:
        tiers = tiers_check(payload.get("ranking"), response_ids, ties_allowed=project.ties_allowed)
        return Judgement(ranking=tiers), Tags([], [])
    judgement = judgement_validate(
        dimensions=project_dimensions(project),
        project=project,
        response_ids=response_ids,
        payload=payload,
    )
    return judgement, tags_validate(project=project, response_ids=response_ids, payload=payload)


def _extra_time(payload: dict) -> int:
    value = payload.get("time_spent_ms", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ApplicationError(
            "time_spent_ms: must be a non-negative integer", extra={"field": "time_spent_ms"}
        )
    return value


@transaction.atomic
def annotation_revise(
    *, annotation_id: int, user, payload: dict, base_revision: int | None = None
) -> Annotation:
    """Replace the user's annotation with a new revision, keeping the old one whole.

    Args:
        payload: a complete judgement, as for a submit (spans, labels and rewrites too).
        base_revision: the revision the user edited; a mismatch (another tab, a retried
            request that already went through) is refused instead of stacking revisions.
    """
    annotation = _lock_own(annotation_id, user)
    if annotation.reviewed_at is not None:
        raise ConflictError("this annotation was reviewed; it can no longer be revised")
    if base_revision is not None and base_revision != annotation.revision:
        raise ConflictError(
            f"this annotation is at revision {annotation.revision}, not {base_revision}",
            extra={"revision": annotation.revision},
        )
    judgement, tags = _validate(annotation, payload)
    rewrites = rewrites_validate(payload.get("rewrites"), response_ids=annotation.display_order)
    extra_ms = _extra_time(payload)
    AnnotationRevision.objects.create(
        annotation=annotation,
        number=annotation.revision,
        content=annotation_content(annotation),
        made_at=annotation.revised_at or annotation.created_at,
    )
    for name in ("ranking", "ratings", "rubric_scores", "strength", "none_acceptable"):
        setattr(annotation, name, getattr(judgement, name))
    if annotation.kind != AnnotationKind.WRITER_ORDER:
        annotation.rationale = judgement.rationale
    annotation.time_spent_ms = min(annotation.time_spent_ms + extra_ms, MAX_TIME_SPENT_MS)
    annotation.guideline = guideline_read_by(user=user, project=annotation.project)
    annotation.revision += 1
    annotation.revised_at = timezone.now()
    annotation.save()
    annotation.spans.all().delete()
    annotation.response_labels.all().delete()
    tags_store(annotation, tags)
    rewrites_store(annotation, rewrites)
    Item.objects.select_for_update().filter(pk=annotation.item_id).values_list("pk").first()
    annotation_revised.send(
        sender=Annotation, project_id=annotation.project_id, item_id=annotation.item_id
    )
    return annotation
