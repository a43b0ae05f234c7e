"""Written prompts of a project whose responses come from a model are answered by the
loop's generators: a real tiny policy served behind an OpenAI-compatible endpoint."""

import time

import pytest

from annotation.authoring.services.prompts import prompt_write
from annotation.models import Item, PromptStatus, Response
from projects.models import Role
from tests.conftest import WORKER_SKIP_REASON, start_celery_worker, worker_can_share_database
from tests.factories import add_member, make_items, make_project
from tests.training.endpoint_fixtures import slow_endpoint  # noqa: F401 - fixture
from tests.training.ml.policy_fixtures import warm_policy  # noqa: F401 - fixture
from training.loop.models import GenerationJob
from training.loop.services.generation_run import generation_job_run
from training.loop.services.generators import generator_save
from training.loop.services.written_prompts import NO_GENERATOR
from training.loop.tasks import written_prompts_generate

pytestmark = pytest.mark.django_db

SHORT = {"temperature": 1.0, "top_p": 1.0, "max_new_tokens": 8, "max_retries": 1}
TURN = [{"role": "user", "content": "What should I cook tonight?"}]


def _model_project(slug: str):
    return make_project(
        slug=slug, prompt_writing=True, response_source="model", responses_per_item=2,
        ranking_mode="pairwise", overlap=1,
    )  # fmt: skip


def _served(project, base_url: str):
    return generator_save(project=project, name="served", kind="openai", base_url=base_url,
                          model_name="tiny-served", **SHORT)  # fmt: skip


def test_a_written_prompt_is_answered_by_the_projects_generator_and_becomes_an_item(
    slow_endpoint,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    # given
    project = _model_project("gen-written")
    _served(project, slow_endpoint)
    make_items(project, 1)  # round 1 already holds items
    writer = add_member(project, Role.ANNOTATOR, "writer")

    # when: the write stores the prompt and sends the task by name once it commits
    with django_capture_on_commit_callbacks() as sent:
        prompt = prompt_write(project=project, user=writer, messages=TURN).prompt
    job_id = written_prompts_generate(project.pk, [prompt.pk])
    prompt.refresh_from_db()
    assert (
        prompt.status_reason
        == f"Generation job {job_id} of the project's generators is answering it."
    )
    job = generation_job_run(job_id=job_id)

    # then
    assert len(sent) == 1
    assert job.prompt_ids == [prompt.pk] and job.round is None and job.created_by == writer
    assert job.state == "succeeded", job.error
    (item,) = Item.objects.filter(prompt=prompt)
    assert item.round == 1
    responses = list(item.responses.all())
    assert len(responses) == 2 and len({r.text for r in responses}) == 2
    assert {(r.origin, r.model_name) for r in responses} == {("model", "tiny-served")}
    prompt.refresh_from_db()
    assert prompt.status == PromptStatus.READY and prompt.status_reason == ""


def test_a_second_delivery_of_the_task_adds_no_second_job(slow_endpoint):  # noqa: F811
    project = _model_project("gen-twice")
    _served(project, slow_endpoint)
    prompt = prompt_write(project=project, user=add_member(project), messages=TURN).prompt

    first = written_prompts_generate(project.pk, [prompt.pk])
    second = written_prompts_generate(project.pk, [prompt.pk])

    assert first is not None and second is None
    assert GenerationJob.objects.filter(project=project).count() == 1


def test_without_a_generator_the_prompt_waits_in_words_until_one_is_saved(
    client,
    slow_endpoint,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    # given: a "model" project with no generator yet
    project = _model_project("gen-none")
    writer = add_member(project, Role.ANNOTATOR, "writer")
    ranker = add_member(project, Role.ANNOTATOR, "ranker")
    prompt = prompt_write(project=project, user=writer, messages=TURN).prompt

    # when the task runs
    assert written_prompts_generate(project.pk, [prompt.pk]) is None

    # then the prompt waits, saying why, and the ranking and settings pages say so too
    prompt.refresh_from_db()
    assert prompt.status == PromptStatus.NEEDS_GENERATION and prompt.status_reason == NO_GENERATOR
    assert not Response.objects.exists()
    client.force_login(ranker)
    page = client.get(f"/p/{project.slug}/annotate/").content.decode()
    assert "1 written prompt waits for generated responses. No generator yet" in page
    client.force_login(writer)
    page = client.get(f"/p/{project.slug}/write/").content.decode()
    assert "1 written prompt still waits for generated responses. No generator yet" in page
    client.force_login(project.memberships.get(role=Role.MANAGER).user)
    settings = client.get(f"/p/{project.slug}/settings/").content.decode()
    assert "data-no-generator" in settings and "no active generator" in settings
    loop = client.get(f"/p/{project.slug}/loop/").content.decode()
    assert "written prompts wait for generated responses" in loop

    # when an engineer adds a generator
    with django_capture_on_commit_callbacks() as sent:
        _served(project, slow_endpoint)
    job = generation_job_run(job_id=written_prompts_generate(project.pk))

    # then the waiting prompt is answered, and the pages stop naming it
    assert len(sent) == 1
    assert job.prompt_ids == [prompt.pk] and job.state == "succeeded"
    assert Item.objects.filter(prompt=prompt).count() == 1
    settings = client.get(f"/p/{project.slug}/settings/").content.decode()
    assert "data-no-generator" not in settings
    client.force_login(ranker)
    assert "wait for generated" not in client.get(f"/p/{project.slug}/annotate/").content.decode()


def test_a_generator_saved_in_a_project_without_waiting_prompts_sends_nothing(
    slow_endpoint,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    project = _model_project("gen-quiet")
    with django_capture_on_commit_callbacks() as sent:
        _served(project, slow_endpoint)
    assert sent == []
    assert written_prompts_generate(project.pk) is None


def test_prompts_of_a_project_that_left_the_model_source_are_left_to_rounds(db):
    project = _model_project("gen-left")
    prompt = prompt_write(project=project, user=add_member(project), messages=TURN).prompt
    project.response_source = "queue"
    project.save(update_fields=["response_source"])

    assert written_prompts_generate(project.pk) is None
    prompt.refresh_from_db()
    assert prompt.status == PromptStatus.NEEDS_GENERATION and prompt.status_reason == ""


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_answers_a_written_prompt_through_the_named_task(
    tmp_path,
    slow_endpoint,  # noqa: F811
):
    # given: a worker on the default queue, where an endpoint's generation job runs too
    if not worker_can_share_database():
        pytest.skip(WORKER_SKIP_REASON)
    project = _model_project("gen-worker")
    _served(project, slow_endpoint)
    writer = add_member(project, Role.ANNOTATOR, "writer")
    worker = start_celery_worker(tmp_path / "worker.log", queues="default")
    try:
        # when: the prompt is written (autocommit: the task leaves at once)
        prompt = prompt_write(project=project, user=writer, messages=TURN).prompt

        # then the worker turns it into a job, answers it, and the item appears
        deadline = time.monotonic() + 120
        while not Item.objects.filter(prompt=prompt).exists():
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.3)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    job = GenerationJob.objects.get(project=project)
    assert job.prompt_ids == [prompt.pk] and job.state == "succeeded"
    item = Item.objects.get(prompt=prompt)
    assert item.responses.filter(origin="model", model_name="tiny-served").count() == 2
