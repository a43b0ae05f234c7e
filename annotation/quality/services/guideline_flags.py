"""After a guideline change: send work done under superseded versions back for a second look.

A manager picks what happens to annotations made under an older version than the
current one: ``review`` puts them in the review queue again (even if reviewed before);
``reannotate`` stops them counting and reopens a slot on their item for each, so
someone annotates it again under the new version. Either may be limited to items that
carry given tags (a span tag or response label in any of their annotations).
"""

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef

from annotation.models import (
    Annotation,
    AnnotationKind,
    AnnotationStatus,
    Item,
    ResponseLabel,
    ReviewState,
    SpanTag,
)
from common.errors import ApplicationError
from common.queueing import task_send_on_commit
from projects.labels.models import TagLabel
from projects.models import Project
from projects.selectors import guideline_current

ACTIONS = ("review", "reannotate")


def superseded_annotations(*, project: Project, label_names: list[str] | None = None):
    """Counted annotations made under a guideline version older than the current one."""
    current = guideline_current(project)
    if current is None:
        return Annotation.objects.none()
    rows = Annotation.objects.filter(
        project=project,
        status=AnnotationStatus.ACTIVE,
        guideline__version__lt=current.version,
    ).exclude(kind=AnnotationKind.REVIEW_CORRECTION)
    if label_names:
        if any("\x00" in name for name in label_names):
            raise ApplicationError("labels: a label name holds NUL", extra={"field": "labels"})
        labels = list(TagLabel.objects.filter(project=project, name__in=label_names))
        unknown = sorted(set(label_names) - {label.name for label in labels})
        if unknown:
            raise ApplicationError(
                f"labels: not in this project: {unknown}", extra={"field": "labels"}
            )
        spans = SpanTag.objects.filter(annotation__item=OuterRef("item"), label__in=labels)
        flags = ResponseLabel.objects.filter(annotation__item=OuterRef("item"), label__in=labels)
        rows = rows.filter(Exists(spans) | Exists(flags))
    return rows


@transaction.atomic
def guideline_flag_superseded(
    *, project: Project, action: str, label_names: list[str] | None = None
) -> tuple[int, list[int]]:
    """Flag the annotations; returns (how many, items reopened). The reopened items' figures
    are refreshed by a worker once this commits."""
    if action not in ACTIONS:
        raise ApplicationError(f"action: one of {', '.join(ACTIONS)}", extra={"field": "action"})
    rows = superseded_annotations(project=project, label_names=label_names)
    if action == "review":
        count = Annotation.objects.filter(pk__in=rows.values("pk")).update(
            review_state=ReviewState.PENDING, review_reason="guideline"
        )
        return count, []
    per_item = dict(rows.values("item_id").annotate(n=Count("id")).values_list("item_id", "n"))
    count = Annotation.objects.filter(pk__in=rows.values("pk")).update(
        status=AnnotationStatus.SUPERSEDED
    )
    for item_id, n in sorted(per_item.items()):
        Item.objects.filter(pk=item_id).update(open_slots=F("open_slots") + n)
    if per_item:
        task_send_on_commit("annotation.items_quality_refresh", sorted(per_item))
    return count, sorted(per_item)
