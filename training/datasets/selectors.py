"""Read queries of the training app."""

from django.shortcuts import get_object_or_404

from common.labels import human, option_label
from projects.permissions import Capability
from projects.selectors import project_get_for_user
from training.datasets.models import DatasetSnapshot


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
