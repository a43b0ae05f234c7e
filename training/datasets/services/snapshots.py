"""Create, cancel and run dataset snapshots.

A run writes every file into a private scratch folder next to the published ones and
publishes them with one rename (or, on storage without folders, uploads them and then
flips the state): until the snapshot says ``succeeded`` nobody sees a file of it, a
worker killed half-way leaves only scratch that the retry removes, and the retry writes
the same bytes (rows in item order, splits from the seed, no timestamps in the data).
"""

import json
import os
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotation.models import Annotation
from annotation.quality.services.stale_items import stale_items_refresh
from common.errors import ApplicationError, NotFoundError
from common.idempotency import create_once
from common.jobs import JobState, job_cancel, job_cancel_heard, job_enqueue_on_commit
from common.pass_lock import pass_lock
from common.progress import (
    Progress,
    progress_read,
    progress_report,
)
from projects.models import Project, RankingMode
from training.datasets.export.card import card_text
from training.datasets.export.options import ExportOptions, options_check
from training.datasets.export.rows import BUILDERS, RowContext
from training.datasets.export.splits import split_of
from training.datasets.export.writers import WRITERS, file_sha256, schema_of
from training.datasets.models import DatasetSnapshot, SnapshotFile
from training.datasets.services.export_source import annotator_hasher, items_queryset, source_items

PROGRESS_KIND = "snapshot"


class ExportCancelled(Exception):
    pass


def snapshot_create(
    *,
    project: Project,
    user,
    options: dict,
    name: str = "",
    client_token: str | None = None,
    enqueue: bool = True,
) -> tuple[DatasetSnapshot, bool]:
    """A queued snapshot (validated options), and whether it is new: the same client
    token returns the snapshot it made before instead of exporting twice. ``enqueue``
    sends it to a worker once committed (the CLI runs it itself instead)."""
    try:
        checked = options_check(options)
    except ValueError as exc:
        field = str(exc).split(":", 1)[0]
        raise ApplicationError(str(exc), extra={"field": field}) from exc
    _formats_producible(project, checked)

    def create(token: str | None) -> DatasetSnapshot:
        numbers = DatasetSnapshot.objects.filter(project=project).aggregate(n=Max("number"))
        return DatasetSnapshot.objects.create(
            project=project,
            number=(numbers["n"] or 0) + 1,
            name=name[:200],
            created_by=user,
            options=checked.as_dict(),
            client_token=token,
        )

    # Three tries: two snapshots started at once may take one number.
    snapshot, created = create_once(
        DatasetSnapshot,
        client_token=client_token,
        owner={"project": project, "created_by": user},
        create=create,
        attempts=3,
        busy="could not number the snapshot; try again",
    )
    if created and enqueue:
        job_enqueue_on_commit(snapshot)
    return snapshot, created


def _formats_producible(project: Project, options: ExportOptions) -> None:
    """Refuse a format the project cannot fill, rather than finish with no rows of it:
    ratings come only from annotators who rated responses."""
    if "ratings" not in options.formats or project.ranking_mode == RankingMode.RATE:
        return
    # A project switched from rating to ranking keeps its earlier ratings: they export.
    if Annotation.objects.filter(project=project).exclude(ratings={}).exists():
        return
    mode = "ranks" if project.ranking_mode == RankingMode.RANK else "compares pairs of"
    raise ApplicationError(
        f"formats: this project {mode} responses and nobody rated one, so the ratings "
        "format would be empty; choose pairwise, listwise or demonstrations (SFT)",
        extra={"field": "formats"},
    )


def snapshot_cancel(*, snapshot: DatasetSnapshot) -> DatasetSnapshot:
    """A queued snapshot is cancelled at once, a running one after the chunk it is on, or
    at once (its scratch folder removed) when no live worker runs it any more."""
    return job_cancel(
        snapshot, unattended_reason="cancelled; its worker had stopped, nothing was published"
    )


def snapshot_progress(snapshot: DatasetSnapshot) -> Progress:
    """Items done of the total: live from the shared cache while the export runs (the row
    is written only at start and end), from the row once it has finished."""
    live = None if snapshot.is_finished else progress_read(PROGRESS_KIND, snapshot.pk)
    if live:
        return live
    if snapshot.state == JobState.SUCCEEDED:
        return Progress("done", snapshot.rows_total, snapshot.rows_total, "items")
    return Progress(snapshot.state, snapshot.rows_done, snapshot.rows_total, "items")


# --- the run -------------------------------------------------------------------------


def snapshot_folder(snapshot: DatasetSnapshot) -> str:
    return f"snapshots/{snapshot.project.slug}/{snapshot.number}"


def _scratch_root() -> Path:
    """Where a run writes: beside the published folder when storage is a local folder
    (so publishing is one rename), else a local temporary folder."""
    try:
        root = Path(default_storage.path("snapshots/.partial"))
    except NotImplementedError:
        root = Path(settings.DATA_DIR) / "tmp" / "snapshots"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _scratch_clear(snapshot: DatasetSnapshot) -> None:
    """Remove what an earlier, killed run of this snapshot left behind."""
    snapshot_scratch_clear(snapshot.pk)


def snapshot_scratch_clear(snapshot_id: int) -> None:
    """Remove the scratch folders of a snapshot no process is writing (killed, cancelled,
    reaped)."""
    for leftover in _scratch_root().glob(f"{snapshot_id}-*"):
        shutil.rmtree(leftover, ignore_errors=True)


class _Files:
    """The open writers of a run, by (format, split, file type)."""

    def __init__(self, folder: Path, options: ExportOptions):
        self.folder, self.options, self.open = folder, options, {}

    def write(self, fmt: str, split: str, rows: list[dict]) -> None:
        for file_type in self.options.file_types:
            key = (fmt, split, file_type)
            if key not in self.open:
                (self.folder / fmt).mkdir(exist_ok=True)
                path = self.folder / fmt / f"{split}.{file_type}"
                self.open[key] = WRITERS[file_type](path, schema_of(fmt, self.options.style))
            self.open[key].write(rows)

    def close(self) -> list[dict]:
        files = []
        for (fmt, split, file_type), writer in sorted(self.open.items()):
            digest = writer.close()
            files.append(
                {
                    "name": f"{fmt}/{split}.{file_type}",
                    "format": fmt,
                    "split": split,
                    "file_type": file_type,
                    "rows": writer.rows,
                    "size": writer.path.stat().st_size,
                    "sha256": digest,
                }
            )
        return files


def _export(
    snapshot: DatasetSnapshot, folder: Path, options: ExportOptions, total: int, on_progress
) -> dict:
    project = snapshot.project
    hasher = annotator_hasher(project)
    files = _Files(folder, options)
    counts = {fmt: dict.fromkeys(options.splits, 0) for fmt in options.formats}
    # Counts and bounds, not sets of ids: an annotation belongs to one item and each item
    # is read once, so counting is exact and memory stays flat however large the project.
    seen = {"items": 0, "annotations": 0, "annotators": set(), "guidelines": set()}
    ids = {"min": None, "max": None}
    for chunk in source_items(project, options):
        per_split: dict[tuple[str, str], list[dict]] = {}
        for item in chunk:
            split = split_of(item.group_key, seed=options.seed, ratios=options.splits)
            ctx = RowContext(item, options, hasher)
            for fmt in options.formats:
                rows = BUILDERS[fmt](ctx)
                if rows:
                    per_split.setdefault((fmt, split), []).extend(rows)
            for j in item.judgements:
                seen["annotations"] += 1
                if ids["min"] is None or j.annotation_id < ids["min"]:
                    ids["min"] = j.annotation_id
                if ids["max"] is None or j.annotation_id > ids["max"]:
                    ids["max"] = j.annotation_id
                seen["annotators"].add(j.user_id)
                if j.guideline_version is not None:
                    seen["guidelines"].add(j.guideline_version)
        for (fmt, split), rows in per_split.items():
            files.write(fmt, split, rows)
            counts[fmt][split] += len(rows)
        seen["items"] += len(chunk)
        progress = Progress("exporting", seen["items"], total, "items")
        progress_report(PROGRESS_KIND, snapshot.pk, progress)
        if on_progress:
            on_progress(progress)
        if job_cancel_heard(snapshot):
            files.close()
            raise ExportCancelled
    written = files.close()
    return {
        "files": written,
        "counts": counts,
        "items": seen["items"],
        "annotations": seen["annotations"],
        "annotators": len(seen["annotators"]),
        "guideline_versions": sorted(seen["guidelines"]),
        "annotation_ids": ids,
    }


def _manifest(snapshot: DatasetSnapshot, options: ExportOptions, result: dict) -> dict:
    project = snapshot.project
    return {
        "preflab_snapshot": 1,
        "snapshot": snapshot.number,
        "project": {"slug": project.slug, "name": project.name, "mode": project.ranking_mode},
        "options": options.as_dict(),
        **{k: result[k] for k in ("counts", "items", "annotations", "annotators")},
        "guideline_versions": result["guideline_versions"],
        "annotation_ids": result["annotation_ids"],
        "files": result["files"],
    }


def _publish(snapshot: DatasetSnapshot, scratch: Path) -> str:
    target = snapshot_folder(snapshot)
    try:
        final = Path(default_storage.path(target))
    except NotImplementedError:
        for path in sorted(p for p in scratch.rglob("*") if p.is_file()):
            name = f"{target}/{path.relative_to(scratch).as_posix()}"
            with open(path, "rb") as f:
                default_storage.save(name, File(f))
        shutil.rmtree(scratch, ignore_errors=True)
        return target
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():  # a run that published and died before saying so: same bytes
        shutil.rmtree(final)
    os.replace(scratch, final)
    return target


def _finish(snapshot: DatasetSnapshot, state: str, **fields) -> DatasetSnapshot:
    """Record the outcome, unless the snapshot finished meanwhile (cancelled or reaped
    while its worker was thought gone): the first verdict stays."""
    fields.update(state=state, finished_at=timezone.now())
    unfinished = (JobState.QUEUED, JobState.RUNNING)
    DatasetSnapshot.objects.filter(pk=snapshot.pk, state__in=unfinished).update(**fields)
    snapshot.refresh_from_db()
    return snapshot


def snapshot_export(*, snapshot_id: int, on_progress=None) -> DatasetSnapshot:
    """Run the export of a queued (or interrupted) snapshot; finished ones are left as
    they are, so a redelivered task does nothing twice. ``on_progress(Progress)`` is
    called after each chunk (the CLI draws its bar with it)."""
    with pass_lock(f"snapshot:{snapshot_id}") as held:
        snapshot = DatasetSnapshot.objects.select_related("project").get(pk=snapshot_id)
        if not held or snapshot.is_finished:  # another worker is on it, or it is done
            return snapshot
        return _run(snapshot, on_progress)


def _run(snapshot: DatasetSnapshot, on_progress) -> DatasetSnapshot:
    if job_cancel_heard(snapshot):
        return _finish(snapshot, JobState.CANCELLED, error="cancelled")
    options = options_check(snapshot.options)
    # Agreement filters and consensus read the items' figures: none may lag a submit.
    stale_items_refresh(project_id=snapshot.project_id)
    total = items_queryset(snapshot.project, options).count()
    DatasetSnapshot.objects.filter(pk=snapshot.pk).update(
        state=JobState.RUNNING, started_at=timezone.now(), rows_total=total, rows_done=0
    )
    _scratch_clear(snapshot)
    scratch = _scratch_root() / f"{snapshot.pk}-{uuid.uuid4().hex}"
    scratch.mkdir(parents=True)
    try:
        result = _export(snapshot, scratch, options, total, on_progress)
        manifest = _manifest(snapshot, options, result)
        (scratch / "README.md").write_text(card_text(manifest), encoding="utf-8")
        manifest["files"].append(_describe(scratch / "README.md", "README.md", "md"))
        (scratch / "manifest.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8"
        )
        listed = manifest["files"] + [_describe(scratch / "manifest.json", "manifest.json", "json")]
        path = _publish(snapshot, scratch)
    except ExportCancelled:
        shutil.rmtree(scratch, ignore_errors=True)
        return _finish(snapshot, JobState.CANCELLED, error="cancelled; nothing was published")
    except Exception as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        _finish(snapshot, JobState.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    with transaction.atomic():
        SnapshotFile.objects.filter(snapshot=snapshot).delete()
        SnapshotFile.objects.bulk_create(
            SnapshotFile(snapshot=snapshot, **{k: f[k] for k in _FILE_FIELDS}) for f in listed
        )
        done = {"manifest": manifest, "path": path, "rows_done": total, "error": ""}
        snapshot = _finish(snapshot, JobState.SUCCEEDED, **done)
    progress_report(PROGRESS_KIND, snapshot.pk, Progress("done", total, total, "items"))
    return snapshot


_FILE_FIELDS = ("name", "format", "split", "file_type", "rows", "size", "sha256")


def _describe(path: Path, name: str, file_type: str) -> dict:
    return {
        "name": name,
        "format": "",
        "split": "",
        "file_type": file_type,
        "rows": 0,
        "size": path.stat().st_size,
        "sha256": file_sha256(path),
    }


def snapshot_file_open(snapshot: DatasetSnapshot, name: str):
    """An open binary file of a published snapshot (names come from its file list)."""
    if snapshot.state != JobState.SUCCEEDED or not snapshot.files.filter(name=name).exists():
        raise NotFoundError(f"snapshot {snapshot.number} has no file {name!r}")
    return default_storage.open(f"{snapshot.path}/{name}", "rb")
