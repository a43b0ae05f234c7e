"""Per-round figures for the project page: items, annotations, agreement, the reward
model's accuracy on the round's fresh labels, and the arena (the round's policy against
its baseline, as annotators judged them)."""

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Avg, Count, Max

from annotation.models import (
    Annotation,
    AnnotationKind,
    AnnotationStatus,
    Item,
    Response,
    ResponseOrigin,
)
from annotation.quality.metrics.rankings import score_agreement, tier_of
from annotation.quality.models import ItemStats
from annotation.selectors import item_complete
from common.errors import ApplicationError, NotFoundError
from common.jobs import Waiting
from common.progress import progress_read
from projects.models import Project
from projects.permissions import Capability
from projects.selectors import project_get_for_user
from training.loop.charts import round_charts
from training.loop.models import GenerationJob, Generator, ResponseScore, Round
from training.loop.services.generation_run import generation_job_waiting
from training.loop.services.rounds import SOURCES

CACHE_SECONDS = 3600


@dataclass
class Arena:
    wins: int = 0
    ties: int = 0
    losses: int = 0

    @property
    def comparisons(self) -> int:
        return self.wins + self.ties + self.losses

    @property
    def win_rate(self) -> float | None:
        """Ties count half."""
        return (self.wins + self.ties / 2) / self.comparisons if self.comparisons else None


@dataclass
class RoundStats:
    number: int
    round: Round | None
    items: int = 0
    items_complete: int = 0
    annotations: int = 0
    agreement: float | None = None
    rm_correct: float = 0.0
    rm_pairs: int = 0
    rm_name: str = ""  # the reward model judged: the round's own, else the project's
    arena: Arena = field(default_factory=Arena)
    job: GenerationJob | None = None
    job_percent: int = 0
    job_waiting: Waiting | None = None  # why its unfinished job does not move

    @property
    def rm_accuracy(self) -> float | None:
        return self.rm_correct / self.rm_pairs if self.rm_pairs else None


def round_stats(project: Project) -> list[RoundStats]:
    """Newest round first."""
    rounds = {r.number: r for r in Round.objects.filter(project=project).select_related(
        "policy", "baseline", "reward_model"
    )}  # fmt: skip
    stats: dict[int, RoundStats] = {n: RoundStats(n, r) for n, r in rounds.items()}
    items = Item.objects.filter(project=project, is_gold=False)
    for row in items.values("round").annotate(
        n=Count("id"), complete=Count("id", filter=item_complete(project))
    ):
        entry = stats.setdefault(row["round"], RoundStats(row["round"], None))
        entry.items, entry.items_complete = row["n"], row["complete"]
    for row in (
        ItemStats.objects.filter(item__project=project, agreement__isnull=False)
        .values("item__round")
        .annotate(mean=Avg("agreement"))
    ):
        if row["item__round"] in stats:
            stats[row["item__round"]].agreement = row["mean"]
    _judgements(project, stats, rounds)
    for job in GenerationJob.objects.filter(round__project=project).select_related("round"):
        entry = stats.get(job.round.number)
        if entry is not None and (entry.job is None or job.pk > entry.job.pk):
            entry.job = job
            live = progress_read("generation", job.pk)
            done = live.done if live and not job.is_finished else job.prompts_done
            entry.job_percent = int(100 * done / job.prompts_total) if job.prompts_total else 0
    for entry in stats.values():
        if entry.job is not None and not entry.job.is_finished:
            entry.job_waiting = generation_job_waiting(entry.job)
    return [stats[n] for n in sorted(stats, reverse=True)]


def _counted(project: Project):
    return Annotation.objects.filter(
        project=project, kind=AnnotationKind.JUDGEMENT, status=AnnotationStatus.ACTIVE,
        item__is_gold=False,
    ).exclude(ranking=[])  # fmt: skip


def _signature(project: Project, rounds: dict[int, Round]) -> tuple:
    """Changes whenever a figure of the judgement pass can: a judgement added, revised,
    reviewed or no longer counted, a score added, another reward model, a round's
    policies. Two aggregate queries, against the pass's reading of every judgement."""
    seen = _counted(project).aggregate(
        n=Count("id"), last=Max("id"), revised=Max("revised_at"), reviewed=Max("reviewed_at")
    )
    scored = ResponseScore.objects.filter(
        artifact_id__in=_judges(project, rounds), response__prompt__project=project
    ).aggregate(n=Count("id"), last=Max("id"))
    policies = sorted((n, r.policy_id, r.baseline_id, r.reward_model_id) for n, r in rounds.items())
    return (tuple(seen.values()), project.reward_model_id, tuple(scored.values()), policies)


def _judge_of(project: Project, round: Round | None) -> int | None:
    """The reward model whose accuracy a round shows: the one attached when the round
    started (it had not seen the round's labels), else the project's current one (rounds
    from imports and writing)."""
    return (round.reward_model_id if round else None) or project.reward_model_id


def _judges(project: Project, rounds: dict[int, Round]) -> set[int]:
    judges = {r.reward_model_id for r in rounds.values()} | {project.reward_model_id}
    return judges - {None}


def _judgement_figures(project: Project, rounds: dict[int, Round]) -> dict[int, dict]:
    """Per round: annotations, the reward model's agreements and pairs, the arena's wins,
    ties and losses. One pass over every counted judgement, so it is cached until the
    signature moves (the loop page re-reads the figures every 2 s while generating)."""
    key = f"preflab:round-judgements:{project.pk}"
    signature = _signature(project, rounds)
    cached = cache.get(key)
    if cached and cached["signature"] == signature:
        return cached["figures"]
    scores = {artifact: reward_scores(project, artifact) for artifact in _judges(project, rounds)}
    # Only generated responses name a policy (metadata.generation.policy).
    generated = Response.objects.filter(prompt__project=project, origin=ResponseOrigin.MODEL)
    policy_of = {
        rid: ((metadata or {}).get("generation") or {}).get("policy")
        for rid, metadata in generated.values_list("pk", "metadata")
    }
    figures: dict[int, dict] = defaultdict(
        lambda: {"annotations": 0, "rm_correct": 0.0, "rm_pairs": 0, "arena": Arena()}
    )
    for number, ranking in (
        _counted(project).values_list("item__round", "ranking").iterator(chunk_size=5000)
    ):
        entry = figures[number]
        entry["annotations"] += 1
        round = rounds.get(number)
        judge = _judge_of(project, round)
        agreements, pairs = score_agreement(ranking, scores.get(judge, {}))
        entry["rm_correct"] += agreements
        entry["rm_pairs"] += pairs
        if round and round.policy_id and round.baseline_id:
            _arena(entry["arena"], tier_of(ranking), policy_of, round.policy_id, round.baseline_id)
    figures = dict(figures)
    cache.set(key, {"signature": signature, "figures": figures}, CACHE_SECONDS)
    return figures


def _judgements(project: Project, stats: dict[int, RoundStats], rounds: dict[int, Round]):
    for number, figure in _judgement_figures(project, rounds).items():
        entry = stats.setdefault(number, RoundStats(number, None))
        round = rounds.get(number)
        judge = round.reward_model if round and round.reward_model_id else project.reward_model
        entry.rm_name = judge.name if judge else ""
        entry.annotations, entry.arena = figure["annotations"], figure["arena"]
        entry.rm_correct, entry.rm_pairs = figure["rm_correct"], figure["rm_pairs"]


def _arena(arena: Arena, place: dict, policy_of: dict, policy: int, baseline: int) -> None:
    mine = [rid for rid in place if policy_of.get(rid) == policy]
    theirs = [rid for rid in place if policy_of.get(rid) == baseline]
    for a in mine:
        for b in theirs:
            if place[a] < place[b]:
                arena.wins += 1
            elif place[a] > place[b]:
                arena.losses += 1
            else:
                arena.ties += 1


def round_source_counts(project: Project) -> dict[str, int | str]:
    """Prompts each round source would offer now, or why it offers none (the loop page's form)."""

    counts: dict[str, int | str] = {}
    for source, prompts_of in SOURCES.items():
        try:
            counts[source] = len(prompts_of(project))
        except ApplicationError as exc:
            counts[source] = exc.message
    return counts


def reward_scores(
    project, artifact_id: int | None = None, response_ids: Collection[int] | None = None
) -> dict[int, float]:
    """Response id → score under a reward model (the project's own by default), for the
    given responses or every scored response of the project; empty when there is no model."""
    artifact_id = artifact_id or project.reward_model_id
    if not artifact_id:
        return {}
    scores = ResponseScore.objects.filter(artifact_id=artifact_id)
    if response_ids is None:
        scores = scores.filter(response__prompt__project=project)
    else:
        scores = scores.filter(response_id__in=response_ids)
    return dict(scores.values_list("response_id", "score"))


def round_stats_if_any(project: Project) -> list[RoundStats] | None:
    """The rounds' figures once the project has started a round (None before: the project
    page then shows no rounds table)."""
    if not Round.objects.filter(project=project).exists():
        return None
    return round_stats(project)


def rounds_table(project: Project) -> dict:
    """What the rounds table (``training/partials/rounds.html``) shows, charts included."""
    rounds = round_stats(project)
    return {
        "rounds": rounds,
        "generating": any(r.job and not r.job.is_finished for r in rounds),
        **round_charts(rounds),
    }


def loop_page(project: Project) -> dict:
    """The loop page beside its forms: generators with their job counts, how many responses
    the project's reward model has scored, and the rounds table."""
    scored = (
        ResponseScore.objects.filter(artifact_id=project.reward_model_id).count()
        if project.reward_model_id
        else 0
    )
    return {
        "generators": project.generators.select_related("policy").annotate(jobs_n=Count("jobs")),
        "scored": scored,
        **rounds_table(project),
    }


def generator_get(*, project: Project, generator_id: int) -> Generator:
    generator = project.generators.filter(pk=generator_id).first()
    if generator is None:
        raise NotFoundError(f"no generator {generator_id} in this project")
    return generator


def generators_for_project(project: Project):
    return project.generators.all()


def generation_job_get(*, project: Project, job_id: int) -> GenerationJob:
    job = GenerationJob.objects.filter(project=project, pk=job_id).first()
    if job is None:
        raise NotFoundError(f"no generation job {job_id} in this project")
    return job


def generation_job_get_for_user(*, job_id: int, user) -> GenerationJob:
    """The job if the user may see its project's loop; 404 otherwise."""
    job = GenerationJob.objects.select_related("project", "round").filter(pk=job_id).first()
    if job is None:
        raise NotFoundError(f"no generation job {job_id}")
    project_get_for_user(slug=job.project.slug, user=user, capability=Capability.EXPORT)
    return job
