"""A real Celery worker (the configured broker, Redis in CI) runs an export; a worker
killed half-way publishes nothing, and the retry writes the same bytes as a clean run."""

import time
import uuid

import pytest
from django.core.files.storage import default_storage

from annotation.models import Annotation, Assignment, AssignmentState
from common.jobs import JobState
from common.progress import Progress
from projects.models import Role
from tests.conftest import WORKER_SKIP_REASON, start_celery_worker, worker_can_share_database
from tests.factories import add_member, make_items, make_project
from training.datasets.models import DatasetSnapshot
from training.datasets.services.snapshots import (
    snapshot_create,
    snapshot_export,
    snapshot_folder,
    snapshot_progress,
)
from training.datasets.tasks import snapshot_export as snapshot_task

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def snapshot_storage():
    """The worker publishes into the storage its environment names: use the same one."""
    return None


def _judged_project(items: int):
    # a fresh slug: the storage folder outlives the test database between local runs
    slug = f"worker-export-{uuid.uuid4().hex[:8]}"
    project = make_project(slug=slug, responses_per_item=3, overlap=1)
    made = make_items(project, items)
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    engineer = add_member(project, Role.ENGINEER, "eng")
    for item in made:
        ids = sorted(item.item_responses.values_list("response_id", flat=True))
        assignment = Assignment.objects.create(
            item=item, user=annotator, project=project, state=AssignmentState.SUBMITTED,
            claimed_at=item.created_at, lease_expires_at=item.created_at, display_order=ids,
        )  # fmt: skip
        Annotation.objects.create(
            assignment=assignment, item=item, user=annotator, project=project, mode="rank",
            ranking=[[rid] for rid in ids], display_order=ids, time_spent_ms=1000,
        )  # fmt: skip
    return project, engineer


def _wait(snapshot_id, until, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        snapshot = DatasetSnapshot.objects.get(pk=snapshot_id)
        if until(snapshot):
            return snapshot
        time.sleep(0.01)
    pytest.fail(f"snapshot never got there: {snapshot.state} {snapshot.error}")


def _digests(snapshot):
    return {f.name: f.sha256 for f in snapshot.files.exclude(split="")}


@pytest.fixture
def worker_log(tmp_path):
    if not worker_can_share_database():
        pytest.skip(WORKER_SKIP_REASON)
    return tmp_path


def test_a_killed_export_publishes_nothing_and_the_retry_matches_a_clean_run(worker_log):
    project, engineer = _judged_project(600)
    options = {"formats": ["pairwise", "listwise"], "splits": {"train": 0.8, "test": 0.2}}
    # a clean run in this process, for the bytes to compare with
    clean, _ = snapshot_create(project=project, user=engineer, options=options, enqueue=False)
    clean = snapshot_export(snapshot_id=clean.pk)
    assert clean.state == JobState.SUCCEEDED
    # given a worker exporting in small chunks (so it is caught half-way)
    slow = {"PREFLAB_EXPORT_CHUNK_ITEMS": "1"}
    worker = start_celery_worker(worker_log / "first.log", slow)
    try:
        snapshot, _ = snapshot_create(
            project=project, user=engineer, options=options, enqueue=False
        )
        snapshot_task.delay(snapshot.pk)
        # kill as soon as the first chunks are written (progress is in the shared cache)
        _wait(snapshot.pk, lambda s: (snapshot_progress(s) or Progress("", 0, 0)).done > 0, 30)
        # when the worker dies mid-run
        worker.kill()
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    # then nothing is published
    snapshot.refresh_from_db()
    assert snapshot.state == JobState.RUNNING, (worker_log / "first.log").read_text()[-2000:]
    assert not snapshot.files.exists()
    published, _files = default_storage.listdir(f"snapshots/{project.slug}")
    assert str(snapshot.number) not in published
    # and the retry (a new worker taking the task again) writes the clean run's bytes
    worker = start_celery_worker(worker_log / "second.log")
    try:
        snapshot_task.delay(snapshot.pk)
        done = _wait(snapshot.pk, lambda s: s.is_finished)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    assert done.state == JobState.SUCCEEDED, done.error
    assert _digests(done) == _digests(clean) and _digests(done)
    assert default_storage.exists(f"{snapshot_folder(done)}/manifest.json")
