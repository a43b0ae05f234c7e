"""Stream a project's exportable items out of the database, chunk by chunk.

Item ids come through a server-side cursor (Django's ``iterator`` on PostgreSQL) in id
order; each chunk's prompts, responses, annotations, reviews and tags are then read
with one query each over the chunk's id range, so memory holds one chunk whatever the
project's size and the rows come out in the same order every time.
"""

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC

import orjson
from django.conf import settings
from django.db import connections
from django.db.models import Exists, OuterRef, Q, TextField
from django.db.models.functions import Cast

from annotation import dedup
from annotation.models import (
    Annotation,
    AnnotationKind,
    AnnotationStatus,
    Item,
    ItemResponse,
    ResponseLabel,
    SpanTag,
)
from annotation.quality.metrics.consensus import consensus
from annotation.quality.models import AnnotatorStats, ItemStats, Review, ReviewVerdict
from projects.models import Project, RankingMode
from training.datasets.export.options import ExportOptions, Filters
from training.datasets.export.source import SourceItem, SourceJudgement, SourceResponse
from training.datasets.services.read_ahead import read_ahead


def _chunk_default() -> int:
    # Items per chunk: memory and progress granularity against queries per item.
    return int(getattr(settings, "PREFLAB_EXPORT_CHUNK_ITEMS", 500))


def annotator_hasher(project: Project):
    """Annotator ids as stable pseudonyms: an HMAC keyed by the deployment's secret and
    the project, so nobody can reverse them by hashing every small integer."""
    key = hmac.new(settings.SECRET_KEY.encode(), f"project:{project.pk}".encode(), "sha256")
    secret = key.digest()
    cache: dict[int, str] = {}

    def hasher(user_id: int) -> str:
        if user_id not in cache:
            cache[user_id] = hmac.new(secret, str(user_id).encode(), hashlib.sha256).hexdigest()[
                :16
            ]
        return cache[user_id]

    return hasher


def _annotation_filter(project: Project, filters: Filters) -> Q:
    q = Q(project=project, status=AnnotationStatus.ACTIVE) & ~Q(ranking=[])
    if filters.created_from:
        q &= Q(created_at__date__gte=filters.created_from)
    if filters.created_to:
        q &= Q(created_at__date__lte=filters.created_to)
    if filters.min_annotator_weight is not None:
        light = AnnotatorStats.objects.filter(
            project=project, weight__lt=filters.min_annotator_weight
        ).values("user_id")
        q &= ~Q(user_id__in=light)
    if filters.assistance != "any":
        q &= Q(assisted=filters.assistance == "assisted")
    if filters.review != "any":
        # Rejected and corrected originals never count, so among counted annotations
        # "reviewed" and "accepted" both mean: accepted, or a reviewer's correction.
        accepted = Review.objects.filter(annotation=OuterRef("pk"), verdict=ReviewVerdict.ACCEPTED)
        q &= Q(Exists(accepted)) | Q(kind=AnnotationKind.REVIEW_CORRECTION)
    return q


def _has_tag(names) -> Q:
    spans = SpanTag.objects.filter(
        annotation__item=OuterRef("pk"),
        annotation__status=AnnotationStatus.ACTIVE,
        label__name__in=names,
    )
    labels = ResponseLabel.objects.filter(
        annotation__item=OuterRef("pk"),
        annotation__status=AnnotationStatus.ACTIVE,
        label__name__in=names,
    )
    return Q(Exists(spans)) | Q(Exists(labels))


def items_queryset(project: Project, options: ExportOptions):
    """The project's items the filters keep, in id order (annotation-level filters are
    applied per chunk; an item left with no judgement writes nothing)."""
    f = options.filters
    items = Item.objects.filter(project=project)
    if f.rounds:
        items = items.filter(round__in=f.rounds)
    if f.min_agreement is not None:
        items = items.filter(stats__agreement__gte=f.min_agreement)
    for name in f.tags_present:
        items = items.filter(_has_tag([name]))
    if f.tags_absent:
        items = items.exclude(_has_tag(f.tags_absent))
    judged = Annotation.objects.filter(_annotation_filter(project, f), item=OuterRef("pk"))
    return items.filter(Exists(judged)).order_by("id")


def _in_chunk(queryset, field: str, item_ids: list[int]):
    """Rows of the chunk's items by an id range rather than a list of ids: the chunk is a
    run of ids in order, a range scan is one index probe, and a 500-id ``IN`` costs more
    to build and parse than to run. Rows of items in the range but not in the chunk
    (filtered out, or another project's) are dropped by the caller."""
    return queryset.filter(**{f"{field}__gte": item_ids[0], f"{field}__lte": item_ids[-1]})


def _raw(queryset) -> list[tuple]:
    """The queryset's rows as the driver returns them, without Django's per-row work
    (a third of an export's time): the columns are chosen to need no conversion (JSON
    is cast to text; booleans and datetimes are normalised by the caller)."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _aware(value) -> str:
    """ISO 8601 of a timestamp (SQLite's driver returns naive UTC datetimes)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


class _Generations:
    """Generation settings as canonical JSON text, parsed once per distinct metadata text
    (a model's responses mostly share theirs)."""

    def __init__(self, limit: int = 4096):
        self.seen: dict[str, str] = {}
        self.limit = limit

    def __call__(self, metadata: str | None) -> str:
        if not metadata:
            return "{}"
        found = self.seen.get(metadata)
        if found is None:
            generation = orjson.loads(metadata).get("generation") or {}
            found = orjson.dumps(generation, option=orjson.OPT_SORT_KEYS).decode()
            if len(self.seen) >= self.limit:
                self.seen.clear()
            self.seen[metadata] = found
        return found


def _json(field: str):
    # JSON columns as their text, parsed once by orjson: Django's JSONField converter
    # (json.loads per value) was a tenth of an export's time.
    return Cast(field, TextField())


def _responses(item_ids: list[int], wanted: set[int], generations) -> dict[int, list]:
    rows = _raw(
        _in_chunk(ItemResponse.objects, "item_id", item_ids)
        .order_by("item_id", "position")
        .annotate(metadata_text=_json("response__metadata"))
        .values_list(
            "item_id",
            "response_id",
            "response__text",
            "response__model_name",
            "response__origin",
            "metadata_text",
            "response__mostly_pasted",
        )
    )
    out: dict[int, list[SourceResponse]] = defaultdict(list)
    for item_id, rid, text, model, origin, metadata, pasted in rows:
        if item_id in wanted:
            out[item_id].append(
                SourceResponse(rid, text, model, origin, generations(metadata), bool(pasted))
            )
    return out


def _reviews(item_ids: list[int], annotation_ids: set[int]) -> dict[int, str]:
    latest: dict[int, str] = {}
    rows = (
        _in_chunk(Review.objects, "annotation__item_id", item_ids)
        .order_by("created_at", "id")
        .values_list("annotation_id", "verdict")
    )
    for annotation_id, verdict in rows:
        if annotation_id in annotation_ids:
            latest[annotation_id] = verdict
    return latest


def _tags(annotation_ids: list[int]) -> tuple[dict, dict]:
    spans: dict[int, list[dict]] = defaultdict(list)
    for aid, rid, start, end, label, note in (
        SpanTag.objects.filter(annotation_id__in=annotation_ids)
        .order_by("id")
        .values_list("annotation_id", "response_id", "start", "end", "label__name", "note")
    ):
        spans[aid].append(
            {"response": rid, "start": start, "end": end, "label": label, "note": note}
        )
    labels: dict[int, list[dict]] = defaultdict(list)
    for aid, rid, label in (
        ResponseLabel.objects.filter(annotation_id__in=annotation_ids)
        .order_by("id")
        .values_list("annotation_id", "response_id", "label__name")
    ):
        labels[aid].append({"response": rid, "label": label})
    return spans, labels


def _judgements(project, options, item_ids, wanted, weights, with_tags) -> dict[int, list]:
    rows = [
        row
        for row in _raw(
            _in_chunk(
                Annotation.objects.filter(_annotation_filter(project, options.filters)),
                "item_id",
                item_ids,
            )
            .order_by("item_id", "id")
            .annotate(
                ranking_text=_json("ranking"),
                ratings_text=_json("ratings"),
                rubric_text=_json("rubric_scores"),
                shown_text=_json("display_order"),
            )
            .values_list(
                "id",
                "item_id",
                "user_id",
                "kind",
                "ranking_text",
                "ratings_text",
                "rubric_text",
                "strength",
                "none_acceptable",
                "time_spent_ms",
                "guideline__version",
                "shown_text",
                "created_at",
                "assisted",
            )
        )
        if row[1] in wanted
    ]
    ids = [row[0] for row in rows]
    reviews = _reviews(item_ids, set(ids))
    spans, labels = _tags(ids) if with_tags else ({}, {})
    loads = orjson.loads
    out: dict[int, list[SourceJudgement]] = defaultdict(list)
    for row in rows:
        (
            aid,
            item_id,
            user,
            kind,
            ranking,
            ratings,
            rubric,
            strength,
            none,
            ms,
            gv,
            shown,
            at,
            assisted,
        ) = row
        out[item_id].append(
            SourceJudgement(
                annotation_id=aid,
                user_id=user,
                kind=kind,
                ranking=loads(ranking),
                ratings=loads(ratings) if ratings and ratings != "{}" else {},
                rubric=loads(rubric) if rubric and rubric != "{}" else {},
                strength=strength,
                none_acceptable=bool(none),
                time_spent_ms=ms,
                guideline_version=gv,
                shown_order=loads(shown) if shown else [],
                assisted=bool(assisted),
                review=reviews.get(aid, ""),
                created_at=_aware(at),
                weight=weights.get(user, 1.0),
                spans=spans.get(aid, []),
                labels=labels.get(aid, []),
            )
        )
    return out


def _consensus(stored: tuple | None, judgements: list[SourceJudgement]) -> tuple[list, dict]:
    """The stored consensus when it was computed from exactly these judgements, else a
    fresh one over them (annotation filters left some out)."""
    if stored and stored[0] == len(judgements):
        return orjson.loads(stored[1] or "[]"), orjson.loads(stored[2] or "{}")
    fresh = consensus([(j.ranking, j.weight) for j in judgements])
    confidence = {f"{a},{b}": p for (a, b), p in fresh.pair_confidence.items()}
    return fresh.ranking, confidence


def _chunk_items(project, options, item_ids, weights, with_tags, generations=None):
    wanted = set(item_ids)
    generations = generations or _Generations()
    heads = _raw(
        _in_chunk(Item.objects.filter(project=project), "id", item_ids)
        .order_by("id")
        .annotate(messages_text=_json("prompt__messages"))
        .values_list("id", "round", "messages_text", "prompt__dedup_key", "prompt__mostly_pasted")
    )
    stats = {
        item_id: (judged, consensus_text, confidence_text, agreement)
        for item_id, judged, consensus_text, confidence_text, agreement in _raw(
            _in_chunk(ItemStats.objects.filter(project=project), "item_id", item_ids)
            .annotate(consensus_text=_json("consensus"), confidence_text=_json("pair_confidence"))
            .values_list("item_id", "judgements", "consensus_text", "confidence_text", "agreement")
        )
    }
    responses = _responses(item_ids, wanted, generations)
    judgements = _judgements(project, options, item_ids, wanted, weights, with_tags)
    scale = project.rating_scale if project.ranking_mode == RankingMode.RATE else 0
    # Per-annotator rows use neither the consensus nor its pair probabilities.
    needs_consensus = options.aggregation == "consensus" or options.soft_labels
    out = []
    for item_id, round_number, messages_text, dedup_key, pasted in heads:
        judged = judgements.get(item_id)
        if item_id not in wanted or not judged:
            continue
        stored = stats.get(item_id)
        ranking, confidence = _consensus(stored, judged) if needs_consensus else ([], {})
        messages = orjson.loads(messages_text)
        out.append(
            SourceItem(
                item_id=item_id,
                round=round_number,
                messages=messages,
                group_key=dedup_key or dedup.exact_key(messages),
                prompt_pasted=bool(pasted),
                responses=responses.get(item_id, []),
                judgements=judged,
                consensus=ranking,
                pair_confidence=confidence,
                agreement=stored[3] if stored else None,
                scale=scale,
            )
        )
    return out


def source_items(
    project: Project, options: ExportOptions, *, chunk: int | None = None
) -> Iterator[list[SourceItem]]:
    """Chunks of items ready for the row builders, in item id order (read one chunk
    ahead of the caller where the database allows it: ``read_ahead``)."""
    return read_ahead(lambda: _chunks(project, options, chunk or _chunk_default()))


def _chunks(project: Project, options: ExportOptions, chunk: int) -> Iterator[list[SourceItem]]:
    weights = dict(AnnotatorStats.objects.filter(project=project).values_list("user_id", "weight"))
    with_tags = "spans" in options.formats or bool(options.filters.tags_present)
    generations = _Generations()
    ids: list[int] = []
    for item_id in (
        items_queryset(project, options).values_list("id", flat=True).iterator(chunk_size=chunk * 4)
    ):
        ids.append(item_id)
        if len(ids) == chunk:
            yield _chunk_items(project, options, ids, weights, with_tags, generations)
            ids = []
    if ids:
        yield _chunk_items(project, options, ids, weights, with_tags, generations)
