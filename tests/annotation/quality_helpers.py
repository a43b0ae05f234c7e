"""Helpers for quality-control tests: annotate a project by rule, through the real services."""

import random

from annotation.quality.services.stale_items import stale_items_refresh
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit


def quality_worker_pass(project) -> int:
    """What quality's worker does a second after submits: recompute the items they changed."""
    return stale_items_refresh(project_id=project.pk)


def annotate_all(project, user, rank, *, payload_extra=None, limit=10_000) -> list:
    """Claim and submit until nothing is left; ``rank(display_order)`` gives the tiers.
    Then quality's worker pass, as a second later in production."""
    annotations = []
    for _ in range(limit):
        lease = assignment_claim(user=user, project=project)
        if lease is None:
            break
        payload = {"ranking": rank(list(lease.display_order)), **(payload_extra or {})}
        annotation, _ = annotation_submit(assignment_id=lease.pk, user=user, payload=payload)
        annotations.append(annotation)
    quality_worker_pass(project)
    return annotations


def first_shown_first(display: list[int]) -> list[list[int]]:
    return [[rid] for rid in display]


def by_id(display: list[int]) -> list[list[int]]:
    return [[rid] for rid in sorted(display)]


def noisy_by_id(seed: int, flips: float):
    """Ranks by id, swapping neighbours with probability ``flips``; sometimes ties."""
    rng = random.Random(seed)

    def rank(display: list[int]) -> list[list[int]]:
        order = sorted(display)
        for i in range(len(order) - 1):
            if rng.random() < flips:
                order[i], order[i + 1] = order[i + 1], order[i]
        tiers = [[order[0]]]
        for rid in order[1:]:
            if rng.random() < 0.1:
                tiers[-1].append(rid)
            else:
                tiers.append([rid])
        return tiers

    return rank
