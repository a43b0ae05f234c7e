"""One idempotent create (common.idempotency.create_once): a retried request with the same
client_token gets the row its first try made, also when both tries run at the same moment
on PostgreSQL; another unique value taken at once (a number) is chosen again."""

import threading
import uuid

import pytest
from django.db import connection

from common.errors import ApplicationError, ConflictError
from common.idempotency import create_once
from projects.models import Role
from tests.factories import add_member, make_project
from training.datasets.models import DatasetSnapshot


@pytest.fixture
def owner(db):
    project = make_project(slug=f"once-{uuid.uuid4().hex[:6]}", responses_per_item=2)
    return {"project": project, "created_by": add_member(project, Role.ENGINEER, "eng")}


def _snapshot(owner: dict, number: int, token: str | None) -> DatasetSnapshot:
    return DatasetSnapshot.objects.create(**owner, number=number, options={}, client_token=token)


def _at_once(callers) -> list:
    """Run each caller in its own thread and connection, all released together."""
    results: list = [None] * len(callers)

    def run(i, call):
        try:
            results[i] = call()
        except Exception as exc:  # the test reads it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_a_repeated_token_returns_the_row_it_made(owner):
    first, created = create_once(
        DatasetSnapshot, client_token="t-1", owner=owner,
        create=lambda token: _snapshot(owner, 1, token),
    )  # fmt: skip
    again, created_again = create_once(
        DatasetSnapshot, client_token="t-1", owner=owner,
        create=lambda token: pytest.fail("a known token must not create"),
    )  # fmt: skip
    assert created and not created_again and again.pk == first.pk


def test_without_a_token_every_call_creates(owner):
    rows = [
        create_once(
            DatasetSnapshot,
            client_token=None,
            owner=owner,
            create=lambda token, n=n: _snapshot(owner, n, token),
        )  # fmt: skip
        for n in (1, 2)
    ]
    assert [created for _, created in rows] == [True, True]
    assert rows[0][0].client_token is None and rows[0][0].pk != rows[1][0].pk


def test_a_bad_token_is_refused_before_anything_is_made(owner):
    with pytest.raises(ApplicationError, match="client_token"):
        create_once(
            DatasetSnapshot, client_token="x" * 65, owner=owner,
            create=lambda token: pytest.fail("must not create"),
        )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_two_creators_with_one_token_at_the_same_moment_get_one_row():
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite lets one writer in at a time, so this race cannot happen there; CI runs it on PostgreSQL"
        )
    # given one project and two requests carrying the same token
    project = make_project(slug=f"race-{uuid.uuid4().hex[:6]}", responses_per_item=2)
    owner = {"project": project, "created_by": add_member(project, Role.ENGINEER, "eng")}
    both_looked = threading.Barrier(2, timeout=10)

    def creator(number: int):
        def create(token):
            # Both have looked the token up and found nothing before either inserts.
            both_looked.wait()
            return _snapshot(owner, number, token)

        return lambda: create_once(DatasetSnapshot, client_token="same", owner=owner, create=create)

    # when both create at once (distinct numbers: only the token collides)
    results = _at_once([creator(1), creator(2)])
    # then one made the row, the other got that same row back
    assert not any(isinstance(r, Exception) for r in results), results
    assert sorted(created for _, created in results) == [False, True]
    assert results[0][0].pk == results[1][0].pk
    assert DatasetSnapshot.objects.filter(project=project).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_number_taken_at_the_same_moment_is_chosen_again():
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite lets one writer in at a time, so this race cannot happen there; CI runs it on PostgreSQL"
        )
    # given two requests with different tokens that both read "next number: 1"
    project = make_project(slug=f"num-{uuid.uuid4().hex[:6]}", responses_per_item=2)
    owner = {"project": project, "created_by": add_member(project, Role.ENGINEER, "eng")}
    both_read = threading.Barrier(2, timeout=10)

    def creator(token: str):
        tries = []

        def create(checked):
            number = DatasetSnapshot.objects.filter(project=project).count() + 1
            tries.append(number)
            if len(tries) == 1:
                both_read.wait()
            return _snapshot(owner, number, checked)

        return lambda: create_once(
            DatasetSnapshot, client_token=token, owner=owner, create=create, attempts=3
        )

    results = _at_once([creator("a"), creator("b")])
    # then both are made, the loser on its second try, with numbers 1 and 2
    assert not any(isinstance(r, Exception) for r in results), results
    assert [created for _, created in results] == [True, True]
    assert sorted(row.number for row, _ in results) == [1, 2]


def test_a_race_lost_on_every_attempt_is_a_conflict(owner):
    _snapshot(owner, 1, None)
    with pytest.raises(ConflictError, match="try again"):
        create_once(
            DatasetSnapshot, client_token="t-2", owner=owner, attempts=2,
            create=lambda token: _snapshot(owner, 1, token),  # number 1 is always taken
            busy="could not number it; try again",
        )  # fmt: skip
    assert not DatasetSnapshot.objects.filter(client_token="t-2").exists()
