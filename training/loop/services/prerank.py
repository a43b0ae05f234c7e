"""Pre-ranking: the project's reward model scores every item's responses in the background.

Scores are stored per (response, reward model) in ``ResponseScore``, so switching the
project's reward model scores only what the new one has not seen, and old scores stay
for comparing models. The work runs on the ``gpu`` queue, never in a request; a pass
scores whatever is unscored, so it is safe to retry and to ask for often.
"""

import logging

from django.db.models import Exists, OuterRef

from annotation.models import ItemResponse
from annotation.quality.services.annotator_quality import quality_refresh_soon
from common.debounce import run_soon
from projects.models import Project
from training.loop.models import ResponseScore
from training.loop.services.acquisition import acquisition_refresh_soon
from training.runs.models import ModelArtifact
from training.runs.services.scoring import score_pairs_here

logger = logging.getLogger(__name__)

CHUNK = 256  # responses scored per forward batch and database write
DEBOUNCE_SECONDS = 5


def prerank_soon(project_id: int) -> None:
    """Ask for a pre-ranking pass after this transaction commits (debounced)."""
    if Project.objects.filter(pk=project_id, reward_model__isnull=False).exists():
        run_soon("prerank", DEBOUNCE_SECONDS, "training.project_prerank", project_id)


def unscored_pairs(project: Project, artifact: ModelArtifact) -> list[tuple[int, list, str]]:
    """(response id, prompt messages, text) of the project's item responses ``artifact``
    has not scored, oldest items first."""
    scored = ResponseScore.objects.filter(response=OuterRef("response_id"), artifact=artifact)
    rows = (
        ItemResponse.objects.filter(item__project=project)
        .exclude(Exists(scored))
        .order_by("item_id", "position")
        .values_list("response_id", "response__prompt__messages", "response__text")
    )
    seen: set[int] = set()
    pairs = []
    for response_id, messages, text in rows.iterator(chunk_size=2000):
        if response_id not in seen:  # a response may sit in several items
            seen.add(response_id)
            pairs.append((response_id, messages, text))
    return pairs


def project_prerank(*, project_id: int) -> int:
    """Score every unscored response of the project's items; returns how many were scored."""
    project = Project.objects.select_related("reward_model").get(pk=project_id)
    artifact = project.reward_model
    if artifact is None:
        return 0

    pairs = unscored_pairs(project, artifact)
    for start in range(0, len(pairs), CHUNK):
        chunk = pairs[start : start + CHUNK]
        scores = score_pairs_here(artifact.path, [(messages, text) for _, messages, text in chunk])
        ResponseScore.objects.bulk_create(
            [
                ResponseScore(response_id=response_id, artifact=artifact, score=float(score))
                for (response_id, _, _), score in zip(chunk, scores, strict=True)
            ],
            ignore_conflicts=True,  # another pass scored some of them meanwhile
        )
    if pairs:
        acquisition_refresh_soon(project.pk)
        quality_refresh_soon(project.pk)  # the dashboard's agreement with the model
    logger.info("pre-ranked %d responses of project %s", len(pairs), project.slug)
    return len(pairs)
