"""Generators: the models a project points generation at, and the backends that run them.

A ``Generator`` row says *which* model (a registered policy, a local path, or an
OpenAI-compatible endpoint) and *how* to sample; ``backend_for`` turns it into an object
with one method, ``generate_many(conversations, n)``, that answers many prompts at once
(batched ``generate`` on a GPU worker, or HTTP requests with retries and a rate limit).
"""

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from annotation.models import Prompt, PromptStatus
from common.errors import ApplicationError, ConflictError
from common.queueing import task_send_on_commit
from projects.models import Project, ResponseSource
from training.loop.generation.openai_client import GenerationRequestFailed, OpenAIChatClient
from training.loop.models import Generator, GeneratorKind, env_name_validate
from training.loop.services.rate_limit import SharedRateLimiter
from training.ml.generation_errors import GenerationFailed
from training.ml.generation_errors import GenerationStopped as Stopped
from training.ml.local_generation import local_generator
from training.runs.models import ArtifactKind, ModelArtifact

GENERATOR_FIELDS = (
    "name", "kind", "policy", "model_path", "base_url", "model_name", "api_key_env",
    "temperature", "top_p", "max_new_tokens", "timeout_s", "max_retries",
    "requests_per_minute", "active",
)  # fmt: skip
LOADED_MAX = 2  # local models kept in a worker's memory at once
LIVE_EVERY_S = 1.0  # how often a batch in progress reports its tokens so far


@dataclass(frozen=True)
class GeneratedResponse:
    """One answer a backend wrote, with what is stored beside it for provenance."""

    text: str
    model_name: str  # the model that wrote it (a registered policy, a path, a served name)
    settings: dict  # sampling settings, generator name, finish reason, seed


class GenerationError(Exception):
    """A backend could not answer; the message says why, for the page."""


class GenerationStopped(Exception):
    """The caller's ``stop`` said so (a cancelled job): the call's answers are dropped."""


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(f"{field}: {message}", extra={"field": field})


def generator_validate(generator: Generator) -> None:
    """Raise ApplicationError naming the first field that is wrong."""
    if not generator.name.strip():
        raise _invalid("name", "must not be empty")
    if generator.kind not in GeneratorKind.values:
        raise _invalid("kind", f"must be one of {', '.join(GeneratorKind.values)}")
    if generator.kind == GeneratorKind.LOCAL:
        policy = generator.policy
        if policy is None and not generator.model_path.strip():
            raise _invalid("policy", "a local generator needs a registered policy or a model_path")
        if policy is not None and (
            policy.project_id != generator.project_id or policy.kind != ArtifactKind.POLICY
        ):
            raise _invalid("policy", "must be a policy registered in this project")
    else:
        if not generator.base_url.startswith(("http://", "https://")):
            raise _invalid("base_url", "an http(s) URL such as http://vllm:8000/v1")
        if not generator.model_name.strip():
            raise _invalid("model_name", "the name the endpoint serves the model under")
    try:
        env_name_validate(generator.api_key_env)
    except ValidationError as exc:
        raise _invalid("api_key_env", exc.messages[0].split(": ", 1)[-1]) from None
    checks = [
        (0 <= generator.temperature <= 2, "temperature", "must be between 0 and 2"),
        (0 < generator.top_p <= 1, "top_p", "must be above 0 and at most 1"),
        (1 <= generator.max_new_tokens <= 8192, "max_new_tokens", "must be 1 to 8192"),
        (0 < generator.timeout_s <= 3600, "timeout_s", "must be above 0 and at most 3600"),
        (generator.max_retries <= 10, "max_retries", "must be at most 10"),
        (
            generator.requests_per_minute is None or generator.requests_per_minute > 0,
            "requests_per_minute",
            "must be above 0 (leave empty for no limit)",
        ),
    ]
    for ok, field, message in checks:
        if not ok:
            raise _invalid(field, message)


def _policy_of(project: Project, fields: dict) -> None:
    value = fields.get("policy")
    if value in (None, "") or isinstance(value, ModelArtifact):
        fields["policy"] = value or None
        return
    artifact = ModelArtifact.objects.filter(project=project, pk=value).first()
    if artifact is None:
        raise _invalid("policy", f"no model {value} in this project")
    fields["policy"] = artifact


def generator_save(*, project: Project, generator: Generator | None = None, **fields) -> Generator:
    """Create a generator, or change ``generator``; the fields are those of the model."""
    unknown = set(fields) - set(GENERATOR_FIELDS)
    if unknown:
        raise ApplicationError(f"unknown generator fields: {', '.join(sorted(unknown))}")
    if "policy" in fields:
        _policy_of(project, fields)
    generator = generator or Generator(project=project)
    for key, value in fields.items():
        setattr(generator, key, value)
    generator_validate(generator)
    try:
        with transaction.atomic():
            generator.save()
    except IntegrityError as exc:
        raise ConflictError(f"a generator named {generator.name!r} already exists") from exc
    _waiting_prompts_answer(project, generator)
    return generator


def _waiting_prompts_answer(project: Project, generator: Generator) -> None:
    """Written prompts that waited for a generator are answered once one is active: sent
    by name, because answering them is a generation job (a module above this one)."""
    if not generator.active or project.response_source != ResponseSource.MODEL:
        return
    waiting = Prompt.objects.filter(
        project=project, source="written", status=PromptStatus.NEEDS_GENERATION
    )
    if waiting.exists():
        task_send_on_commit("training.written_prompts_generate", project.pk)


def response_plan(generators: list[Generator], k: int) -> list[tuple[Generator, int]]:
    """How many of an item's ``k`` responses each generator writes: as even as can be,
    the first generators taking the remainder (k=3 over two models: 2 and 1)."""
    if not generators:
        raise ValueError("no generator to write responses")
    share, extra = divmod(k, len(generators))
    plan = [(g, share + (1 if n < extra else 0)) for n, g in enumerate(generators)]
    return [(g, count) for g, count in plan if count]


@dataclass(frozen=True)
class Sampling:
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int | None = None


def _provenance(generator: Generator, extra: dict) -> dict:
    return {
        **generator.sampling,
        **extra,
        "generator": generator.pk,
        "generator_name": generator.name,
        "policy": generator.policy_id,
    }


# Local models stay loaded between jobs in a GPU worker (a few at a time).
_loaded: OrderedDict = OrderedDict()
_lock = threading.Lock()


def _local_model_path(generator: Generator) -> str:
    return generator.policy.path if generator.policy_id else generator.model_path


def _local_generator(path: str):
    marker = Path(path)
    key = (path, marker.stat().st_mtime_ns if marker.exists() else 0)
    with _lock:
        if key not in _loaded:
            _loaded[key] = local_generator(path)
            while len(_loaded) > LOADED_MAX:
                _loaded.popitem(last=False)
        _loaded.move_to_end(key)
        return _loaded[key]


class LocalBackend:
    """Batched sampling with a causal LM in this (GPU worker) process."""

    def __init__(self, generator: Generator):
        self.generator = generator

    def generate_many(
        self, conversations: list[list[dict]], n: int, *, seed=None, progress=None, stop=None
    ):
        """``progress(prompts done, prompts in all, tokens sampled)`` after each batch;
        ``stop()`` asked between tokens (GenerationStopped when it says so)."""
        g = self.generator
        path = _local_model_path(g)

        try:
            model = _local_generator(path)
            before, done, told = model.tokens_generated, [0], [time.monotonic()]

            def batch_done(finished: int, total: int) -> None:
                done[0] = finished
                if progress is not None:
                    progress(finished, total, model.tokens_generated - before)

            def watch() -> bool:  # every token: the tokens so far (each second), the cancel
                if progress is not None and time.monotonic() - told[0] >= LIVE_EVERY_S:
                    told[0] = time.monotonic()
                    sampled = model.tokens_generated - before + model.tokens_sampling
                    progress(done[0], len(conversations), sampled)
                return bool(stop and stop())

            answers = model.generate(
                conversations, n, temperature=g.temperature, top_p=g.top_p,
                max_new_tokens=g.max_new_tokens, seed=seed, progress=batch_done,
                should_stop=watch,
            )  # fmt: skip
        except Stopped as exc:
            raise GenerationStopped(str(exc)) from exc
        except GenerationFailed as exc:  # one prompt could not get n distinct answers
            raise PromptFailed(exc.prompt_index, f"{g.name}: {exc}") from exc
        except (OSError, ValueError, RuntimeError) as exc:
            raise GenerationError(f"{g.name}: {exc}") from exc
        return [
            [
                GeneratedResponse(
                    text=a.text,
                    model_name=g.model_label,
                    settings=_provenance(g, {"finish_reason": a.finish_reason, "seed": seed}),
                )  # fmt: skip
                for a in prompt_answers
            ]
            for prompt_answers in answers
        ]


class HttpBackend:
    """An OpenAI-compatible endpoint; the key comes from the worker's environment."""

    def __init__(self, generator: Generator):
        self.generator = generator

    def _client(self):

        g = self.generator
        key = None
        if g.api_key_env:
            try:  # checked again here: the setting may have changed since it was saved
                env_name_validate(g.api_key_env)
            except ValidationError as exc:
                raise GenerationError(f"{g.name}: {exc.messages[0]}") from None
            key = os.environ.get(g.api_key_env)
            if not key:
                raise GenerationError(
                    f"{g.name}: the environment variable {g.api_key_env} (the API key) is not "
                    "set on this worker"
                )
        # The generator's rate is the endpoint's: shared by every job on every worker.
        limiter = None
        if g.requests_per_minute:
            limiter = SharedRateLimiter(f"generator-{g.pk}", g.requests_per_minute)
        return OpenAIChatClient(
            g.base_url.rstrip("/"), g.model_name, api_key=key, timeout_s=g.timeout_s,
            max_retries=g.max_retries, limiter=limiter,
        )  # fmt: skip

    def generate_many(
        self, conversations: list[list[dict]], n: int, *, seed=None, progress=None, stop=None
    ):
        """``progress(prompts done, prompts in all, None)`` after each prompt (an endpoint
        counts no tokens here); ``stop()`` asked before each prompt."""

        g = self.generator
        out = []
        with self._client() as client:  # one client (and rate-limit bucket) per batch
            for done, messages in enumerate(conversations, start=1):
                if stop is not None and stop():
                    raise GenerationStopped("stopped between prompts")

                def ask(missing: int, attempt: int, messages=messages):
                    # A seeded endpoint would repeat itself: a new seed per retry.
                    return client.complete(
                        messages, missing, temperature=g.temperature, top_p=g.top_p,
                        max_tokens=g.max_new_tokens,
                        seed=None if seed is None else seed + attempt,
                    )  # fmt: skip

                try:
                    completions = _distinct(ask, n)
                except (GenerationRequestFailed, GenerationError) as exc:
                    # The answers before it are paid for: hand them on with the failure.
                    raise PromptFailed(done - 1, f"{g.name}: {exc}", answered=out) from exc
                out.append(
                    [
                        GeneratedResponse(
                            text=c.text,
                            model_name=g.model_label,
                            settings=_provenance(g, {"finish_reason": c.finish_reason}),
                        )  # fmt: skip
                        for c in completions
                    ]
                )
                if progress:
                    progress(done, len(conversations), None)
        return out


class PromptFailed(GenerationError):
    """One prompt of a batch failed; the others may still be answered."""

    def __init__(self, index: int, message: str, answered: list | None = None):
        super().__init__(message)
        self.index = index
        # The answers of the batch's prompts before ``index``, when the backend has them.
        self.answered = answered


ATTEMPTS = 3


def _distinct(ask, n: int) -> list:
    """``n`` distinct non-empty completions, asking again for the repeats (a few times)."""
    kept, seen = [], set()
    for attempt in range(ATTEMPTS):
        for completion in ask(n - len(kept), attempt):
            text = completion.text.strip()
            if text and text not in seen:
                seen.add(text)
                kept.append(completion)
        if len(kept) >= n:
            return kept[:n]
    raise GenerationError(
        f"the model gave only {len(kept)} distinct answers of {n} after {ATTEMPTS} tries; "
        "raise its temperature"
    )


def backend_for(generator: Generator):
    if generator.kind == GeneratorKind.LOCAL:
        return LocalBackend(generator)
    return HttpBackend(generator)


def queue_for(generators: list[Generator]) -> str:
    """Local models need a GPU worker; HTTP endpoints only a default one."""
    return "gpu" if any(g.kind == GeneratorKind.LOCAL for g in generators) else "default"
