"""Band keys for near-duplicate detection of prompts that arrived without them (imports).

Imports store every prompt's exact key inline but leave the MinHash band keys to this
backfill: at ~5 ms of pure Python per prompt they would double a large import, and only
projects where annotators write prompts ever look them up. The backfill runs in a worker
after an import into such a project and when a manager turns prompt writing on.
"""

import logging

from django.db import transaction
from django.db.models import Exists, OuterRef

from annotation import dedup
from annotation.models import Prompt, PromptBand
from common.queueing import task_send_on_commit
from projects.models import Project

logger = logging.getLogger(__name__)
CHUNK = 500


def prompt_bands_backfill(*, project_id: int) -> int:
    """Index every prompt of the project that has no band keys; returns how many."""
    project = Project.objects.get(pk=project_id)
    if not project.prompt_writing:
        return 0
    has_bands = PromptBand.objects.filter(prompt=OuterRef("pk"))
    done, after = 0, 0
    while True:
        chunk = list(
            Prompt.objects.filter(project=project, pk__gt=after)
            .exclude(Exists(has_bands))
            .order_by("pk")
            .values_list("pk", "messages")[:CHUNK]
        )
        if not chunk:
            break
        rows = [
            PromptBand(project=project, prompt_id=pk, key=key)
            for pk, messages in chunk
            for key in dedup.lsh_bands(dedup.signature(messages))
        ]
        with transaction.atomic():
            # A prompt indexed meanwhile (a second backfill) is skipped, not doubled.
            taken = set(
                PromptBand.objects.filter(prompt_id__in=[pk for pk, _ in chunk]).values_list(
                    "prompt_id", flat=True
                )
            )
            PromptBand.objects.bulk_create(r for r in rows if r.prompt_id not in taken)
        done += len(chunk) - len(taken)
        after = chunk[-1][0]
    if done:
        logger.info("indexed %d prompts of %s for near-duplicate detection", done, project.slug)
    return done


def prompt_bands_backfill_later(project: Project) -> None:
    """Queue the backfill once the current transaction commits."""
    if not project.prompt_writing:
        return

    task_send_on_commit("annotation.prompt_bands_backfill", project.pk)
