"""Batched generation jobs: many prompts answered by a project's generators, one item each.

A job walks its prompts in chunks. For each chunk every generator writes its share of
the K responses in one batched call; a prompt whose answers are all there becomes an
item (in the job's round) in one transaction, a prompt that failed keeps the reason in
``job.failures`` and gets no item: never a half-filled one. Progress goes to the cache
(a bar on the page and in the CLI) after every batch, with tokens per second; a cancel
request is heard within a second, also in the middle of a batch (the chunk's answers are
dropped); and a redelivered job skips prompts that already have their item, so it never
duplicates.
"""

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotation.models import Item, Prompt, PromptStatus, Response, ResponseOrigin
from annotation.services.items_build import item_create_for_prompt
from common.errors import ApplicationError
from common.jobs import (
    JobState,
    Waiting,
    job_cancel,
    job_cancel_heard,
    job_enqueue_on_commit,
    job_waiting,
)
from common.progress import Progress, progress_report
from projects.models import Project
from training.loop.models import GenerationJob, Generator, Round
from training.loop.services.generators import (
    GenerationError,
    GenerationStopped,
    PromptFailed,
    backend_for,
    queue_for,
    response_plan,
)

logger = logging.getLogger(__name__)

PROGRESS_KIND = "generation"
CHUNK = 16  # prompts per batched call: bounds memory and the answers a cancel drops
MAX_PROMPTS = 50_000


def generation_job_create(
    *,
    project: Project,
    user,
    prompt_ids: list[int],
    generators: list[Generator],
    round: Round | None = None,
    item_round: int = 1,
    enqueue: bool = True,
) -> GenerationJob:
    if not generators:
        raise ApplicationError("generators: choose at least one", extra={"field": "generators"})
    if any(g.project_id != project.pk for g in generators):
        raise ApplicationError("generators: not all of this project", extra={"field": "generators"})
    if not prompt_ids:
        raise ApplicationError("prompts: no prompt to answer", extra={"field": "prompts"})
    if len(prompt_ids) > MAX_PROMPTS:
        raise ApplicationError(
            f"prompts: at most {MAX_PROMPTS:,} per job", extra={"field": "prompts"}
        )
    with transaction.atomic():
        job = GenerationJob.objects.create(
            project=project, round=round, item_round=item_round, prompt_ids=list(prompt_ids),
            created_by=user,
        )  # fmt: skip
        job.generators.set(generators)
        if enqueue:
            job_enqueue_on_commit(job, queue=queue_for(generators))
    return job


def generation_job_waiting(job: GenerationJob) -> Waiting | None:
    """Why the unfinished job does not move: its queue (gpu for local models) has no
    worker, or no worker runs it any more."""
    return job_waiting(job, queue=queue_for(list(job.generators.all())))


def generation_job_cancel(*, job: GenerationJob) -> GenerationJob:
    """A queued job stops now; a running one after the chunk it is on, or now when no
    live worker holds it (``common.jobs.job_cancel``) or its runner has been silent for
    PREFLAB_GENERATION_STALE_SECONDS (a command's runner, no worker to ask: it is gone)."""
    job_cancel(job)
    stale = timezone.now() - timedelta(seconds=settings.PREFLAB_GENERATION_STALE_SECONDS)
    GenerationJob.objects.filter(
        pk=job.pk, state=JobState.RUNNING, heartbeat_at__lt=stale
    ).update(
        state=JobState.CANCELLED, finished_at=timezone.now(),
        error="its runner had been silent since the last chunk; stopped",
    )  # fmt: skip
    job.refresh_from_db()
    return job


def generation_job_stopped(*, job_id: int, reason: str) -> None:
    """Mark a job whose runner stopped dead (a second Ctrl-C, a killed process) as
    cancelled, so no page waits on it; its stored items are whole, as after a cancel."""
    GenerationJob.objects.filter(pk=job_id, finished_at=None).update(
        state=JobState.CANCELLED, error=reason[:2000], finished_at=timezone.now(),
        cancel_requested=True,
    )  # fmt: skip


def _claim(job_id: int) -> GenerationJob | None:
    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().get(pk=job_id)
        if job.is_finished:
            return None
        job.state, job.started_at = JobState.RUNNING, job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["state", "started_at", "heartbeat_at"])
    return job


def _pending(job: GenerationJob, prompt_ids: list[int], *, once: bool) -> list[Prompt]:
    """The chunk's prompts that have no item in the job's round yet (redelivery-safe), or
    none at all for a job of new prompts."""
    items = Item.objects.filter(prompt_id__in=prompt_ids, is_gold=False)
    if not once:
        items = items.filter(round=job.item_round)
    done = set(items.values_list("prompt_id", flat=True))
    prompts = Prompt.objects.filter(project=job.project_id, pk__in=prompt_ids).in_bulk()
    return [prompts[pk] for pk in prompt_ids if pk in prompts and pk not in done]


def _answer(prompts: list[Prompt], plan, failures: dict, meter=None, start=0) -> dict[int, list]:
    """Each generator's share for every prompt; prompts with a failure are dropped.
    ``meter`` hears each batch and may stop the call (GenerationStopped)."""
    answers: dict[int, list] = {p.pk: [] for p in prompts}
    for call, (generator, count) in enumerate(plan):
        alive = [p for p in prompts if p.pk in answers]
        if not alive:
            break
        backend = backend_for(generator)
        watch = {}
        if meter is not None:
            watch = {"progress": meter.call_progress(start, len(prompts), call, len(plan)),
                     "stop": meter.should_stop}  # fmt: skip
        try:
            written = backend.generate_many([p.messages for p in alive], count, **watch)
        except PromptFailed as exc:
            # Isolate the failing prompt: record it, keep what the backend answered before
            # it, and answer the rest one by one.
            failed = alive[exc.index]
            failures[str(failed.pk)] = str(exc)
            answers.pop(failed.pk)
            before = alive[: exc.index] if exc.answered is not None else []
            redo = [p for p in alive if p.pk != failed.pk and p not in before]
            written = list(exc.answered or []) + _one_by_one(backend, redo, count, failures)
            alive = before + redo
        except GenerationError as exc:
            for prompt in alive:
                failures[str(prompt.pk)] = str(exc)
                answers.pop(prompt.pk)
            continue
        finally:
            if meter is not None:
                meter.call_done()
        for prompt, responses in zip(alive, written, strict=True):
            if responses is None:
                answers.pop(prompt.pk, None)
            elif prompt.pk in answers:
                answers[prompt.pk].extend(responses)
    return answers


def _one_by_one(backend, prompts: list[Prompt], count: int, failures: dict) -> list:
    out = []
    for prompt in prompts:
        try:
            (responses,) = backend.generate_many([prompt.messages], count)
            out.append(responses)
        except GenerationError as exc:
            failures[str(prompt.pk)] = str(exc)
            out.append(None)
    return out


def _storable(text: str) -> str:
    """A model can emit NUL (a small or broken one does), which PostgreSQL text refuses:
    shown as U+FFFD instead, so one odd answer cannot fail the job."""
    return text.replace("\x00", "\ufffd")


def _once_per_prompt(job: GenerationJob) -> bool:
    """New prompts (a round from ``new``, or written prompts) get one item ever: a second
    job over the same prompt, started before the first finished, must not add another.
    Held-out and uncertain rounds answer prompts that already have items, on purpose."""
    return job.round_id is None or job.round.prompt_source == Round.PromptSource.NEW


def _store(job: GenerationJob, prompt: Prompt, generated: list, *, once: bool) -> bool:
    with transaction.atomic():
        prompt = Prompt.objects.select_for_update().select_related("project").get(pk=prompt.pk)
        existing = Item.objects.filter(prompt=prompt, is_gold=False)
        if (existing if once else existing.filter(round=job.item_round)).exists():
            return False  # a duplicate delivery, or another job, got here first
        responses = Response.objects.bulk_create(
            Response(
                prompt=prompt, text=_storable(answer.text), model_name=answer.model_name,
                origin=ResponseOrigin.MODEL, metadata={"generation": answer.settings},
            )
            for answer in generated
        )  # fmt: skip
        item_create_for_prompt(prompt=prompt, responses=responses, round=job.item_round)
    return True


def _reason_on_waiting_prompts(failures: dict) -> None:
    for prompt_id, reason in failures.items():
        Prompt.objects.filter(pk=int(prompt_id), status=PromptStatus.NEEDS_GENERATION).update(
            status_reason=reason[:500]
        )


def generation_job_run(
    *, job_id: int, on_progress: Callable[[Progress], None] | None = None
) -> GenerationJob:
    """Run (or resume after a worker died) a generation job; ``on_progress`` (the command
    line's bar) hears each stored chunk. A Cancel lands within a second, also in the
    middle of a batch: the chunk's answers are dropped, stored items stay whole."""
    job = _claim(job_id)
    if job is None:
        return GenerationJob.objects.get(pk=job_id)
    project = job.project
    generators = list(job.generators.order_by("id"))
    plan = response_plan(generators, project.responses_per_item)
    failures: dict[str, str] = dict(job.failures)
    once = _once_per_prompt(job)
    total = len(job.prompt_ids)
    meter = _Meter(job, total, on_progress)
    cancelled = False
    try:
        for start in range(0, total, CHUNK):
            if job_cancel_heard(job):
                cancelled = True
                break
            chunk_ids = job.prompt_ids[start : start + CHUNK]
            prompts = [p for p in _pending(job, chunk_ids, once=once) if str(p.pk) not in failures]
            answers = _answer(prompts, plan, failures, meter, start) if prompts else {}
            for prompt in prompts:
                if prompt.pk in answers:
                    _store(job, prompt, answers[prompt.pk], once=once)
            meter.report(min(start + CHUNK, total), force=True)
            GenerationJob.objects.filter(pk=job.pk).update(failures=failures)
    except GenerationStopped:
        cancelled = True
    except Exception as exc:  # an unexpected error: the job says so, nothing half-written
        logger.exception("generation job %s failed", job.pk)
        return _finish(job, JobState.FAILED, meter.settled, failures, error=str(exc)[:2000])
    _reason_on_waiting_prompts(failures)
    if cancelled:
        return _finish(job, JobState.CANCELLED, meter.settled, failures)
    state = JobState.FAILED if failures and len(failures) >= total else JobState.SUCCEEDED
    error = f"{len(failures)} of {total} prompts failed" if failures else ""
    return _finish(job, state, meter.settled, failures, error=error)


class _Meter:
    """One attempt's progress: prompts after every batch (not only every chunk) and tokens
    per second, to the cache at once and to the row at most every ``ROW_EVERY_S``; and the
    cancel, asked at most every ``STOP_EVERY_S`` while a model samples."""

    ROW_EVERY_S = 1.0
    STOP_EVERY_S = 0.5

    def __init__(self, job: GenerationJob, total: int, on_progress):
        self.job, self.total, self.on_progress = job, total, on_progress
        self.started = self.written = self.asked = time.monotonic()
        self.tokens_before = job.tokens_done  # earlier attempts'
        self.tokens = self.call_tokens = 0  # this attempt's finished calls; the current one
        self.done = self.settled = 0  # prompts reported; of chunks whose items are stored
        self.stopping = False

    def call_progress(self, start: int, size: int, call: int, calls: int):
        """The ``progress`` of generator ``call`` of ``calls`` over ``size`` prompts from
        ``start``: its share of the chunk, in prompts."""

        def report(done: int, total: int, tokens: int | None) -> None:
            self.call_tokens = tokens or 0
            share = (call + done / max(total, 1)) / calls
            self.report(start + int(size * share))

        return report

    def call_done(self) -> None:
        self.tokens, self.call_tokens = self.tokens + self.call_tokens, 0

    def report(self, done: int, *, force: bool = False) -> None:
        self.done = max(self.done, min(done, self.total))
        if force:
            self.settled = self.done
        progress = Progress("generating", self.done, self.total, "prompts")
        progress_report(PROGRESS_KIND, self.job.pk, progress)
        if force and self.on_progress is not None:
            self.on_progress(progress)  # the command line's bar: whole chunks, stored
        now = time.monotonic()
        if not force and now - self.written < self.ROW_EVERY_S:
            return
        self.written = now
        tokens = self.tokens + self.call_tokens
        rate = tokens / (now - self.started) if tokens else None
        GenerationJob.objects.filter(pk=self.job.pk).update(
            prompts_done=self.done, tokens_done=self.tokens_before + tokens,
            tokens_per_second=rate, heartbeat_at=timezone.now(),
        )  # fmt: skip

    def should_stop(self) -> bool:
        """Whether a Cancel from the page or the API (the row's flag) came; the command
        line's first Ctrl-C (the cache's flag alone) lets the chunk finish, as it says."""
        now = time.monotonic()
        if not self.stopping and now - self.asked >= self.STOP_EVERY_S:
            self.asked = now
            self.stopping = GenerationJob.objects.filter(
                pk=self.job.pk, cancel_requested=True
            ).exists()
        return self.stopping


def _finish(job, state, done, failures, error: str = "") -> GenerationJob:
    GenerationJob.objects.filter(pk=job.pk).update(
        state=state, prompts_done=done, failures=failures, error=error,
        finished_at=timezone.now(),
    )  # fmt: skip
    job.refresh_from_db()
    return job
