"""Batched generation jobs with real tiny models: a registered policy run locally, and an
OpenAI-compatible endpoint served by the same kind of model (with a fault for one prompt).
A prompt gets its item only with all K responses; failures keep their reason."""

import json
import threading

import pytest

from annotation.models import Item, Prompt, PromptStatus, Response
from common.errors import ApplicationError
from common.jobs import JobState
from common.progress import cancel_request, progress_read
from projects.models import Role
from tests.factories import add_member, make_project
from tests.training.ml.policy_fixtures import warm_policy  # noqa: F401 - fixture
from training.loop.models import GenerationJob
from training.loop.services.generation_run import (
    generation_job_cancel,
    generation_job_create,
    generation_job_run,
)
from training.loop.services.generators import (
    GenerationError,
    HttpBackend,
    generator_save,
    response_plan,
)
from training.ml.generate import LocalGenerator
from training.ml.openai_server import ChatHandler, RequestError, serve
from training.runs.models import ModelArtifact

pytestmark = pytest.mark.django_db

SHORT = {"temperature": 1.0, "top_p": 1.0, "max_new_tokens": 12}


def _prompts(project, n: int) -> list[Prompt]:
    return [
        Prompt.objects.create(
            project=project,
            external_id=f"q{i}",
            messages=[{"role": "user", "content": f"Tell me about {s}."}],
            status=PromptStatus.NEEDS_GENERATION,
        )  # fmt: skip
        for i, s in enumerate(["cats", "rain", "tea", "bread", "maps"][:n])
    ]


def test_the_plan_splits_k_as_evenly_as_it_can():
    a, b = object(), object()
    assert response_plan([a], 4) == [(a, 4)]
    assert response_plan([a, b], 4) == [(a, 2), (b, 2)]
    assert response_plan([a, b], 3) == [(a, 2), (b, 1)]
    with pytest.raises(ValueError):
        response_plan([], 2)


def test_two_local_models_answer_every_prompt_in_one_batched_job(warm_policy):  # noqa: F811
    project = make_project(slug="gen-local", responses_per_item=3)
    policy = ModelArtifact.objects.create(
        project=project, kind="policy", name="policy-r1", path=str(warm_policy)
    )
    current = generator_save(project=project, name="current", kind="local", policy=policy.pk,
                             **SHORT)  # fmt: skip
    previous = generator_save(project=project, name="previous", kind="local",
                              model_path=str(warm_policy), **SHORT)  # fmt: skip
    prompts = _prompts(project, 4)
    engineer = add_member(project, Role.ENGINEER, "eng")
    job = generation_job_create(
        project=project, user=engineer, prompt_ids=[p.pk for p in prompts],
        generators=[current, previous], item_round=2, enqueue=False,
    )  # fmt: skip

    job = generation_job_run(job_id=job.pk)

    assert job.state == JobState.SUCCEEDED and job.failures == {} and job.prompts_done == 4
    assert progress_read("generation", job.pk).done == 4
    for prompt in prompts:
        (item,) = Item.objects.filter(prompt=prompt)
        assert item.round == 2 and item.open_slots == project.overlap
        responses = list(item.responses.all())
        assert len(responses) == 3 and len({r.text for r in responses}) == 3
        by = sorted(r.metadata["generation"]["generator_name"] for r in responses)
        assert by == ["current", "current", "previous"]
        assert {r.model_name for r in responses} == {"policy-r1", str(warm_policy)}
        assert all(r.metadata["generation"]["temperature"] == 1.0 for r in responses)
        prompt.refresh_from_db()
        assert prompt.status == PromptStatus.READY
    # Delivered again (a worker died after finishing): nothing is duplicated.
    job.state = JobState.RUNNING
    job.save()
    generation_job_run(job_id=job.pk)
    assert Item.objects.filter(project=project).count() == 4
    assert Response.objects.filter(prompt__project=project).count() == 12


class OneBadPrompt(ChatHandler):
    """The real model answers, except for prompts about bread: a malformed reply."""

    def chat_completion(self, body: dict) -> dict:
        if "bread" in json.dumps(body["messages"]):
            return {"id": "x", "object": "chat.completion", "choices": "not a list"}
        return super().chat_completion(body)


class Refuses(ChatHandler):
    def chat_completion(self, body: dict) -> dict:
        raise RequestError(400, "model 'nope' is not served here")


@pytest.fixture
def endpoint(warm_policy):  # noqa: F811
    servers = []

    def start(handler):
        server = serve(LocalGenerator(str(warm_policy)), port=0, handler_class=handler,
                       model_name="tiny-served")  # fmt: skip
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.base_url

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_an_http_endpoint_answers_and_a_malformed_reply_leaves_its_prompt_waiting(endpoint):
    project = make_project(slug="gen-http", responses_per_item=2, ranking_mode="pairwise")
    api = generator_save(project=project, name="served", kind="openai", base_url=endpoint(
        OneBadPrompt), model_name="tiny-served", max_retries=1, timeout_s=30, **SHORT)  # fmt: skip
    prompts = _prompts(project, 5)
    job = generation_job_create(project=project, user=None, prompt_ids=[p.pk for p in prompts],
                                generators=[api], enqueue=False)  # fmt: skip

    job = generation_job_run(job_id=job.pk)

    bread = next(p for p in prompts if "bread" in p.messages[0]["content"])
    assert job.state == JobState.SUCCEEDED and list(job.failures) == [str(bread.pk)]
    assert "malformed reply" in job.failures[str(bread.pk)]
    assert "served" in job.failures[str(bread.pk)]
    assert not Item.objects.filter(prompt=bread).exists()
    assert not Response.objects.filter(prompt=bread).exists()  # nothing half-written
    bread.refresh_from_db()
    assert bread.status == PromptStatus.NEEDS_GENERATION and "malformed" in bread.status_reason
    for prompt in prompts:
        if prompt != bread:
            (item,) = Item.objects.filter(prompt=prompt)
            texts = [r.text for r in item.responses.all()]
            assert len(set(texts)) == 2 and all(texts)
            assert {r.model_name for r in item.responses.all()} == {"tiny-served"}


def test_an_endpoint_that_refuses_everything_fails_the_job_with_the_reason(endpoint):
    project = make_project(slug="gen-refused", responses_per_item=2, ranking_mode="pairwise")
    api = generator_save(project=project, name="wrong", kind="openai", base_url=endpoint(Refuses),
                         model_name="nope", max_retries=0, **SHORT)  # fmt: skip
    prompts = _prompts(project, 2)
    job = generation_job_create(project=project, user=None, prompt_ids=[p.pk for p in prompts],
                                generators=[api], enqueue=False)  # fmt: skip
    job = generation_job_run(job_id=job.pk)
    assert job.state == JobState.FAILED and job.error == "2 of 2 prompts failed"
    assert all("HTTP 400" in reason and "not served" in reason for reason in job.failures.values())
    assert not Item.objects.filter(project=project).exists()


def test_a_missing_api_key_variable_is_named(monkeypatch, endpoint):
    monkeypatch.delenv("PREFLAB_KEY_TEST", raising=False)
    project = make_project(slug="gen-key", responses_per_item=2, ranking_mode="pairwise")
    api = generator_save(project=project, name="keyed", kind="openai", base_url=endpoint(
        ChatHandler), model_name="tiny-served", api_key_env="PREFLAB_KEY_TEST", **SHORT)  # fmt: skip
    (prompt,) = _prompts(project, 1)
    job = generation_job_create(project=project, user=None, prompt_ids=[prompt.pk],
                                generators=[api], enqueue=False)  # fmt: skip
    job = generation_job_run(job_id=job.pk)
    assert "PREFLAB_KEY_TEST" in job.failures[str(prompt.pk)]
    assert "not set" in job.failures[str(prompt.pk)]


def test_a_cancelled_job_stops_before_its_next_chunk(warm_policy):  # noqa: F811
    project = make_project(slug="gen-cancel", responses_per_item=2, ranking_mode="pairwise")
    local = generator_save(project=project, name="local", kind="local",
                           model_path=str(warm_policy), **SHORT)  # fmt: skip
    prompts = _prompts(project, 3)
    job = generation_job_create(project=project, user=None, prompt_ids=[p.pk for p in prompts],
                                generators=[local], enqueue=False)  # fmt: skip
    cancel_request("generation", job.pk)
    job = generation_job_run(job_id=job.pk)
    assert job.state == JobState.CANCELLED and not Item.objects.filter(project=project).exists()


def test_a_cancel_holds_even_when_the_cache_lost_its_flag(warm_policy):  # noqa: F811
    from django.core.cache import cache

    project = make_project(slug="gen-cancel-db", responses_per_item=2, ranking_mode="pairwise")
    local = generator_save(project=project, name="local", kind="local",
                           model_path=str(warm_policy), **SHORT)  # fmt: skip
    prompts = _prompts(project, 3)
    job = generation_job_create(project=project, user=None, prompt_ids=[p.pk for p in prompts],
                                generators=[local], enqueue=False)  # fmt: skip
    GenerationJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING)  # a worker has it
    generation_job_cancel(job=GenerationJob.objects.get(pk=job.pk))
    cache.clear()  # evicted, or flushed
    job = generation_job_run(job_id=job.pk)
    assert job.state == JobState.CANCELLED and not Item.objects.filter(project=project).exists()


def test_cancelling_a_job_whose_runner_is_gone_stops_it_at_once(settings, warm_policy):  # noqa: F811
    from datetime import timedelta

    from django.utils import timezone

    settings.PREFLAB_GENERATION_STALE_SECONDS = 600
    project = make_project(slug="gen-stale", responses_per_item=2, ranking_mode="pairwise")
    local = generator_save(project=project, name="local", kind="local",
                           model_path=str(warm_policy), **SHORT)  # fmt: skip
    prompts = _prompts(project, 2)
    jobs = [generation_job_create(project=project, user=None, prompt_ids=[p.pk],
                                  generators=[local], enqueue=False) for p in prompts]  # fmt: skip
    now = timezone.now()
    for job, silent in zip(jobs, (timedelta(minutes=30), timedelta(seconds=5)), strict=True):
        GenerationJob.objects.filter(pk=job.pk).update(
            state=JobState.RUNNING, started_at=now - silent, heartbeat_at=now - silent
        )
    gone, alive = (generation_job_cancel(job=GenerationJob.objects.get(pk=j.pk)) for j in jobs)
    assert gone.state == JobState.CANCELLED and gone.finished_at is not None
    assert "silent" in gone.error
    # A runner heard from recently stops after its chunk, as usual.
    assert alive.state == JobState.RUNNING and alive.cancel_requested


def test_generators_are_validated_field_by_field(warm_policy):  # noqa: F811
    project = make_project(slug="gen-bad")
    other = make_project(slug="gen-other")
    foreign = ModelArtifact.objects.create(project=other, kind="policy", name="p", path="/p")
    cases = [
        ({"kind": "local"}, "policy"),
        ({"kind": "local", "policy": foreign.pk}, "policy"),
        ({"kind": "openai", "base_url": "ftp://x", "model_name": "m"}, "base_url"),
        ({"kind": "openai", "base_url": "http://x/v1"}, "model_name"),
        (
            {
                "kind": "openai",
                "base_url": "http://x/v1",
                "model_name": "m",
                "api_key_env": "sk-live-123",
            },
            "api_key_env",
        ),  # fmt: skip
        ({"kind": "local", "model_path": "x", "temperature": 3}, "temperature"),
        # A real variable name, but another secret of the workers: never readable.
        (
            {
                "kind": "openai",
                "base_url": "http://x/v1",
                "model_name": "m",
                "api_key_env": "SECRET_KEY",
            },
            "api_key_env",
        ),  # fmt: skip
        (
            {
                "kind": "openai",
                "base_url": "http://x/v1",
                "model_name": "m",
                "api_key_env": "PREFLAB_KEY_",
            },
            "api_key_env",
        ),  # fmt: skip
    ]
    for fields, field in cases:
        with pytest.raises(ApplicationError) as caught:
            generator_save(project=project, name="g", **fields)
        assert caught.value.extra["field"] == field, (fields, caught.value.message)


def test_a_worker_reads_no_key_outside_the_prefix_even_from_an_old_row(settings, db):
    project = make_project(slug="keys")
    g = generator_save(project=project, name="api", kind="openai", base_url="http://h:1/v1",
                       model_name="m", api_key_env="PREFLAB_KEY_API")  # fmt: skip
    settings.PREFLAB_GENERATOR_KEY_PREFIX = "TEAM_KEY_"  # the operator narrowed it since
    with pytest.raises(GenerationError, match="api_key_env: must start with TEAM_KEY_"):
        HttpBackend(g)._client()
    with pytest.raises(ApplicationError, match="must start with TEAM_KEY_"):
        generator_save(project=project, name="api2", kind="openai", base_url="http://h:1/v1",
                       model_name="m", api_key_env="DATABASE_URL")  # fmt: skip


class RepeatsForYes(ChatHandler):
    """The real model answers, except a prompt asking for "yes": the same word n times.
    Every request's prompt is logged in order."""

    asked: list[str] = []

    def chat_completion(self, body: dict) -> dict:
        prompt = body["messages"][-1]["content"]
        type(self).asked.append(prompt)
        if "yes" in prompt:
            choice = {"index": 0, "message": {"role": "assistant", "content": "yes"},
                      "finish_reason": "stop"}  # fmt: skip
            return {
                "id": "r",
                "object": "chat.completion",
                "choices": [{**choice, "index": i} for i in range(body.get("n", 1))],
            }
        return super().chat_completion(body)


def test_a_prompt_with_repeated_answers_fails_alone_and_the_others_are_not_asked_again(endpoint):
    project = make_project(slug="repeats", responses_per_item=2)
    prompts = _prompts(project, 2)  # cats, rain
    prompts.insert(1, Prompt.objects.create(
        project=project, external_id="yes", status=PromptStatus.NEEDS_GENERATION,
        messages=[{"role": "user", "content": "Reply only yes."}]))  # fmt: skip
    RepeatsForYes.asked = []
    api = generator_save(project=project, name="served", kind="openai", base_url=endpoint(
        RepeatsForYes), model_name="tiny-served", max_retries=0, **SHORT)  # fmt: skip
    job = generation_job_create(project=project, user=None, prompt_ids=[p.pk for p in prompts],
                                generators=[api], enqueue=False)  # fmt: skip
    job = generation_job_run(job_id=job.pk)

    assert list(job.failures) == [str(prompts[1].pk)]
    assert "served: the model gave only 1 distinct answers of 2" in job.failures[str(prompts[1].pk)]
    assert Item.objects.filter(project=project).count() == 2  # cats and rain, whole
    assert not Response.objects.filter(prompt=prompts[1]).exists()
    # Cats was answered before the failure and kept: only rain is asked after it.
    first_yes = RepeatsForYes.asked.index("Reply only yes.")
    after = {p for p in RepeatsForYes.asked[first_yes:] if p != "Reply only yes."}
    assert after == {"Tell me about rain."}


class NulInAnswers(ChatHandler):
    """The real model's answers, each with a NUL byte in it (as broken models emit)."""

    def chat_completion(self, body: dict) -> dict:
        reply = super().chat_completion(body)
        for choice in reply["choices"]:
            choice["message"]["content"] = "a\x00" + choice["message"]["content"]
        return reply


def test_a_nul_in_an_answer_is_stored_visibly_instead_of_failing_the_job(endpoint):
    # PostgreSQL text refuses NUL: this failed whole jobs there before.
    project = make_project(slug="nul", responses_per_item=2)
    prompts = _prompts(project, 2)
    api = generator_save(project=project, name="served", kind="openai", base_url=endpoint(
        NulInAnswers), model_name="tiny-served", max_retries=0, **SHORT)  # fmt: skip
    job = generation_job_create(project=project, user=None, prompt_ids=[p.pk for p in prompts],
                                generators=[api], enqueue=False)  # fmt: skip
    job = generation_job_run(job_id=job.pk)
    assert job.state == JobState.SUCCEEDED and job.failures == {}, job.error
    texts = list(Response.objects.filter(prompt__project=project).values_list("text", flat=True))
    assert len(texts) == 4 and all(t.startswith("a\ufffd") and "\x00" not in t for t in texts)


def test_a_cancel_stops_a_job_in_the_middle_of_a_batch(monkeypatch, warm_policy):  # noqa: F811
    from training.loop.services.generation_run import _Meter
    from training.loop.services.generators import _local_generator

    monkeypatch.setattr(_Meter, "STOP_EVERY_S", 0.0)  # ask at every token: no timing here
    project = make_project(slug="gen-mid-batch", responses_per_item=2, ranking_mode="pairwise")
    local = generator_save(project=project, name="local", kind="local",
                           model_path=str(warm_policy), **SHORT)  # fmt: skip
    prompts = _prompts(project, 3)
    job = generation_job_create(project=project, user=None, prompt_ids=[p.pk for p in prompts],
                                generators=[local], enqueue=False)  # fmt: skip
    # given a Cancel (as the page and the API send it) while the model is on the first batch
    steps = []

    def cancel_at_the_second_token(module, args, output):
        steps.append(1)
        if len(steps) == 2:
            generation_job_cancel(job=GenerationJob.objects.get(pk=job.pk))

    model = _local_generator(str(warm_policy)).model
    hook = model.register_forward_hook(cancel_at_the_second_token)
    try:
        job = generation_job_run(job_id=job.pk)
    finally:
        hook.remove()
    # then the batch stops there: the job is cancelled and no item is half-made or made
    assert job.state == JobState.CANCELLED
    assert len(steps) < SHORT["max_new_tokens"]
    assert not Item.objects.filter(project=project).exists()


def test_progress_moves_with_every_batch_and_counts_tokens_per_second(warm_policy):  # noqa: F811
    from training.loop.services.generators import _local_generator

    project = make_project(slug="gen-progress", responses_per_item=2, ranking_mode="pairwise")
    local = generator_save(project=project, name="local", kind="local",
                           model_path=str(warm_policy), **SHORT)  # fmt: skip
    subjects = ["cats", "rain", "tea", "bread", "maps", "snow", "owls", "jazz", "figs", "moss",
                "kites", "clay"]  # fmt: skip
    prompts = [
        Prompt.objects.create(project=project, external_id=f"s{n}", status=PromptStatus.NEEDS_GENERATION,
                              messages=[{"role": "user", "content": f"Tell me about {s}."}])
        for n, s in enumerate(subjects)
    ]  # fmt: skip
    job = generation_job_create(project=project, user=None, prompt_ids=[p.pk for p in prompts],
                                generators=[local], enqueue=False)  # fmt: skip
    # what the job's page reads, looked at every time the model takes a step
    seen = []

    def look(module, args, output):
        live = progress_read("generation", job.pk)
        seen.append(live.done if live else 0)

    hook = _local_generator(str(warm_policy)).model.register_forward_hook(look)
    try:
        # when 12 prompts × 2 answers (24 rows: more than one batch of 16) are generated
        job = generation_job_run(job_id=job.pk)
    finally:
        hook.remove()
    # then progress moved inside the one chunk of 16 prompts, not only at its end
    assert job.state == JobState.SUCCEEDED and job.prompts_done == len(prompts)
    assert any(0 < done < len(prompts) for done in seen), seen
    assert job.tokens_done > 0 and job.tokens_per_second > 0


def test_tokens_are_counted_on_the_job_while_its_first_batch_runs(monkeypatch, warm_policy):  # noqa: F811
    from training.loop.services import generators
    from training.loop.services.generation_run import _Meter

    monkeypatch.setattr(generators, "LIVE_EVERY_S", 0.0)  # report at every token: no timing
    monkeypatch.setattr(_Meter, "ROW_EVERY_S", 0.0)
    project = make_project(slug="gen-live-tokens", responses_per_item=2, ranking_mode="pairwise")
    local = generator_save(project=project, name="local", kind="local",
                           model_path=str(warm_policy), **SHORT)  # fmt: skip
    prompts = _prompts(project, 3)
    job = generation_job_create(project=project, user=None, prompt_ids=[p.pk for p in prompts],
                                generators=[local], enqueue=False)  # fmt: skip
    model = generators._local_generator(str(warm_policy))
    start = model.tokens_generated
    seen = []  # (tokens on the job's row, tokens of finished batches), at every model step

    def look(module, args, output):
        on_row = GenerationJob.objects.values_list("tokens_done", flat=True).get(pk=job.pk)
        seen.append((on_row, model.tokens_generated - start))

    hook = model.model.register_forward_hook(look)
    try:
        job = generation_job_run(job_id=job.pk)
    finally:
        hook.remove()
    # then the row counted tokens before any batch had finished: a CPU round's page moves
    assert job.state == JobState.SUCCEEDED
    assert any(on_row > 0 and finished == 0 for on_row, finished in seen), seen[:5]
