"""Import prompts and responses from JSONL or CSV: validate all, then insert all or nothing.

The web tier only stores the upload and queues a job; a Celery worker parses the
file twice as a stream (once to collect every error, once to insert), so memory
stays flat for any file size. Rows whose id already exists in the project are
left untouched, which makes re-imports idempotent.
"""

import logging
import random
import uuid
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from annotation.dedup import exact_key
from annotation.importing import ImportRow, RowError, detect_format, iter_import_rows
from annotation.importing.models import ImportJob
from annotation.models import (
    Batch,
    Item,
    ItemResponse,
    Prompt,
    PromptStatus,
    Response,
    ResponseOrigin,
)
from annotation.services.items_build import items_added
from annotation.services.prompt_index import prompt_bands_backfill_later
from common.bulk_rows import insert_rows, reserve_ids
from common.errors import ApplicationError
from common.jobs import JobState, job_cancel, job_cancel_heard, job_enqueue_on_commit
from common.progress import Progress, progress_report
from projects.models import Project

logger = logging.getLogger(__name__)

# COPY names every column: model defaults are Python-side, so new columns must be listed.
PROMPT_COLUMNS = (
    "id", "project", "external_id", "messages", "source", "metadata", "created_at",
    "category", "status", "status_reason", "open_write_slots", "dedup_key", "writing",
    "mostly_pasted",
)  # fmt: skip
RESPONSE_COLUMNS = (
    "id", "prompt", "text", "model_name", "metadata", "created_at", "origin", "writing",
    "mostly_pasted",
)  # fmt: skip
ITEM_COLUMNS = (
    "id", "project", "prompt", "batch", "restricted", "round", "priority",
    "open_slots", "submitted_count", "metadata", "created_at", "is_gold", "gold_ranking",
)  # fmt: skip
LINK_COLUMNS = ("item", "response", "position")
MAX_STORED_ERRORS = 1000
CHUNK_ROWS = 1000
PROGRESS_KIND = "import"


class ImportCancelled(Exception):
    pass


def import_job_create(*, project: Project, user, upload, batch_name: str = "") -> ImportJob:
    """Store the uploaded file and queue its import; returns at once."""
    name = getattr(upload, "name", "") or "upload"
    try:
        file_format = detect_format(name)
    except ValueError as exc:
        raise ApplicationError(f"file {name}: {exc}", extra={"field": "file"}) from exc
    size = getattr(upload, "size", 0) or 0
    if size > settings.PREFLAB_IMPORT_MAX_BYTES:
        raise ApplicationError(
            f"file {name} is {size:,} bytes; the limit is {settings.PREFLAB_IMPORT_MAX_BYTES:,}"
        )
    path = default_storage.save(_stored_name(project, name), upload)
    with transaction.atomic():
        job = ImportJob.objects.create(
            project=project,
            uploaded_by=user,
            file_path=path,
            original_name=name[:255],
            file_format=file_format,
            file_size=size,
            batch_name=batch_name.strip()[:200],
        )
        job_enqueue_on_commit(job)
    return job


def import_job_cancel(*, job: ImportJob) -> ImportJob:
    """Cancel the import (``common.jobs.job_cancel``); one whose worker is gone stops at
    once, and its insert being one transaction, nothing was imported."""
    return job_cancel(
        job, unattended_reason="cancelled; its worker had stopped, nothing was imported"
    )


def _rows(
    job: ImportJob, project: Project, opened: list | None = None
) -> Iterator[ImportRow | RowError]:
    """Stream the file's rows; ``opened`` receives the open file (to read its position)."""
    with default_storage.open(job.file_path, "rb") as stream:
        if opened is not None:
            opened.append(stream)
        yield from iter_import_rows(
            stream,
            file_format=job.file_format,
            responses_per_item=project.responses_per_item,
            filename=job.original_name,
        )


def _validate(job: ImportJob, project: Project) -> tuple[int, int, list[dict], int]:
    """First pass: count valid rows and rows with errors, and collect every error (stored
    up to a cap)."""
    rows, bad_rows, errors, error_count = 0, 0, [], 0
    last_bad_line = None
    opened: list = []
    for entry in _rows(job, project, opened):
        if isinstance(entry, RowError):
            error_count += 1
            # A row may have several errors (they come in line order); a header is no row.
            if entry.line != last_bad_line and entry.field != "(header)":
                bad_rows, last_bad_line = bad_rows + 1, entry.line
            if len(errors) < MAX_STORED_ERRORS:
                errors.append({"line": entry.line, "field": entry.field, "message": entry.message})
        else:
            rows += 1
        # Every entry counts, valid or not: a file of mostly bad rows reports and cancels too.
        if (rows + error_count) % 5000 == 0:
            # Rows are unknown until the end, so this pass reports bytes read.
            read = min(opened[0].tell(), job.file_size) if job.file_size else 0
            progress_report(
                PROGRESS_KIND, job.pk, Progress("validating", read, job.file_size, "bytes")
            )
            if job_cancel_heard(job):
                raise ImportCancelled
    return rows, bad_rows, errors, error_count


def _batch_for(project: Project, name: str, cache: dict[str, Batch]) -> Batch:
    if name not in cache:
        cache[name], _ = Batch.objects.get_or_create(project=project, name=name)
    return cache[name]


def _insert_chunk(
    project: Project, chunk: list[ImportRow], default_batch: str, batches: dict
) -> int:
    existing = set(
        Prompt.objects.filter(
            project=project, external_id__in=[r.external_id for r in chunk]
        ).values_list("external_id", flat=True)
    )
    new_rows = [row for row in chunk if row.external_id not in existing]
    if not new_rows:
        return 0
    now = timezone.now()
    prompt_ids = reserve_ids(Prompt, len(new_rows))
    item_ids = reserve_ids(Item, len(new_rows))
    response_ids = iter(reserve_ids(Response, sum(len(r.responses) for r in new_rows)))
    prompts, responses, items, links = [], [], [], []
    for prompt_id, item_id, row in zip(prompt_ids, item_ids, new_rows, strict=True):
        prompts.append(
            (prompt_id, project.pk, row.external_id, row.messages, "import", row.metadata, now,
             "", PromptStatus.READY, "", 0, exact_key(row.messages), {}, False)
        )  # fmt: skip
        batch = _batch_for(project, row.batch or default_batch, batches)
        metadata = {**row.metadata}
        if row.preferred_index is not None:
            metadata["source_preferred_position"] = row.preferred_index
        # Ids in file order would tell annotators which response came first in the
        # source (TRL's "chosen", a fixed model order): shuffle them within the row.
        row_ids = [next(response_ids) for _ in row.responses]
        random.shuffle(row_ids)
        gold = [[row_ids[i] for i in tier] for tier in row.gold] if row.gold else None
        items.append(
            (item_id, project.pk, prompt_id, batch.pk, batch.restricted, 1, row.priority,
             project.overlap, 0, metadata, now, gold is not None, gold)
        )  # fmt: skip
        for position, (response, response_id) in enumerate(
            zip(row.responses, row_ids, strict=True)
        ):
            responses.append(
                (response_id, prompt_id, response.text, response.model_name, response.metadata,
                 now, ResponseOrigin.IMPORT, {}, False)
            )  # fmt: skip
            links.append((item_id, response_id, position))
    insert_rows(Prompt, PROMPT_COLUMNS, prompts)
    insert_rows(Response, RESPONSE_COLUMNS, responses)
    insert_rows(Item, ITEM_COLUMNS, items)
    insert_rows(ItemResponse, LINK_COLUMNS, links)
    return len(new_rows)


BATCH_NAME_ROOM = 200 - len(" (2026-01-31 12:00)")


def _stored_name(project: Project, name: str) -> str:
    """Where an upload is kept: a random name and the file's extension. The person's file
    name (kept on the job) could be longer than a file system allows (255 bytes)."""
    suffix = "".join(Path(name).suffixes)[-24:]
    return f"imports/{project.slug}/{uuid.uuid4().hex}{suffix}"


def _insert(job: ImportJob, project: Project, total: int) -> tuple[int, int]:
    """Second pass, in one transaction: every row lands, or (on any failure) none does."""
    # Batch names hold 200 characters: the file's name gives way to the date.
    default_batch = job.batch_name or (
        f"{job.original_name[:BATCH_NAME_ROOM]} ({job.created_at:%Y-%m-%d %H:%M})"
    )
    created = seen = 0
    batches: dict[str, Batch] = {}
    rows = (entry for entry in _rows(job, project) if isinstance(entry, ImportRow))
    with transaction.atomic():
        # Hold the project row: an overlap change waits until these items exist.
        project = Project.objects.select_for_update().get(pk=project.pk)
        while chunk := list(islice(rows, CHUNK_ROWS)):
            created += _insert_chunk(project, chunk, default_batch, batches)
            seen += len(chunk)
            progress_report(PROGRESS_KIND, job.pk, Progress("importing", seen, total))
            if job_cancel_heard(job):
                raise ImportCancelled
    return created, seen - created


def _refresh_planner_statistics() -> None:
    """After a big import, PostgreSQL's planner needs fresh statistics for the claim query.

    With stale ones it picks a plan whose cost grows with how many open items the
    annotator already did (benchmarks/results/findings.md); autovacuum would get there
    only later.
    """

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE annotation_item, annotation_itemresponse, annotation_assignment"
            )


def _finish(job: ImportJob, state: str, **fields) -> ImportJob:
    """Record the outcome, unless another delivery of the same job already did."""
    fields = {"state": state, "finished_at": timezone.now(), **fields}
    if ImportJob.objects.filter(pk=job.pk, state=JobState.RUNNING).update(**fields):
        for key, value in fields.items():
            setattr(job, key, value)
        return job
    return ImportJob.objects.get(pk=job.pk)


def import_job_run(*, job_id: int) -> ImportJob:
    """Run (or re-run after a worker died) an import; a finished job is returned untouched."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("project").get(pk=job_id)
        if job.is_finished:
            return job
        job.state, job.started_at = JobState.RUNNING, timezone.now()
        job.save(update_fields=["state", "started_at"])
    project = job.project
    try:
        total, bad_rows, errors, error_count = _validate(job, project)
        if error_count:
            return _finish(
                job,
                JobState.FAILED,
                # Every row read, the bad ones too: "1 row" for a 3-line file misleads.
                total_rows=total + bad_rows,
                errors=errors,
                error_count=error_count,
                error=f"{error_count:,} error(s) in {job.original_name}; nothing was imported",
            )
        created, existing = _insert(job, project, total)
    except ImportCancelled:
        return _finish(job, JobState.CANCELLED, error="cancelled; nothing was imported")
    except Exception as exc:
        logger.exception("import %s failed", job.pk)
        return _finish(job, JobState.FAILED, error=f"import failed, nothing was imported: {exc}")
    _refresh_planner_statistics()
    if created:
        prompt_bands_backfill_later(project)

        items_added(project.pk)
    progress_report(PROGRESS_KIND, job.pk, Progress("done", total, total))
    return _finish(
        job,
        JobState.SUCCEEDED,
        total_rows=total,
        created_items=created,
        existing_items=existing,
    )


def import_job_create_from_path(
    *, project: Project, user, path: str, batch_name: str = ""
) -> ImportJob:
    """Register a local file (CLI, demo loader) as an import job without queueing it."""

    source = Path(path)
    try:
        file_format = detect_format(source.name)
    except ValueError as exc:
        raise ApplicationError(f"file {source.name}: {exc}") from exc
    with source.open("rb") as handle:
        stored = default_storage.save(_stored_name(project, source.name), File(handle))
    return ImportJob.objects.create(
        project=project,
        uploaded_by=user,
        file_path=stored,
        original_name=source.name[:255],
        file_format=file_format,
        file_size=source.stat().st_size,
        batch_name=batch_name.strip()[:200],
    )
