"""Simulated annotators' work for the demo: data for dashboards, snapshots and training
from the first minute, while the demo users still find items left to rank.

Each simulated annotator works through the same services as a person (acknowledge the
guidelines, claim, submit; a reviewer accepts and rejects), so every figure the pages
show is computed the real way. Their rankings start from a reference ranking written
for each demo item (``demo/data/demo_reference.json``) and are perturbed by the annotator's
own carelessness: adjacent tiers swap, neighbours are tied. That gives agreement, some
disagreement and a spread of gold scores. Seeded: every fresh demo is the same.
"""

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from annotation.models import Annotation, Item
from annotation.quality.services.review import annotation_review_accept, annotation_review_reject
from annotation.quality.services.stale_items import stale_items_refresh
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from projects.models import Project, Role
from projects.services import guideline_acknowledge, membership_set

REFERENCE = Path(__file__).resolve().parent / "data" / "demo_reference.json"
SEED = 19


@dataclass(frozen=True)
class SimulatedAnnotator:
    username: str
    swap_rate: float  # chance, per adjacent pair of tiers, that they are swapped
    tie_rate: float  # chance, per adjacent pair, that two different tiers are tied
    seconds: int  # typical time spent on an item
    rationale: bool  # writes the reason down


ANNOTATORS = (
    SimulatedAnnotator("sim.ada", swap_rate=0.05, tie_rate=0.0, seconds=110, rationale=True),
    SimulatedAnnotator("sim.bo", swap_rate=0.15, tie_rate=0.05, seconds=75, rationale=False),
    SimulatedAnnotator("sim.cy", swap_rate=0.35, tie_rate=0.15, seconds=35, rationale=False),
    SimulatedAnnotator("sim.dee", swap_rate=0.10, tie_rate=0.0, seconds=95, rationale=True),
)
REVIEWER = "sim.rev"
# 4 x 11 of the demo's 72 slots (36 items x overlap 2): about half the items are done
# twice, the rest wait for the people trying the demo.
ANNOTATIONS_EACH = 11
REFUSAL_OPENINGS = ("i'm sorry", "i can't", "i cannot", "sorry,")


def simulated_usernames() -> list[str]:
    return [a.username for a in ANNOTATORS] + [REVIEWER]


def demo_work_simulate(*, project: Project) -> int:
    """Have the simulated annotators rank part of ``project``'s items and a reviewer review
    a few; returns how many annotations were stored (0 when the work is already there)."""
    users = _users(project)
    if Annotation.objects.filter(project=project, user__in=users.values()).exists():
        return 0
    reference = json.loads(REFERENCE.read_text())
    rng = random.Random(SEED)
    refusal = project.tag_labels.filter(name="refusal").values_list("pk", flat=True).first()
    stored = []
    for _ in range(ANNOTATIONS_EACH):
        for annotator in ANNOTATORS:
            annotation = _annotate_next(
                project=project, user=users[annotator.username], annotator=annotator,
                reference=reference, rng=rng, refusal_label=refusal,
            )  # fmt: skip
            if annotation is not None:
                stored.append(annotation)
    # The figures the worker would compute a second later, now: the demo opens complete.
    stale_items_refresh(project_id=project.pk)
    _review(project=project, reviewer=users[REVIEWER], annotations=stored)
    return len(stored)


def _users(project: Project) -> dict:
    model = get_user_model()
    users = {}
    for username in simulated_usernames():
        user, created = model.objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()  # nobody logs in as a simulation
            user.save(update_fields=["password"])
        role = Role.REVIEWER if username == REVIEWER else Role.ANNOTATOR
        membership_set(project=project, username=username, role=role)
        guideline_acknowledge(project=project, user=user)
        users[username] = user
    return users


def _annotate_next(*, project, user, annotator, reference, rng, refusal_label):
    assignment = assignment_claim(user=user, project=project)
    if assignment is None:
        return None
    item = Item.objects.select_related("prompt").get(pk=assignment.item_id)
    responses = list(
        item.item_responses.order_by("position").values_list("response_id", "response__text")
    )
    entry = reference[item.prompt.external_id]
    tiers = [[responses[index][0] for index in tier] for tier in entry["ranking"]]
    payload = {
        "ranking": _perturb(tiers, annotator, rng),
        "time_spent_ms": int(annotator.seconds * 1000 * rng.uniform(0.6, 1.6)),
    }
    if annotator.rationale:
        payload["rationale"] = _rationale(
            entry["why"], file_order=[pk for pk, _ in responses], shown=assignment.display_order
        )
    if refusal_label is not None:
        payload["labels"] = [
            {"response": pk, "label": refusal_label}
            for pk, text in responses
            if text.strip().lower().startswith(REFUSAL_OPENINGS)
        ]
    annotation, _ = annotation_submit(assignment_id=assignment.pk, user=user, payload=payload)
    return annotation


def _rationale(why: str, *, file_order: list[int], shown: list[int]) -> str:
    """The reference's reason as this annotator would write it: the reference names
    responses by file position ("[2]"), a person by the letter they saw ("C") in their
    own shuffled order; and nobody is told an item is gold."""
    letters = {str(index): chr(65 + shown.index(pk)) for index, pk in enumerate(file_order)}
    named = re.sub(r"\[(\d)\]", lambda match: letters[match.group(1)], why)
    return named.removeprefix("Gold: ")


def _perturb(tiers: list[list[int]], annotator: SimulatedAnnotator, rng) -> list[list[int]]:
    """The reference tiers with this annotator's slips: swapped or merged neighbours."""
    tiers = [list(tier) for tier in tiers]
    for index in range(len(tiers) - 1):
        if rng.random() < annotator.swap_rate:
            tiers[index], tiers[index + 1] = tiers[index + 1], tiers[index]
    merged = [tiers[0]]
    for tier in tiers[1:]:
        if rng.random() < annotator.tie_rate:
            merged[-1] = merged[-1] + tier
        else:
            merged.append(tier)
    return merged


@transaction.atomic
def _review(*, project, reviewer, annotations: list) -> None:
    """Two accepted, and the sloppiest annotator's first one rejected with a reason."""
    careful = [a for a in annotations if a.user.username in {"sim.ada", "sim.dee"}]
    for annotation in careful[:2]:
        annotation_review_accept(
            project=project, annotation_id=annotation.pk, reviewer=reviewer,
            comment="Matches the guidelines: correctness first.",
        )  # fmt: skip
    sloppy = next((a for a in annotations if a.user.username == "sim.cy"), None)
    if sloppy is not None:
        annotation_review_reject(
            project=project, annotation_id=sloppy.pk, reviewer=reviewer,
            comment="Ranked a wrong answer above a correct one; re-read rule 1.",
        )  # fmt: skip
