"""``manage.py start_round``: the loop's round start from the command line, run in this
process with a progress bar, handed to the workers with --queue, cancelled by Ctrl-C (a
real SIGINT to the test's process)."""

import io
import os
import signal
import sys
import threading
import time

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Item, Prompt
from common.jobs import JobState
from tests.factories import make_items, make_project
from tests.training import endpoint_fixtures
from training.loop.models import GenerationJob, Round
from training.loop.services.generators import generator_save

# The fixtures this module uses, by name.
slow_endpoint = endpoint_fixtures.slow_endpoint
warm_policy = endpoint_fixtures.warm_policy

SHORT = {"temperature": 1.0, "top_p": 1.0, "max_new_tokens": 6}


def _project(prompts: int):
    project = make_project(slug="cli-round", responses_per_item=2)
    make_items(project, 2)
    Prompt.objects.bulk_create(
        Prompt(project=project, external_id=f"new{n}",
               messages=[{"role": "user", "content": f"Tell me about thing {n}."}])
        for n in range(prompts)
    )  # fmt: skip
    return project


def _call(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    old_stderr, sys.stderr = sys.stderr, err  # the bar goes to the process's stderr
    try:
        call_command("start_round", *args, stdout=out, stderr=err)
    finally:
        sys.stderr = old_stderr
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_a_round_generated_here_draws_its_bar_and_opens_whole_items(warm_policy):
    project = _project(3)
    generator_save(project=project, name="tiny", kind="local", model_path=str(warm_policy),
                   **SHORT)  # fmt: skip
    out, err = _call(project.slug, "--source", "new", "--prompts", "3", "--generator", "tiny")
    job = GenerationJob.objects.get(round__project=project)
    assert f"round 2 of cli-round: 3 prompts (generation job {job.pk})" in out
    assert "Succeeded: 3/3 prompts" in out
    assert "generating [" in err and "3/3 prompts (100%)" in err
    items = Item.objects.filter(project=project, round=2)
    assert items.count() == 3 and all(item.responses.count() == 2 for item in items)


@pytest.mark.django_db
def test_queue_leaves_the_job_to_the_workers(warm_policy):
    project = _project(3)
    generator_save(project=project, name="tiny", kind="local", model_path=str(warm_policy))
    out, _ = _call(project.slug, "--prompts", "2", "--queue")
    job = GenerationJob.objects.get(round__project=project)
    assert job.state == JobState.QUEUED and len(job.prompt_ids) == 2
    assert "round 2 of cli-round: 2 prompts" in out and "Succeeded" not in out
    assert not Item.objects.filter(project=project, round=2).exists()


@pytest.mark.django_db
def test_mistakes_are_named_and_start_nothing(warm_policy):
    project = _project(3)
    with pytest.raises(CommandError, match="no project 'nope'"):
        _call("nope")
    with pytest.raises(CommandError, match="generators: the project has no active generator"):
        _call(project.slug)
    generator_save(project=project, name="tiny", kind="local", model_path=str(warm_policy))
    with pytest.raises(CommandError, match=r"--generator: no generator 'big' \(this project "
                                           r"has: tiny\)"):  # fmt: skip
        _call(project.slug, "--generator", "big")
    with pytest.raises(CommandError, match="Unsure prompts need a reward model"):
        _call(project.slug, "--source", "uncertain")
    assert not Round.objects.filter(project=project).exists()


def _served_project(base_url):
    project = _project(64)
    generator_save(project=project, name="served", kind="openai", base_url=base_url,
                   model_name="tiny-served", max_retries=1, timeout_s=30, **SHORT)  # fmt: skip
    return project


def _press_ctrl_c(err: io.StringIO, *after: str) -> threading.Thread:
    """A person at the terminal: a real SIGINT to this process (the command runs in its
    main thread, where Python delivers signals) once each text is on the error stream."""

    def watch() -> None:
        for text in after:
            deadline = time.monotonic() + 120
            while text not in err.getvalue() and time.monotonic() < deadline:
                time.sleep(0.05)
            os.kill(os.getpid(), signal.SIGINT)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def _run_with(err: io.StringIO, project) -> str:
    out = io.StringIO()
    old_stderr, sys.stderr = sys.stderr, err
    try:
        call_command("start_round", project.slug, "--prompts", "64", stdout=out, stderr=err)
    finally:
        sys.stderr = old_stderr
    return out.getvalue()


@pytest.mark.django_db
def test_ctrl_c_cancels_after_the_chunk_it_is_on(slow_endpoint):
    project = _served_project(slow_endpoint)
    err = io.StringIO()
    _press_ctrl_c(err, "16/64 prompts")  # once the first chunk is stored
    out = _run_with(err, project)
    assert "cancelling after this chunk" in err.getvalue()
    job = GenerationJob.objects.get(round__project=project)
    assert job.state == JobState.CANCELLED and 16 <= job.prompts_done < 64
    assert f"Cancelled: {job.prompts_done}/64 prompts" in out
    items = Item.objects.filter(project=project, round=2)
    assert items.count() == job.prompts_done
    assert all(item.responses.count() == 2 for item in items)


@pytest.mark.django_db
def test_a_second_ctrl_c_stops_at_once_and_leaves_no_job_running(slow_endpoint):
    project = _served_project(slow_endpoint)
    err = io.StringIO()
    _press_ctrl_c(err, "16/64 prompts", "cancelling after this chunk")
    with pytest.raises(KeyboardInterrupt):  # interrupted mid-chunk
        _run_with(err, project)
    job = GenerationJob.objects.get(round__project=project)
    assert job.state == JobState.CANCELLED and job.finished_at is not None
    assert job.error == "stopped from the command line"
    items = Item.objects.filter(project=project, round=2)
    assert items.count() >= 16 and all(item.responses.count() == 2 for item in items)
