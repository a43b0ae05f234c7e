"""Export a snapshot of a project from the command line, with a progress bar.

Runs the same service as the Celery task, in this process: the snapshot appears in the
project's list and API like any other.
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from common.errors import ApplicationError
from common.progress import progress_bar
from training.datasets.export.binarize import Binarization
from training.datasets.export.options import AGGREGATIONS, FILE_TYPES, FORMATS, STYLES
from training.datasets.services.snapshots import snapshot_create, snapshot_export
from training.management.lookups import project_and_user


def _splits(text: str) -> dict[str, float]:
    try:
        return {k.strip(): float(v) for k, v in (part.split("=") for part in text.split(","))}
    except ValueError:
        raise CommandError(f"--splits: write them as train=0.9,test=0.1, got {text!r}") from None


class Command(BaseCommand):
    help = "Export a dataset snapshot (JSONL / Parquet) of a project's annotations."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project slug")
        parser.add_argument(
            "--format", action="append", choices=FORMATS, help="repeat for several (pairwise)"
        )
        parser.add_argument(
            "--file-type", action="append", choices=FILE_TYPES, help="jsonl and/or parquet (both)"
        )
        parser.add_argument("--aggregation", choices=AGGREGATIONS, default="per_annotator")
        parser.add_argument("--splits", default="train=0.9,test=0.1", help="train=0.8,test=0.2")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--binarization", choices=[b.value for b in Binarization], default="all"
        )
        parser.add_argument("--min-margin", type=float, default=0.0)
        parser.add_argument("--none-acceptable", choices=["exclude", "flag"], default="exclude")
        parser.add_argument("--soft-labels", action="store_true")
        parser.add_argument("--style", choices=STYLES, default="conversational")
        parser.add_argument("--round", type=int, action="append", help="only these rounds")
        parser.add_argument("--review", choices=["any", "reviewed", "accepted"], default="any")
        parser.add_argument("--min-agreement", type=float)
        parser.add_argument("--min-annotator-weight", type=float)
        parser.add_argument("--from", dest="created_from", help="annotations from this date")
        parser.add_argument("--to", dest="created_to", help="annotations up to this date")
        parser.add_argument("--tag", action="append", help="only items with this tag")
        parser.add_argument("--without-tag", action="append", help="no items with this tag")
        parser.add_argument("--name", default="")
        parser.add_argument("--as-user", default="", help="username recorded as the creator")

    def handle(self, *args, **o):
        project, user = project_and_user(o["project"], o["as_user"])
        options = {
            "formats": o["format"] or ["pairwise"],
            "file_types": o["file_type"] or list(FILE_TYPES),
            "aggregation": o["aggregation"],
            "splits": _splits(o["splits"]),
            "seed": o["seed"],
            "binarization": o["binarization"],
            "min_margin": o["min_margin"],
            "none_acceptable": o["none_acceptable"],
            "soft_labels": o["soft_labels"],
            "style": o["style"],
            "filters": {
                "rounds": o["round"] or [],
                "review": o["review"],
                "min_agreement": o["min_agreement"],
                "min_annotator_weight": o["min_annotator_weight"],
                "created_from": o["created_from"],
                "created_to": o["created_to"],
                "tags_present": o["tag"] or [],
                "tags_absent": o["without_tag"] or [],
            },
        }
        try:
            snapshot, _ = snapshot_create(
                project=project, user=user, options=options, name=o["name"], enqueue=False
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc

        def draw(progress) -> None:
            sys.stderr.write(f"\r  exporting {progress_bar(progress)}")
            sys.stderr.flush()

        snapshot = snapshot_export(snapshot_id=snapshot.pk, on_progress=draw)
        sys.stderr.write("\n")
        if snapshot.state != "succeeded":
            raise CommandError(f"snapshot {snapshot.number} {snapshot.state}: {snapshot.error}")
        self.stdout.write(f"snapshot {snapshot.number} of {project.slug}: {snapshot.path}/")
        for f in snapshot.files.all():
            self.stdout.write(f"  {f.name:<32} {f.rows:>10,} rows  {f.sha256[:16]}")
