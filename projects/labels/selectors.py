"""Reads of a project's tag set and rubric."""

from projects.labels import services as labels
from projects.models import Project


def labels_page(project: Project) -> dict:
    """What the labels page lists: the tags, the rubric dimensions, and the keys the
    ranking page keeps for itself."""
    return {
        "tag_labels": project.tag_labels.all(),
        "dimensions": project.rating_dimensions.all(),
        "reserved": " ".join(sorted(labels.RESERVED_KEYS - {" "})),
    }
