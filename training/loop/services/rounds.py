"""Rounds: "start the next round" picks prompts and models, generates, opens the items.

Prompt sources:
- ``new``: prompts of the project that have no item yet (imported or written, waiting),
  leaving out those people are writing responses for and those an unfinished job has;
- ``held_out``: prompts outside the train split of the newest finished snapshot (the
  same split function the export used, so they are truly unseen by its models);
- ``uncertain``: prompts of the newest round the project's reward model has scored,
  whose responses it separates least (smallest margin between two), most uncertain first.
"""

from django.db import transaction
from django.db.models import Exists, Max, OuterRef

from annotation import dedup
from annotation.models import Item, Prompt, PromptStatus
from common.errors import ApplicationError, ConflictError
from common.idempotency import create_once
from common.jobs import JobState
from projects.models import Project
from training.datasets.export.options import options_check
from training.datasets.export.splits import split_of
from training.datasets.models import DatasetSnapshot
from training.loop import acquisition_rules
from training.loop.models import GenerationJob, Generator, Round
from training.loop.services.acquisition import item_scores
from training.loop.services.generation_run import generation_job_create
from training.runs.models import ArtifactKind

MAX_ROUND_PROMPTS = 10_000
NUMBERING_ATTEMPTS = 3


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(f"{field}: {message}", extra={"field": field})


def _unavailable(reason: str) -> ApplicationError:
    """A prompt source that cannot offer prompts now, said in the loop page's words."""
    return ApplicationError(reason, extra={"field": "prompt_source"})


def current_round(project: Project) -> int:
    """The highest round number among the project's items and rounds (1 when none)."""
    items = Item.objects.filter(project=project).aggregate(top=Max("round"))["top"] or 1
    rounds = Round.objects.filter(project=project).aggregate(top=Max("number"))["top"] or 0
    return max(items, rounds)


def prompts_in_flight(project: Project) -> set[int]:
    """Ids of the project's prompts an unfinished generation job is answering."""
    return {
        pk
        for ids in GenerationJob.objects.filter(
            project=project, state__in=[JobState.QUEUED, JobState.RUNNING]
        ).values_list("prompt_ids", flat=True)
        for pk in ids
    }


def _new_prompts(project: Project) -> list[int]:
    """Prompts with no item, not waiting for people to write their responses, and not
    already being answered by an unfinished job."""
    has_item = Item.objects.filter(prompt=OuterRef("pk"))
    in_flight = prompts_in_flight(project)
    rows = (
        Prompt.objects.filter(project=project)
        .exclude(Exists(has_item))
        .exclude(status=PromptStatus.NEEDS_RESPONSES)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    return [pk for pk in rows if pk not in in_flight]


def _held_out_prompts(project: Project) -> list[int]:
    snapshot = (
        DatasetSnapshot.objects.filter(project=project, state=JobState.SUCCEEDED)
        .order_by("-number")
        .first()
    )
    if snapshot is None:
        raise _unavailable("Held-out prompts need a finished snapshot (its split): create one")
    # Through the export's own option check: it puts the splits in their canonical order,
    # which the split function depends on (PostgreSQL's jsonb does not keep key order).
    options = options_check(snapshot.options)
    ratios, seed = options.splits, options.seed
    if set(ratios) <= {"train"}:
        raise _unavailable(f"Snapshot {snapshot.number} holds nothing out (all train)")
    rows = Prompt.objects.filter(project=project).order_by("id")
    return [
        pk
        for pk, key, messages in rows.values_list("pk", "dedup_key", "messages").iterator()
        if split_of(key or dedup.exact_key(messages), seed=seed, ratios=ratios) != "train"
    ]


def _uncertain_prompts(project: Project) -> list[int]:
    if project.reward_model_id is None:
        raise _unavailable(
            "Unsure prompts need a reward model: choose one under Pre-ranking on the loop page"
        )
    # The latest round whose items the model has scored (a round still generating, or one
    # whose job failed, has nothing to be unsure about).
    rounds = (
        Item.objects.filter(project=project, is_gold=False)
        .values_list("round", flat=True)
        .distinct()
        .order_by("-round")
    )
    latest, scored = Item.objects.none(), {}
    for number in rounds:
        latest = Item.objects.filter(project=project, round=number, is_gold=False)
        scored = {i: s for i, s in item_scores(project, latest).items() if len(s) >= 2}
        if scored:
            break
    item_prompt = dict(latest.values_list("pk", "prompt_id"))
    margins = sorted(
        (acquisition_rules.reward_margin(list(scores.values())), item_id)
        for item_id, scores in scored.items()
    )
    ordered, seen = [], set()
    for _, item_id in margins:
        prompt_id = item_prompt[item_id]
        if prompt_id not in seen:
            seen.add(prompt_id)
            ordered.append(prompt_id)
    return ordered


SOURCES = {
    Round.PromptSource.NEW: _new_prompts,
    Round.PromptSource.HELD_OUT: _held_out_prompts,
    Round.PromptSource.UNCERTAIN: _uncertain_prompts,
}


def round_prompts(project: Project, source: str, count: int) -> list[int]:
    if source not in SOURCES:
        raise _invalid("prompt_source", f"must be one of {', '.join(SOURCES)}")
    if not 1 <= count <= MAX_ROUND_PROMPTS:
        raise _invalid("prompts", f"must be between 1 and {MAX_ROUND_PROMPTS:,}")
    chosen = SOURCES[source](project)[:count]
    if not chosen:
        raise ApplicationError(NO_PROMPTS[source], extra={"field": "prompt_source"})
    return chosen


# What an empty source means and what to do, in the loop page's words.
NO_PROMPTS = {
    Round.PromptSource.NEW: "No new prompts are left: every prompt of the project is already "
    "in a round. Import or write prompts, or pick another prompt source.",
    Round.PromptSource.HELD_OUT: "No held-out prompts: the latest snapshot's split holds "
    "none out. Pick another prompt source.",
    Round.PromptSource.UNCERTAIN: "No prompts the reward model is unsure about: no round's "
    "items have its scores yet. Pick another prompt source.",
}


def _generators(project: Project, generator_ids) -> list[Generator]:
    if not generator_ids:
        generators = list(project.generators.filter(active=True))
    else:
        wanted = {int(g) for g in generator_ids}
        generators = list(project.generators.filter(pk__in=wanted))
        if len(generators) != len(wanted):
            raise _invalid("generators", "not all are generators of this project")
    if not generators:
        raise _invalid("generators", "the project has no active generator; add one first")
    return generators


def round_start(
    *,
    project: Project,
    user,
    prompt_source: str,
    prompts: int,
    generator_ids=None,
    client_token: str | None = None,
    enqueue: bool = True,
) -> tuple[Round, bool]:
    """Open round N+1: choose prompts, queue their generation; (round, created).

    A retried request with the same ``client_token`` returns the round it made.
    """

    def create(token: str | None) -> Round:
        # Chosen only for a new token: a retry must not look for prompts again (its
        # first try's job holds them) before it finds the round it made.
        generators = _generators(project, generator_ids)
        prompt_ids = round_prompts(project, prompt_source, prompts)
        return _round_create(project, user, prompt_source, prompt_ids, generators, token, enqueue)

    return create_once(
        Round,
        client_token=client_token,
        owner={"project": project, "created_by": user},
        create=create,
        # Two starts at once: the other may take the number; choose it again.
        attempts=NUMBERING_ATTEMPTS,
        busy="another round was started at the same moment; start this one again",
    )


def _round_still_generating(project: Project) -> None:
    """A round starts only once the one before it has its answers (or was cancelled):
    rounds measure each policy against the last, so they must not overlap."""
    busy = (
        GenerationJob.objects.filter(
            project=project, round__isnull=False, state__in=[JobState.QUEUED, JobState.RUNNING]
        )
        .select_related("round")
        .first()
    )
    if busy is not None:
        raise ConflictError(
            f"round {busy.round.number} is still generating ({busy.prompts_done} of "
            f"{busy.prompts_total} prompts answered): wait for it to finish, or cancel it "
            "on the loop page, then start the next round",
            extra={"round": busy.round.number},
        )


def _round_create(project, user, prompt_source, prompt_ids, generators, client_token, enqueue):
    with transaction.atomic():
        # One round start per project at a time: the check below, then the create.
        Project.objects.select_for_update().filter(pk=project.pk).values_list("pk").first()
        _round_still_generating(project)
        number = current_round(project) + 1
        previous = Round.objects.filter(project=project, number__lt=number).first()
        policy, baseline = _policy_and_baseline(generators, previous)
        round = Round.objects.create(
            project=project, number=number, prompt_source=prompt_source, created_by=user,
            client_token=client_token or None, policy=policy, baseline=baseline,
            reward_model_id=project.reward_model_id,
        )  # fmt: skip
        round.generators.set(generators)
        generation_job_create(
            project=project, user=user, prompt_ids=prompt_ids, generators=generators,
            round=round, item_round=number, enqueue=enqueue,
        )  # fmt: skip
    return round


def _policy_and_baseline(generators: list[Generator], previous: Round | None):
    """The round's policy and what the arena compares it with; both must write responses
    in the round (else no item holds the two side by side). The baseline is the previous
    round's policy when it is among the generators, else the older of the others; the
    round's policy is the newest other one. One policy alone has no baseline."""
    policies = list(
        {
            g.policy.pk: g.policy
            for g in generators
            if g.policy_id and g.policy.kind == ArtifactKind.POLICY
        }.values()
    )
    if not policies:
        return None, None
    newest_first = sorted(policies, key=lambda p: -p.pk)
    if len(policies) == 1:
        return policies[0], None
    by_pk = {p.pk: p for p in policies}
    if previous and previous.policy_id in by_pk:
        baseline = by_pk[previous.policy_id]
    else:
        baseline = newest_first[1]
    policy = next(p for p in newest_first if p.pk != baseline.pk)
    return policy, baseline
