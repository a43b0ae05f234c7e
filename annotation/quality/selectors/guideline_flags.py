"""Reads for flagging work done under superseded guideline versions."""

from annotation.quality.services.guideline_flags import superseded_annotations
from projects.models import Project
from projects.selectors import guideline_current


def guideline_flag_choices(project: Project) -> dict:
    """What the flag page offers: the project's tag names, the current guideline and how
    many counted annotations were made under an older version."""
    return {
        "labels": list(project.tag_labels.values_list("name", flat=True)),
        "current": guideline_current(project),
        "superseded": superseded_annotations(project=project).count(),
    }
