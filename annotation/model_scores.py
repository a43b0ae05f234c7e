"""Scores a reward model gave responses, read through a port that ``training`` fills.

The scores live in ``training`` (``ResponseScore``, beside the models that produce them),
which sits above ``annotation`` in the layer order. Two things down here read them: the
claim fixes the model's suggested order of an assisted item, and quality compares people
with the model. Rather than import upward, ``training`` registers its selector here from
its ``AppConfig.ready``; without it every response is unscored (the project acts blind).
"""

from collections.abc import Callable, Collection

from projects.models import Project

# (project, artifact_id=None, response_ids=None) -> {response id: score}
ScoreSource = Callable[..., dict[int, float]]

_source: ScoreSource | None = None


def score_source_register(source: ScoreSource) -> None:
    global _source
    _source = source


def response_scores(
    project: Project, *, artifact_id: int | None = None, response_ids: Collection[int] | None = None
) -> dict[int, float]:
    """Response id → score under ``artifact_id`` (the project's reward model by default),
    for the given responses or every scored response of the project."""
    if _source is None:
        return {}
    return _source(project, artifact_id=artifact_id, response_ids=response_ids)
