"""Real Celery workers (the configured broker: Redis in CI) tell the platform what they
cannot do: a task that fails before its service could say why fails its job with the
reason within seconds; a gpu worker without torch refuses launches before they queue; a
worker that starts fails the jobs a killed predecessor left running."""

import time
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from common.jobs import JobState, job_enqueue_on_commit
from common.workers import training_unavailable_reason
from tests.conftest import WORKER_SKIP_REASON, start_celery_worker, worker_can_share_database
from tests.training.run_helpers import project_with_listwise_snapshot
from training.datasets.models import DatasetSnapshot
from training.runs.models import TrainingRun
from training.runs.services.runs import run_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def snapshot_storage():
    """The worker reads and writes the storage its environment names: the same one."""
    return None


@pytest.fixture
def no_torch_worker(tmp_path):
    """A gpu worker whose environment has no usable torch (as a web-only image): a
    ``torch`` package first on its path that fails to import, as a missing one does."""
    if not worker_can_share_database():
        pytest.skip(WORKER_SKIP_REASON)
    fake = tmp_path / "site" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        'raise ModuleNotFoundError("No module named \'torch\'", name="torch")\n'
    )
    worker = start_celery_worker(
        tmp_path / "worker.log", env_extra={"PYTHONPATH": str(fake.parent)}, queues="gpu"
    )
    yield worker
    worker.kill()
    worker.wait()


def _until(read, check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = read()
        if check(value):
            return value
        time.sleep(0.2)
    pytest.fail(f"{what} never happened; last seen: {value}")


def test_a_run_whose_launcher_cannot_import_torch_fails_with_the_reason(no_torch_worker):
    # given a run queued for a gpu worker that has no torch
    project, snapshot, engineer = project_with_listwise_snapshot(items=8)
    run, _ = run_create(project=project, user=engineer, kind="reward", snapshot=snapshot,
                        hyperparameters={"epochs": 1}, enqueue=False)  # fmt: skip
    # when it is queued (the task fails in the worker a moment later)
    job_enqueue_on_commit(run)
    # then the run fails within seconds, saying why and what fixes it
    failed = _until(
        lambda: TrainingRun.objects.get(pk=run.pk),
        lambda r: r.state != JobState.QUEUED,
        30,
        "the run leaving the queue",
    )
    assert failed.state == JobState.FAILED
    assert "ModuleNotFoundError" in failed.error and "torch" in failed.error
    assert "make ml" in failed.error
    assert failed.finished_at is not None


def test_gpu_workers_without_torch_refuse_a_launch_with_the_command(no_torch_worker):
    # given a gpu worker that has said it cannot import torch
    project, snapshot, engineer = project_with_listwise_snapshot(items=8)
    _until(training_unavailable_reason, bool, 60, "the worker reporting no torch")
    client = APIClient()
    client.force_authenticate(engineer)
    # when an engineer launches a run through the API
    response = client.post(
        "/api/v1/training-runs/",
        {"project": project.slug, "kind": "reward", "snapshot": snapshot.pk,
         "client_token": uuid.uuid4().hex},
        format="json",
    )  # fmt: skip
    # then it is refused with the command that installs the training stack; nothing queues
    assert response.status_code == 503, response.content
    assert "make ml" in response.json()["message"]
    assert not TrainingRun.objects.filter(project=project).exists()
    # and the launch page says so before anyone tries
    client.force_login(engineer)
    page = client.get(f"/p/{project.slug}/runs/")
    assert page.status_code == 200
    assert b"data-training-unavailable" in page.content and b"make ml" in page.content


def test_a_starting_worker_fails_the_snapshot_its_killed_predecessor_left_running(tmp_path):
    if not worker_can_share_database():
        pytest.skip(WORKER_SKIP_REASON)
    # given a snapshot left running by a worker killed with it (its task held by no one)
    # and the scratch folder it was writing
    project, snapshot, engineer = project_with_listwise_snapshot(items=4)
    lost = DatasetSnapshot.objects.create(
        project=project, number=snapshot.number + 1, options=snapshot.options,
        created_by=engineer, state=JobState.RUNNING, celery_task_id=str(uuid.uuid4()),
    )  # fmt: skip
    scratch = f"snapshots/.partial/{lost.pk}-{uuid.uuid4().hex}/pairwise.jsonl"
    default_storage.save(scratch, ContentFile(b"half a file"))
    # when a worker starts (reaping at once: no grace for redeliveries in this test)
    worker = start_celery_worker(
        tmp_path / "worker.log", env_extra={"PREFLAB_JOB_LOST_SECONDS": "0"}, queues="default"
    )
    try:
        # then the snapshot fails, saying why, and its scratch folder is gone
        reaped = _until(
            lambda: DatasetSnapshot.objects.get(pk=lost.pk),
            lambda s: s.state != JobState.RUNNING,
            30,
            "the lost snapshot being reaped",
        )
        folder = scratch.rsplit("/", 1)[0]
        _until(lambda: default_storage.exists(folder), lambda e: not e, 10, "scratch removed")
    finally:
        worker.kill()
        worker.wait()
    assert reaped.state == JobState.FAILED
    assert "worker" in reaped.error and "stopped" in reaped.error
