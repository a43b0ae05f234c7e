"""Read queries of the training app."""

import json
from itertools import islice

from django.shortcuts import get_object_or_404

from common.jobs import JobState, job_waiting
from common.labels import human, option_label, option_rows
from projects.permissions import Capability
from projects.selectors import project_get_for_user
from training.datasets.export.options import ExportOptions, Filters
from training.datasets.export.splits import SPLIT_NAMES
from training.datasets.models import DatasetSnapshot, SnapshotFile
from training.datasets.services.snapshots import snapshot_file_open, snapshot_progress


def snapshots_of(project):
    return DatasetSnapshot.objects.filter(project=project).select_related("created_by")


def snapshot_for_user(*, snapshot_id: int, user) -> DatasetSnapshot:
    """The snapshot if the user may export in its project; 404 otherwise (never a hint
    that a snapshot exists in someone else's project)."""
    snapshot = get_object_or_404(DatasetSnapshot.objects.select_related("project"), pk=snapshot_id)
    project_get_for_user(slug=snapshot.project.slug, user=user, capability=Capability.EXPORT)
    return snapshot


# Why a format can come out empty, in words; the rest share the general reason.
_EMPTY_BECAUSE = {
    "ratings": "no annotation in it rated responses (only rating projects have ratings)",
    "spans": "no annotation in it tagged a span or labelled a response",
}


def snapshot_empty_outputs(snapshot: DatasetSnapshot) -> list[str]:
    """What a finished snapshot asked for and did not get: each format, or split of a
    format, that came out with 0 rows, and why when the reason is known."""
    counts = (snapshot.manifest or {}).get("counts") or {}
    out = []
    for fmt, per_split in counts.items():
        label = human(fmt)
        if not any(per_split.values()):
            reason = _EMPTY_BECAUSE.get(fmt, "no item passed the filters with a row of it")
            out.append(f"The {label} format has no rows: {reason}.")
            continue
        for split, rows in per_split.items():
            if not rows:
                out.append(
                    f"The {option_label(split).lower()} split of {label} has no rows: too few "
                    "items (or prompts) for its share."
                )
    return out


# --- the snapshot page -----------------------------------------------------------------

PREVIEW_ROWS = 5
SPLIT_ORDER = ("train", "validation", "test")
PREVIEW_CHARS = 240
# The format the preview shows, the first the snapshot has, and its columns.
PREVIEW_FORMATS = {
    "pairwise": ("Prompt", "Chosen", "Rejected"),
    "listwise": ("Prompt", "Ranked first", "Ranked last"),
    "sft": ("Prompt", "Response"),
    "ratings": ("Prompt", "Response", "Rating"),
}


def snapshot_page(snapshot: DatasetSnapshot) -> dict:
    """The snapshot page: progress while it exports; once done its files by format, rows
    per split, what came out empty, and a preview of its first rows."""
    done = snapshot.state == JobState.SUCCEEDED
    files = list(snapshot.files.all()) if done else []
    formats = snapshot_formats(files)
    return {
        "progress": snapshot_progress(snapshot),
        "files": files,
        "formats": formats,
        "format_labels": [f["label"] for f in formats if f["format"]],
        "split_rows": snapshot_split_rows(snapshot) if done else None,
        "empty_outputs": snapshot_empty_outputs(snapshot) if done else [],
        "preview": snapshot_preview(snapshot, files) if done else None,
        "waiting": None if snapshot.is_finished else job_waiting(snapshot),
        "option_rows": snapshot_option_rows(snapshot.options),
    }


def _ordered(values: dict, order) -> dict:
    """``values`` with the keys of ``order`` first, in that order, then the rest."""
    rank = {key: i for i, key in enumerate(order)}
    return dict(sorted(values.items(), key=lambda item: rank.get(item[0], len(rank))))


def snapshot_option_rows(options: dict) -> list[tuple[str, str, str]]:
    """The snapshot's options table in the order the export declares them (the stored
    JSON sorts its keys by length): formats first, splits train, validation, test, the
    filters last."""
    options = dict(options or {})
    if isinstance(options.get("splits"), dict):
        options["splits"] = _ordered(options["splits"], SPLIT_NAMES)
    if isinstance(options.get("filters"), dict):
        options["filters"] = _ordered(options["filters"], Filters.__dataclass_fields__)
    return option_rows(_ordered(options, ExportOptions.__dataclass_fields__))


def snapshot_formats(files: list[SnapshotFile]) -> list[dict]:
    """Per format (in the files' order, the card and manifest last): its label and its
    files (split, type, rows, size) to download."""
    formats: dict[str, dict] = {}
    for f in files:
        label = human(f.format) if f.format else "Card and manifest"
        formats.setdefault(f.format, {"format": f.format, "label": label, "files": []})
        formats[f.format]["files"].append(f)
    return sorted(formats.values(), key=lambda e: e["format"] == "")


def snapshot_split_rows(snapshot: DatasetSnapshot) -> dict:
    """Rows per format and split, from the manifest: the splits, and per format its label,
    its count per split and its total."""
    counts = (snapshot.manifest or {}).get("counts") or {}
    found = {s for per in counts.values() for s in per}
    splits = [s for s in SPLIT_ORDER if s in found] + sorted(found - set(SPLIT_ORDER))
    rows = [
        {"format": human(fmt), "counts": [per.get(s, 0) for s in splits],
         "total": sum(per.values())}
        for fmt, per in counts.items()
    ]  # fmt: skip
    return {"splits": [option_label(s) for s in splits], "rows": rows}


def _text(value) -> str:
    """A row's prompt or response in plain text (a conversation as "role: text" lines),
    cut to ``PREVIEW_CHARS``."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        value = value[0].get("content", "")  # one turn: its text, no "assistant:" before it
    if isinstance(value, list):
        value = "\n".join(
            f"{m.get('role', '')}: {m.get('content', '')}" if isinstance(m, dict) else str(m)
            for m in value
        )
    elif not isinstance(value, str):
        value = "" if value is None else json.dumps(value, ensure_ascii=False)
    return value if len(value) <= PREVIEW_CHARS else value[: PREVIEW_CHARS - 1].rstrip() + "…"


def _cells(fmt: str, row: dict) -> list[str]:
    if fmt == "pairwise":
        return [_text(row.get("prompt")), _text(row.get("chosen")), _text(row.get("rejected"))]
    if fmt == "listwise":
        responses, ranking = row.get("responses") or [], row.get("ranking") or []
        first = responses[ranking[0][0]] if ranking and ranking[0] else None
        last = responses[ranking[-1][0]] if len(ranking) > 1 and ranking[-1] else None
        return [_text(row.get("prompt")), _text(first), _text(last)]
    if fmt == "sft":
        messages = row.get("messages") or []
        return [_text(messages[:-1]), _text(messages[-1:])]
    return [_text(row.get("prompt")), _text(row.get("response")), _text(row.get("rating"))]


def snapshot_preview(snapshot: DatasetSnapshot, files: list[SnapshotFile]) -> dict | None:
    """The first ``PREVIEW_ROWS`` rows of the train split of the snapshot's first format
    with one (pairwise, listwise, sft, ratings), read from its published JSONL file; None
    when it has none."""
    by_name = {(f.format, f.split, f.file_type): f for f in files if f.rows}
    for fmt, columns in PREVIEW_FORMATS.items():
        found = by_name.get((fmt, "train", "jsonl"))
        if found is None:
            continue
        with snapshot_file_open(snapshot, found.name) as stream:
            lines = [line for line in islice(stream, PREVIEW_ROWS) if line.strip()]
        rows = [_cells(fmt, json.loads(line)) for line in lines]
        return {"format": human(fmt), "file": found.name, "total": found.rows,
                "columns": columns, "rows": rows}  # fmt: skip
    return None
