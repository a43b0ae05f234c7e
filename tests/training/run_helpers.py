"""A small project ranked by one annotator with a finished listwise snapshot: what a
reward-model run needs (used by the worker tests and the browser test)."""

import uuid

from annotation.models import Annotation, Assignment, AssignmentState
from projects.models import Role
from tests.factories import add_member, make_items, make_project
from training.datasets.services.snapshots import snapshot_create, snapshot_export


def project_with_listwise_snapshot(items: int = 24, formats=("listwise",)):
    """(project, finished snapshot, engineer): items of K=3 ranked by id, exported in
    ``formats``."""
    project = make_project(slug=f"runs-{uuid.uuid4().hex[:8]}", responses_per_item=3, overlap=1)
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    engineer = add_member(project, Role.ENGINEER, "eng")
    for item in make_items(project, items):
        ids = sorted(item.item_responses.values_list("response_id", flat=True))
        assignment = Assignment.objects.create(
            item=item, user=annotator, project=project, state=AssignmentState.SUBMITTED,
            claimed_at=item.created_at, lease_expires_at=item.created_at, display_order=ids,
        )  # fmt: skip
        Annotation.objects.create(
            assignment=assignment, item=item, user=annotator, project=project, mode="rank",
            ranking=[[rid] for rid in ids], display_order=ids, time_spent_ms=1000,
        )  # fmt: skip
    options = {
        "formats": list(formats),
        "file_types": ["jsonl"],
        "splits": {"train": 0.75, "test": 0.25},
    }
    snapshot, _ = snapshot_create(project=project, user=engineer, options=options, enqueue=False)
    return project, snapshot_export(snapshot_id=snapshot.pk), engineer
