"""Many annotators claiming and submitting at once: overlap holds, nobody gets an item twice.

On PostgreSQL this runs 32 threads over 800 items (overlap 3). On SQLite it needs a
file database (threads share it through real connections), so the PostgreSQL run
also starts a smaller SQLite run in a subprocess.
"""

import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count

from annotation.models import Annotation, Assignment, AssignmentState, Item
from annotation.quality.services.stale_items import stale_items_refresh
from annotation.services.claim_flow import claim_next
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from tests.factories import add_member, make_items, make_project

ROOT = Path(__file__).resolve().parents[2]


def shareable_database() -> bool:
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and not connection.is_in_memory_db()


def _claim(user, project, one_statement: bool):
    """A claim by the one-statement path (PostgreSQL; SQLite falls back) or the ORM path."""
    if one_statement:
        view = claim_next(user=user, project=project).view
        return view.assignment if view else None
    return assignment_claim(user=user, project=project)


def _annotate_until_empty(user, project, results: list, errors: list, barrier) -> None:
    try:
        barrier.wait()
        # Half the annotators claim by each path, so the two run against each other.
        one_statement = user.pk % 2 == 0
        while True:
            assignment = _claim(user, project, one_statement)
            if assignment is None:
                return
            token = f"{user.pk}-{assignment.pk}"
            payload = {"ranking": [[rid] for rid in assignment.display_order]}
            _, created = annotation_submit(
                assignment_id=assignment.pk, user=user, payload=payload, client_token=token
            )
            # A retry with the same token must return the stored annotation, not a new one.
            _, again = annotation_submit(
                assignment_id=assignment.pk, user=user, payload=payload, client_token=token
            )
            results.append((user.pk, assignment.item_id, created, again))
    except Exception as exc:  # surfaced by the assertion below, with its thread's story
        errors.append(repr(exc))
    finally:
        connection.close()


def _quality_worker(project_id: int, done: threading.Event, errors: list) -> None:
    """Quality's worker pass, run over and over while the submits land, then once more."""
    try:
        while not done.wait(0.05):
            stale_items_refresh(project_id=project_id)
        stale_items_refresh(project_id=project_id)
    except Exception as exc:
        errors.append(f"quality pass: {exc!r}")
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_annotators_never_break_overlap():
    if not shareable_database():
        pytest.skip("needs PostgreSQL or a file SQLite database (see the subprocess test)")
    big = connection.vendor == "postgresql"
    threads, items, overlap = (32, 800, 3) if big else (8, 150, 3)
    # given
    project = make_project(slug="race", responses_per_item=4, overlap=overlap)
    people = [add_member(project, username=f"racer{n}") for n in range(threads)]
    make_items(project, items)
    barrier = threading.Barrier(threads)
    results: list = []
    errors: list = []
    # when
    workers = [
        threading.Thread(target=_annotate_until_empty, args=(p, project, results, errors, barrier))
        for p in people
    ]
    done = threading.Event()
    quality = threading.Thread(target=_quality_worker, args=(project.pk, done, errors))
    quality.start()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=600)
    done.set()
    quality.join(timeout=600)
    # then
    assert errors == []
    assert all(created and not again for _, _, created, again in results)
    pairs = Counter((user, item) for user, item, _, _ in results)
    assert max(pairs.values()) == 1, "an annotator got the same item twice"
    assert len(results) == items * overlap, "every item should reach its overlap exactly"
    assert Annotation.objects.filter(project=project).count() == items * overlap
    per_item = Annotation.objects.filter(project=project).values("item").annotate(n=Count("id"))
    assert {row["n"] for row in per_item} == {overlap}
    assert not Item.objects.filter(project=project).exclude(open_slots=0).exists()
    assert not Item.objects.filter(project=project).exclude(submitted_count=overlap).exists()
    assert not Assignment.objects.filter(project=project, state=AssignmentState.ACTIVE).exists()
    # and the quality sums that every submit moves were moved exactly once each, by the
    # worker's passes running beside the submits, with no deadlock between them (errors
    # above would hold it) and no item left stale
    assert not Item.objects.filter(project=project, stats_stale=True).exists()
    from annotation.quality.models import AnnotatorPairStats, AnnotatorStats, ItemStats
    from annotation.quality.selectors.figures import project_agreement
    from annotation.quality.services.fold import quality_deltas_fold

    quality_deltas_fold(project_id=project.pk)
    assert set(ItemStats.objects.filter(project=project).values_list("judgements", flat=True)) == {
        overlap
    }
    assert sum(AnnotatorStats.objects.values_list("judgements", flat=True)) == items * overlap
    pair_items = sum(AnnotatorPairStats.objects.values_list("items", flat=True))
    assert pair_items == items * overlap * (overlap - 1) // 2
    assert project_agreement(project).items_multi == items


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_submit_store_one_annotation(project, annotator):
    if not shareable_database():
        pytest.skip("needs PostgreSQL or a file SQLite database")
    make_items(project, 1)
    assignment = assignment_claim(user=annotator, project=project)
    payload = {"ranking": [[rid] for rid in assignment.display_order]}
    outcomes: list = []

    def retry():
        try:
            outcomes.append(
                annotation_submit(
                    assignment_id=assignment.pk,
                    user=annotator,
                    payload=payload,
                    client_token="same",
                )[1]
            )
        finally:
            connection.close()

    workers = [threading.Thread(target=retry) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(outcomes) == [False] * 5 + [True]
    assert Annotation.objects.filter(assignment=assignment).count() == 1


def test_sqlite_file_database_under_concurrency(tmp_path):
    """The embedded default (SQLite) must be just as correct: rerun the threaded tests on a file."""
    if connection.vendor == "sqlite" and not connection.is_in_memory_db():
        pytest.skip("already running on a file SQLite database")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'preflab.sqlite3'}",
        "PREFLAB_SQLITE_TEST_FILE": str(tmp_path / "test_preflab.sqlite3"),
        "PREFLAB_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("REDIS_URL", None)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         f"{Path(__file__).relative_to(ROOT)}::test_concurrent_annotators_never_break_overlap",
         f"{Path(__file__).relative_to(ROOT)}::test_concurrent_retries_of_one_submit_store_one_annotation",
         "tests/annotation/test_write_queue_concurrency.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    assert "3 passed" in completed.stdout
