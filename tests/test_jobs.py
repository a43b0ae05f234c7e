"""Jobs of every kind say why they wait or stopped (common.jobs, common.workers): a dead
broker fails the job it refused and answers 503; reads need no cache; a queue no worker
consumes is named with the command that starts one; a running job nobody holds is
cancelled at once (its scratch removed) and reaped, while one a worker holds is not."""

import time
import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.importing.models import ImportJob
from common.errors import ConflictError
from common.jobs import JobState, job_cancel, jobs_reap
from common.worker_hooks import WorkerBeat
from common.workers import task_hold
from projects.models import Role
from tests.factories import add_member, make_project
from training.datasets.forms import SnapshotForm
from training.datasets.models import DatasetSnapshot
from training.datasets.services.snapshots import snapshot_cancel
from training.loop.models import GenerationJob
from training.runs.models import TrainingRun

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connections are refused


@pytest.fixture
def broker_down(monkeypatch):
    """The broker unreachable, as in an outage: Celery reads its URL from the environment
    first, and its connection pools are made again from it."""
    from config.celery import app

    def fresh_pools():
        app._pool = None
        app.amqp._producer_pool = None

    monkeypatch.setenv("CELERY_BROKER_URL", DEAD_REDIS)
    fresh_pools()
    yield
    monkeypatch.undo()
    fresh_pools()


@pytest.fixture
def people(db):
    project = make_project(slug=f"jobs-{uuid.uuid4().hex[:6]}", responses_per_item=2)
    return (
        project,
        add_member(project, Role.MANAGER, "boss"),
        add_member(project, Role.ENGINEER, "eng"),
    )


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _initial_data(form_class) -> dict:
    """What a person submits who changes nothing on the form."""
    data = {}
    for name, field in form_class().fields.items():
        value = field.initial
        if value is None and getattr(field, "choices", None):
            value = next(iter(field.choices))[0]
        if value is not None:
            data[name] = value
    return data


def _jsonl_upload() -> SimpleUploadedFile:
    row = b'{"id": "p1", "prompt": "Hi?", "responses": ["Hello.", "Hey."]}\n'
    return SimpleUploadedFile("rows.jsonl", row)


@pytest.mark.django_db(transaction=True)
def test_a_dead_broker_fails_the_snapshot_and_answers_503(people, broker_down):
    project, _, engineer = people
    # when an engineer asks for a snapshot while the broker is down
    response = _api(engineer).post(
        f"/api/v1/projects/{project.slug}/snapshots/", {"formats": ["pairwise"]}, format="json"
    )
    # then the answer says the queue is unreachable, and the snapshot is failed, not queued
    assert response.status_code == 503, response.content
    assert "unreachable" in response.json()["message"]
    snapshot = DatasetSnapshot.objects.get(project=project)
    assert snapshot.state == JobState.FAILED
    assert "refused" in snapshot.error and snapshot.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_dead_broker_fails_the_import_and_answers_503(people, broker_down):
    project, manager, _ = people
    response = _api(manager).post(
        f"/api/v1/projects/{project.slug}/imports/", {"file": _jsonl_upload()}, format="multipart"
    )
    assert response.status_code == 503, response.content
    job = ImportJob.objects.get(project=project)
    assert job.state == JobState.FAILED and "refused" in job.message


@pytest.mark.django_db(transaction=True)
def test_the_snapshot_page_answers_503_with_the_reason_when_the_broker_is_down(
    people, broker_down, client
):
    project, _, engineer = people
    client.force_login(engineer)
    page = client.post(f"/p/{project.slug}/snapshots/", _initial_data(SnapshotForm))
    assert page.status_code == 503, page.content[:2000]
    assert b"unreachable" in page.content
    assert DatasetSnapshot.objects.get(project=project).state == JobState.FAILED


def test_an_import_status_answers_while_the_cache_is_down(people, settings):
    project, manager, _ = people
    job = ImportJob.objects.create(
        project=project, uploaded_by=manager, file_path="x.jsonl", original_name="x.jsonl",
        file_format="jsonl", state=JobState.RUNNING, celery_task_id=str(uuid.uuid4()),
    )  # fmt: skip
    # given a cache (Redis) that refuses every connection
    settings.CACHES = {
        "default": {
            "BACKEND": "common.redis_cache.RedisCache",
            "LOCATION": DEAD_REDIS,
        }
    }
    # then the import's status still answers, from its row
    response = _api(manager).get(f"/api/v1/imports/{job.pk}/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "running"


def test_a_queue_nobody_consumes_is_named_with_the_command(people):
    project, _, engineer = people
    snapshot = DatasetSnapshot.objects.create(project=project, number=1, options={})
    run = TrainingRun.objects.create(project=project, kind="reward", snapshot=snapshot)
    # given no worker on the gpu queue (none wrote a sign of life, Celery's control finds none)
    body = _api(engineer).get(f"/api/v1/training-runs/{run.pk}/").json()
    # then the run's answer says so, with the command that starts one
    assert "No worker is consuming the gpu queue" in body["waiting"]
    assert ".venv/bin/celery -A config worker -Q gpu" in body["waiting"]
    # and a worker's beat on that queue clears it
    WorkerBeat("gpu@test", ["gpu"]).beat()
    assert _api(engineer).get(f"/api/v1/training-runs/{run.pk}/").json()["waiting"] is None


def test_a_queued_run_behind_a_busy_gpu_worker_says_so(people):
    from celery.worker.state import active_requests

    project, _, engineer = people
    snapshot = DatasetSnapshot.objects.create(project=project, number=1, options={})
    run = TrainingRun.objects.create(project=project, kind="reward", snapshot=snapshot)

    class Running:  # what a worker's state holds for the task it runs
        id = str(uuid.uuid4())

    # given the only gpu worker running another job
    task = Running()
    active_requests.add(task)
    try:
        WorkerBeat("gpu@busy", ["gpu"]).beat()
    finally:
        active_requests.discard(task)
    # then the queued run says why it waits
    waiting = _api(engineer).get(f"/api/v1/training-runs/{run.pk}/").json()["waiting"]
    assert "busy" in waiting
    # and once a worker there is idle, nothing is said
    WorkerBeat("gpu@busy", ["gpu"]).beat()
    assert _api(engineer).get(f"/api/v1/training-runs/{run.pk}/").json()["waiting"] is None


def test_the_run_page_names_the_gpu_queue_nobody_consumes(people, client):
    project, _, engineer = people
    snapshot = DatasetSnapshot.objects.create(project=project, number=1, options={})
    run = TrainingRun.objects.create(project=project, kind="reward", snapshot=snapshot)
    WorkerBeat("default@test", ["default"]).beat()  # a worker, but not on gpu
    client.force_login(engineer)
    page = client.get(f"/p/{project.slug}/runs/{run.pk}/", headers={"HX-Request": "true"})
    assert b"data-waiting" in page.content
    assert b"No worker is consuming the gpu queue" in page.content
    assert b"worker -Q gpu" in page.content


def _running_snapshot(project, engineer) -> tuple[DatasetSnapshot, str]:
    snapshot = DatasetSnapshot.objects.create(
        project=project, number=1, options={}, created_by=engineer,
        state=JobState.RUNNING, celery_task_id=str(uuid.uuid4()),
    )  # fmt: skip
    folder = f"snapshots/.partial/{snapshot.pk}-{uuid.uuid4().hex}"
    default_storage.save(f"{folder}/pairwise.jsonl", ContentFile(b"half a file"))
    return snapshot, folder


def test_cancel_stops_at_once_a_snapshot_no_worker_runs(people, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)},
    }}  # fmt: skip
    project, _, engineer = people
    snapshot, folder = _running_snapshot(project, engineer)
    # when it is cancelled while no worker holds its task (its worker was killed)
    cancelled = snapshot_cancel(snapshot=snapshot)
    # then it is cancelled at once, and its scratch folder is gone
    assert cancelled.state == JobState.CANCELLED and "stopped" in cancelled.error
    assert not default_storage.exists(folder)


def test_cancel_of_a_snapshot_a_worker_holds_is_left_to_that_worker(people, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)},
    }}  # fmt: skip
    project, _, engineer = people
    snapshot, folder = _running_snapshot(project, engineer)
    task_hold(snapshot.celery_task_id, "default@alive")
    cancelled = snapshot_cancel(snapshot=snapshot)
    # the worker hears the request after its chunk; nothing is taken from under it
    assert cancelled.state == JobState.RUNNING
    assert default_storage.exists(folder)


def test_the_reaper_waits_out_a_redelivery_then_fails_a_job_nobody_holds(people, settings):
    settings.PREFLAB_JOB_LOST_SECONDS = 3600
    project, _, engineer = people
    held = DatasetSnapshot.objects.create(
        project=project, number=1, options={}, state=JobState.RUNNING,
        celery_task_id=str(uuid.uuid4()),
    )  # fmt: skip
    lost = DatasetSnapshot.objects.create(
        project=project, number=2, options={}, state=JobState.RUNNING,
        celery_task_id=str(uuid.uuid4()),
    )  # fmt: skip
    task_hold(held.celery_task_id, "default@alive")
    # first sight of a missing task: it may be on its way back to a worker
    assert jobs_reap() == 0
    # once missing longer than a redelivery takes, it is failed; the held one stays
    settings.PREFLAB_JOB_LOST_SECONDS = 0
    assert jobs_reap() == 1
    lost.refresh_from_db()
    held.refresh_from_db()
    assert lost.state == JobState.FAILED and "stopped" in lost.error
    assert held.state == JobState.RUNNING


def test_a_restarted_worker_fails_at_once_what_it_held_before(people, settings):
    settings.PREFLAB_JOB_LOST_SECONDS = 3600
    project, _, _ = people
    job = DatasetSnapshot.objects.create(
        project=project, number=1, options={}, state=JobState.RUNNING,
        celery_task_id=str(uuid.uuid4()),
    )  # fmt: skip
    task_hold(job.celery_task_id, "default@box")  # the mark outlives the killed worker
    assert jobs_reap(restarted="default@box") == 1
    job.refresh_from_db()
    assert job.state == JobState.FAILED


def test_the_loop_page_shows_a_job_s_tokens_per_second_and_why_it_waits(people, client):
    from training.loop.models import GenerationJob, Generator, Round

    project, _, engineer = people
    local = Generator.objects.create(project=project, name="g", kind="local", model_path="/m")
    rounds = [Round.objects.create(project=project, number=n, prompt_source="new") for n in (2, 3)]
    running, queued = (
        GenerationJob.objects.create(project=project, round=r, item_round=r.number, prompt_ids=[1],
                                     state=state, tokens_per_second=rate)
        for r, state, rate in ((rounds[0], "running", 12.5), (rounds[1], "queued", None))
    )  # fmt: skip
    for job in (running, queued):
        job.generators.set([local])
    client.force_login(engineer)
    page = client.get(f"/p/{project.slug}/loop/?part=rounds", headers={"HX-Request": "true"})
    assert b"12.5 tokens/s" in page.content
    assert b"No worker is consuming the gpu queue" in page.content


@pytest.mark.parametrize("kind", ["import", "snapshot"])
def test_a_cancel_with_the_cache_down_answers_503_and_changes_nothing(people, settings, kind):
    # given a running import or snapshot, and a cache (Redis) that refuses every connection
    project, manager, _ = people
    if kind == "import":
        job = ImportJob.objects.create(
            project=project, uploaded_by=manager, file_path="x.jsonl", original_name="x.jsonl",
            file_format="jsonl", state=JobState.RUNNING, celery_task_id=str(uuid.uuid4()),
        )  # fmt: skip
        url = f"/api/v1/imports/{job.pk}/cancel/"
    else:
        job = DatasetSnapshot.objects.create(
            project=project, number=1, options={}, state=JobState.RUNNING
        )
        url = f"/api/v1/snapshots/{job.pk}/cancel/"
    settings.CACHES = {
        "default": {"BACKEND": "common.redis_cache.RedisCache",
                    "LOCATION": DEAD_REDIS}
    }  # fmt: skip

    # when the manager cancels it
    response = _api(manager).post(url)

    # then the answer says why it cannot, and the job is as it was
    assert response.status_code == 503, response.content
    assert "Redis" in response.json()["message"]
    job.refresh_from_db()
    assert job.state == "running"


# --- one cancel, one reaper (common.jobs.job_cancel, jobs_reap) ------------------------


def _queued(kind: str, project, user):
    """A queued job of each kind, as its service would have made it."""
    if kind == "import":
        return ImportJob.objects.create(
            project=project, uploaded_by=user, file_path="x.jsonl", original_name="x.jsonl",
            file_format="jsonl",
        )  # fmt: skip
    snapshot = DatasetSnapshot.objects.create(project=project, number=1, options={})
    if kind == "snapshot":
        return snapshot
    if kind == "run":
        return TrainingRun.objects.create(project=project, kind="reward", snapshot=snapshot)
    return GenerationJob.objects.create(project=project, prompt_ids=[1])


@pytest.mark.parametrize("kind", ["import", "snapshot", "run", "generation"])
def test_every_kind_of_job_is_cancelled_by_the_same_rules(people, kind):
    # given a queued job of any kind
    project, manager, _ = people
    job = _queued(kind, project, manager)
    # when it is cancelled
    cancelled = job_cancel(job)
    # then it is cancelled at once, says so, and carries the request on its row
    assert cancelled.state == JobState.CANCELLED and cancelled.is_finished
    assert cancelled.error == "cancelled before it started" and cancelled.cancel_requested
    assert cancelled.finished_at is not None
    # and a second cancel is a conflict naming the job's word for itself
    with pytest.raises(ConflictError, match="has already cancelled"):
        job_cancel(cancelled)


def _silent_run(project, *, seconds: int) -> TrainingRun:
    snapshot = DatasetSnapshot.objects.create(project=project, number=1, options={})
    return TrainingRun.objects.create(
        project=project, kind="reward", snapshot=snapshot, state=JobState.RUNNING,
        heartbeat_at=timezone.now() - timedelta(seconds=seconds),
    )  # fmt: skip


def test_the_reaper_fails_a_run_whose_launcher_stopped_beating_and_keeps_a_live_one(
    people, settings
):
    # given a run silent longer than the heartbeat limit, and one that beat just now
    settings.PREFLAB_RUN_HEARTBEAT_TIMEOUT = 120
    project, _, _ = people
    silent = _silent_run(project, seconds=600)
    alive = TrainingRun.objects.create(
        project=project, kind="reward", snapshot=silent.snapshot, state=JobState.RUNNING,
        heartbeat_at=timezone.now(),
    )  # fmt: skip
    # when the reaper runs
    assert jobs_reap() == 1
    # then only the silent one failed, saying why and how to resume
    silent.refresh_from_db()
    alive.refresh_from_db()
    assert silent.state == JobState.FAILED and "no heartbeat for 120 s" in silent.error
    assert "launch it again" in silent.error and silent.finished_at is not None
    assert alive.state == JobState.RUNNING


@pytest.mark.django_db(transaction=True)
def test_a_worker_s_beat_thread_reaps_a_lost_run_without_any_request(settings):
    # given a run whose launcher stopped beating ten minutes ago, and nobody reading it
    settings.PREFLAB_RUN_HEARTBEAT_TIMEOUT = 120
    project = make_project(slug=f"reap-{uuid.uuid4().hex[:6]}", responses_per_item=2)
    run = _silent_run(project, seconds=600)
    # when a worker starts (its beat thread reaps at once, then every REAP_EVERY_S)
    beat = WorkerBeat("default@reaper", ["default"])
    beat.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.state != JobState.RUNNING:
                break
            time.sleep(0.1)
    finally:
        beat.stopped.set()
        beat.join(10)
    # then the run failed in the background, no page or API call involved
    assert run.state == JobState.FAILED and "no heartbeat" in run.error
