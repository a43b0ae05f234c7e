"""The project's tag set and rubric: the labels and rating dimensions annotators use."""

import re

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from common.errors import ApplicationError, ConflictError, NotFoundError
from projects.labels.models import LabelKind, RatingDimension, TagLabel
from projects.models import Project

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# Keys the ranking page already uses (static/js/annotate.js); a label may not shadow them.
RESERVED_KEYS = set("0123456789abgjknrstu?=") | {" "}


def _check_hotkey(hotkey: str) -> str:
    hotkey = hotkey.strip().lower()
    if len(hotkey) > 1:
        raise ApplicationError(
            "A hotkey is one key: type a single letter, or leave it empty.",
            extra={"field": "hotkey"},
        )
    if hotkey and hotkey in RESERVED_KEYS:
        raise ApplicationError(
            f"'{hotkey}' is taken by the ranking page: choose another key, or leave it empty "
            f"(the ranking page uses {' '.join(sorted(RESERVED_KEYS - {' '}))}).",
            extra={"field": "hotkey"},
        )
    return hotkey


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ApplicationError("name: must not be empty", extra={"field": "name"})
    return name


def _save(instance) -> None:
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        # Say which of the two unique fields clashed, so the page can put it on that field.
        named = type(instance).objects.filter(project_id=instance.project_id, name=instance.name)
        if named.exclude(pk=instance.pk).exists():
            raise ConflictError(
                f"'{instance.name}' is already in this project: choose another name.",
                extra={"field": "name"},
            ) from exc
        noun = "label" if isinstance(instance, TagLabel) else "rubric dimension"
        raise ConflictError(
            f"'{instance.hotkey}' is already the hotkey of another {noun} in this project: "
            "choose another key, or leave it empty.",
            extra={"field": "hotkey"},
        ) from exc


def tag_label_save(
    *,
    project: Project,
    name: str,
    kind: str = LabelKind.SPAN,
    colour: str = "#f5c542",
    hotkey: str = "",
    description: str = "",
    label: TagLabel | None = None,
) -> TagLabel:
    """Create a label, or change ``label``; names and hotkeys are unique per project."""
    if kind not in LabelKind.values:
        raise ApplicationError(
            f"kind: one of {', '.join(LabelKind.values)}", extra={"field": "kind"}
        )
    if not COLOUR.match(colour):
        raise ApplicationError("colour: a #rrggbb colour", extra={"field": "colour"})
    label = label or TagLabel(project=project, position=project.tag_labels.count())
    label.name, label.kind, label.colour = _check_name(name), kind, colour.lower()
    label.hotkey, label.description = _check_hotkey(hotkey), description.strip()[:500]
    if label.hotkey and project.rating_dimensions.filter(hotkey=label.hotkey).exists():
        raise ConflictError(
            f"'{label.hotkey}' is the hotkey of a rubric dimension: choose another key, or "
            "leave it empty.",
            extra={"field": "hotkey"},
        )
    _save(label)
    return label


def rating_dimension_save(
    *,
    project: Project,
    name: str,
    scale: int = 5,
    hotkey: str = "",
    description: str = "",
    dimension: RatingDimension | None = None,
) -> RatingDimension:
    """Create a rubric dimension, or change ``dimension``."""
    if isinstance(scale, bool) or not isinstance(scale, int) or not 2 <= scale <= 10:
        raise ApplicationError("scale: an integer from 2 to 10", extra={"field": "scale"})
    dimension = dimension or RatingDimension(
        project=project, position=project.rating_dimensions.count()
    )
    dimension.name, dimension.scale = _check_name(name), scale
    dimension.hotkey, dimension.description = _check_hotkey(hotkey), description.strip()[:500]
    if dimension.hotkey and project.tag_labels.filter(hotkey=dimension.hotkey).exists():
        raise ConflictError(
            f"'{dimension.hotkey}' is the hotkey of a tag label: choose another key, or leave "
            "it empty.",
            extra={"field": "hotkey"},
        )
    _save(dimension)
    return dimension


def tag_label_get(*, project: Project, label_id: int) -> TagLabel:
    label = project.tag_labels.filter(pk=label_id).first()
    if label is None:
        raise NotFoundError(f"no label {label_id} in this project")
    return label


def rating_dimension_get(*, project: Project, dimension_id: int) -> RatingDimension:
    dimension = project.rating_dimensions.filter(pk=dimension_id).first()
    if dimension is None:
        raise NotFoundError(f"no rubric dimension {dimension_id} in this project")
    return dimension


def tag_label_delete(*, project: Project, label_id: int) -> None:
    """Delete a label nobody has used; a used one stays (annotations point at it)."""
    label = tag_label_get(project=project, label_id=label_id)
    try:
        with transaction.atomic():
            label.delete()
    except ProtectedError as exc:
        raise ConflictError(
            f"label {label.name!r} is used by {len(exc.protected_objects)} tags or labels in "
            "annotations; it stays",
            extra={"field": "label"},
        ) from None


def rating_dimension_delete(*, project: Project, dimension_id: int) -> None:
    """Delete a rubric dimension; scores already given under it go with it."""
    rating_dimension_get(project=project, dimension_id=dimension_id).delete()
