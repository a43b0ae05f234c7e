"""Validate span tags and response labels sent with a judgement.

Offsets are code points into the response's source text: ``text[start:end]`` in
Python is exactly the tagged stretch. Spans may overlap; the same span with the
same label twice is refused as a mistake.
"""

from dataclasses import dataclass

from annotation.models import Response, ResponseLabel, SpanTag
from common.errors import ApplicationError
from common.text_rules import unstorable_character
from projects.labels.models import LabelKind

MAX_SPANS = 500
MAX_NOTE_CHARS = 500


@dataclass(frozen=True)
class LabelInfo:
    id: int
    name: str
    kind: str


@dataclass(frozen=True)
class ValidSpan:
    response_id: int
    label_id: int
    start: int
    end: int
    note: str


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(f"{field}: {message}", extra={"field": field})


def _integer(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(field, f"must be an integer, got {value!r}")
    return value


def _label(value, field: str, labels: dict[int, LabelInfo], kind: str) -> LabelInfo:
    label = labels.get(_integer(value, field))
    if label is None:
        raise _invalid(field, f"label {value} is not in this project's tag set")
    if label.kind != kind:
        raise _invalid(field, f"'{label.name}' is a {label.kind} label, not a {kind} one")
    return label


def _entry_response(entry, field: str, texts: dict[int, str], shape: str) -> int:
    """The response id an entry names, checked to be one of the item's responses."""
    if not isinstance(entry, dict):
        raise _invalid(field, f"must be an object with {shape}")
    response_id = _integer(entry.get("response"), f"{field}.response")
    if response_id not in texts:
        raise _invalid(f"{field}.response", f"response {response_id} is not in this item")
    return response_id


def spans_validate(raw, *, texts: dict[int, str], labels: dict[int, LabelInfo]) -> list[ValidSpan]:
    """Check ``[{"response", "start", "end", "label", "note"?}, ...]`` against the texts."""
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_SPANS:
        raise _invalid("spans", f"must be a list of at most {MAX_SPANS} spans")
    spans: list[ValidSpan] = []
    seen: set[tuple[int, int, int, int]] = set()
    for index, entry in enumerate(raw):
        field = f"spans[{index}]"
        response_id = _entry_response(entry, field, texts, "response, start, end and label")
        start = _integer(entry.get("start"), f"{field}.start")
        end = _integer(entry.get("end"), f"{field}.end")
        length = len(texts[response_id])
        if not 0 <= start < end <= length:
            raise _invalid(
                field, f"[{start}, {end}) is not a stretch of the response's {length} characters"
            )
        label = _label(entry.get("label"), f"{field}.label", labels, LabelKind.SPAN)
        note = entry.get("note") or ""
        if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
            raise _invalid(f"{field}.note", f"text of at most {MAX_NOTE_CHARS} characters")
        if bad := unstorable_character(note):
            raise _invalid(f"{field}.note", f"must not contain {bad}")
        key = (response_id, label.id, start, end)
        if key in seen:
            raise _invalid(field, "the same span with the same label is already tagged")
        seen.add(key)
        spans.append(ValidSpan(response_id, label.id, start, end, note.strip()))
    return spans


def response_labels_validate(
    raw, *, texts: dict[int, str], labels: dict[int, LabelInfo]
) -> list[tuple[int, int]]:
    """Check ``[{"response", "label"}, ...]``; returns (response id, label id) pairs."""
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_SPANS:
        raise _invalid("labels", f"must be a list of at most {MAX_SPANS} {{response, label}}")
    pairs: list[tuple[int, int]] = []
    for index, entry in enumerate(raw):
        field = f"labels[{index}]"
        response_id = _entry_response(entry, field, texts, "response and label")
        label = _label(entry.get("label"), f"{field}.label", labels, LabelKind.RESPONSE)
        if (response_id, label.id) not in pairs:
            pairs.append((response_id, label.id))
    return pairs


@dataclass(frozen=True)
class Tags:
    spans: list[ValidSpan]
    response_labels: list[tuple[int, int]]


def _require_every_response_tagged(tags: Tags, response_ids: list[int]) -> None:
    tagged = {span.response_id for span in tags.spans} | {pair[0] for pair in tags.response_labels}
    untagged = [position for position, pk in enumerate(response_ids) if pk not in tagged]
    if untagged:
        letters = ", ".join(chr(ord("A") + position) for position in untagged)
        raise _invalid(
            "spans",
            f"this project needs at least one tag or label on every response; {letters}"
            f" {'has' if len(untagged) == 1 else 'have'} none",
        )


def tags_validate(*, project, response_ids: list[int], payload: dict) -> Tags:
    """Spans and response labels of a submit; reads texts and labels only when some are sent.

    ``response_ids`` is in the annotator's display order, so a missing tag is named by the
    letter the annotator saw.
    """
    if not payload.get("spans") and not payload.get("labels"):
        if project.require_response_tags:
            _require_every_response_tagged(Tags([], []), response_ids)
        return Tags([], [])

    texts = dict(Response.objects.filter(pk__in=response_ids).values_list("id", "text"))
    labels = {
        pk: LabelInfo(pk, name, kind)
        for pk, name, kind in project.tag_labels.values_list("id", "name", "kind")
    }
    tags = Tags(
        spans_validate(payload.get("spans"), texts=texts, labels=labels),
        response_labels_validate(payload.get("labels"), texts=texts, labels=labels),
    )
    if project.require_response_tags:
        _require_every_response_tagged(tags, response_ids)
    return tags


def tags_store(annotation, tags: Tags) -> None:
    """Store the tags; the annotation keeps them as if prefetched, so showing it back reads
    nothing more."""
    spans = SpanTag.objects.bulk_create(
        SpanTag(
            annotation=annotation, response_id=s.response_id, label_id=s.label_id,
            start=s.start, end=s.end, note=s.note,
        )
        for s in tags.spans
    )  # fmt: skip
    labels = ResponseLabel.objects.bulk_create(
        ResponseLabel(annotation=annotation, response_id=response_id, label_id=label_id)
        for response_id, label_id in tags.response_labels
    )
    spans.sort(key=lambda span: (span.response_id, span.start, span.end, span.pk))
    annotation._prefetched_objects_cache = {
        "spans": _as_fetched(annotation.spans.all(), spans),
        "response_labels": _as_fetched(annotation.response_labels.all(), labels),
    }


def _as_fetched(queryset, rows: list):
    """The queryset as ``prefetch_related`` leaves it: its rows known, no query to run."""
    queryset._result_cache = rows
    queryset._prefetch_done = True
    return queryset
