"""Two requests of one annotator at once (a double click, a second tab) wait; none fails.

PostgreSQL checks a foreign key when the transaction commits, taking a KEY SHARE lock
on the referenced row. A submit commits its annotation (-> its user's row) while a
claim of the same user, holding that user's row to serialise claims, waits for the
submit's assignment: the two used to deadlock, and one request answered 500.
"""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from annotation.authoring.models import WriteAssignment
from annotation.authoring.services.prompts import prompt_write
from annotation.authoring.services.response_queue import write_claim, write_submit
from annotation.models import Annotation, Assignment, AssignmentState, Prompt
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from tests.conftest import is_postgres
from tests.factories import add_member, make_items, make_project

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _waiting_on_a_lock(pid: int) -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def _race(submit, claim) -> tuple[list, list]:
    """Run ``submit`` up to its commit, then ``claim`` until it waits, then commit.

    The submit's commit is where PostgreSQL checks its foreign keys: the moment the
    deadlock needed.
    """
    errors: list = []
    claimed: list = []
    claim_pid: list[int] = []
    submitted = threading.Event()
    claim_waits = threading.Event()

    def submitter():
        try:
            with transaction.atomic():
                submit()
                submitted.set()
                claim_waits.wait(timeout=30)
        except Exception as exc:  # reported by the assertion, with its side's story
            errors.append(f"submit: {exc!r}")
        finally:
            submitted.set()
            connection.close()

    def claimer():
        try:
            submitted.wait(timeout=30)
            claim_pid.append(connection.cursor().connection.info.backend_pid)
            claimed.append(claim())
        except Exception as exc:
            errors.append(f"claim: {exc!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=submitter), threading.Thread(target=claimer)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while not (claim_pid and _waiting_on_a_lock(claim_pid[0])) and time.monotonic() < deadline:
        if not threads[1].is_alive():
            break
        time.sleep(0.02)
    claim_waits.set()
    for thread in threads:
        thread.join(timeout=60)
    return errors, claimed


def test_a_claim_beside_a_submit_of_the_same_annotator_waits_for_it(project, annotator):
    if not is_postgres():
        pytest.skip("the deadlock is PostgreSQL's (SQLite serialises every write)")
    # given an annotator holding a lease, with more items left
    make_items(project, 3)
    lease = assignment_claim(user=annotator, project=project)
    payload = {"ranking": [[rid] for rid in lease.display_order]}
    # when one tab submits it while another claims
    errors, claimed = _race(
        submit=lambda: annotation_submit(assignment_id=lease.pk, user=annotator, payload=payload),
        claim=lambda: assignment_claim(user=annotator, project=project),
    )
    # then both succeed, and the claim serves a new item, not the lease just submitted
    assert errors == []
    assert Annotation.objects.filter(assignment=lease).count() == 1
    (fresh,) = claimed
    assert fresh is not None and fresh.pk != lease.pk
    assert fresh.state == AssignmentState.ACTIVE
    assert Assignment.objects.get(pk=lease.pk).state == AssignmentState.SUBMITTED


def test_a_write_claim_beside_a_write_submit_of_the_same_writer_waits_for_it(db):
    if not is_postgres():
        pytest.skip("the deadlock is PostgreSQL's (SQLite serialises every write)")
    # given a writer holding a write lease, with more prompts waiting for responses
    project = make_project(
        slug="wtab", prompt_writing=True, response_source="queue", responses_per_item=2
    )
    author, writer = add_member(project, username="author"), add_member(project, username="w")
    for n in range(3):
        text = f"Prompt {n}: " + " ".join(f"word{n * 5 + j}" for j in range(10))
        prompt_write(project=project, user=author, messages=[{"role": "user", "content": text}])
    lease = write_claim(user=writer, project=project)
    # when one tab submits the response while another claims
    errors, claimed = _race(
        submit=lambda: write_submit(assignment_id=lease.pk, user=writer, text="An answer."),
        claim=lambda: write_claim(user=writer, project=project),
    )
    # then both succeed, and the claim serves another prompt
    assert errors == []
    (fresh,) = claimed
    assert fresh is not None and fresh.pk != lease.pk
    assert WriteAssignment.objects.get(pk=lease.pk).state == AssignmentState.SUBMITTED
    assert Prompt.objects.filter(pk=fresh.prompt_id).exists()
