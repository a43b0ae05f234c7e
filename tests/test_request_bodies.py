"""The annotate loop's body check reuses DRF fields bound once per thread: it must answer
exactly as a fresh serializer does, body after body, and thread by thread."""

import threading
from dataclasses import dataclass

import pytest
from rest_framework.exceptions import ValidationError

from annotation.serializers import SubmitInputSerializer
from common.api.bodies import valid_data, valid_flat_data


@dataclass
class Body:
    data: object


BODIES = [
    {"ranking": [[1], [2, 3]], "strength": 2, "client_token": "a", "next": True},
    {"ranking": [[4], [5]]},  # nothing of the body before may leak into this one
    {"strength": 9},  # over the maximum
    {"strength": "2"},  # a string where JSON must carry a number (strict_json)
    {"unsure": "yes", "time_spent_ms": -1},  # two fields wrong at once
    {"rationale": "  kept as typed  ", "none_acceptable": True, "time_spent_ms": 5},
    {"client_token": "x" * 65},
    [1, 2],  # not an object
    {},
]


def _answer(check, body):
    try:
        return "valid", check(SubmitInputSerializer, Body(body))
    except ValidationError as exc:
        return "invalid", exc.detail


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_answers_as_a_fresh_serializer_body_after_body(order):
    bodies = BODIES if order == "forward" else BODIES[::-1]
    for body in bodies:
        assert _answer(valid_flat_data, body) == _answer(valid_data, body), body
    assert _answer(valid_flat_data, BODIES[1])[1] == {
        "ranking": [[4], [5]], "none_acceptable": False, "unsure": False, "next": False,
    }  # fmt: skip
    assert set(_answer(valid_flat_data, BODIES[4])[1]) == {"unsure", "time_spent_ms"}
    assert set(_answer(valid_flat_data, BODIES[3])[1]) == {"strength"}  # strict JSON types


def test_threads_validate_their_own_bodies_at_once():
    barrier = threading.Barrier(4)
    answers, problems = {}, []

    def validate(n):
        body = {"ranking": [[n]], "strength": 1 + n % 3} if n % 2 else {"strength": 99}
        try:
            barrier.wait(timeout=10)  # all four start together
            for _ in range(200):
                answers[n] = _answer(valid_flat_data, body)
                if answers[n] != _answer(valid_data, body):
                    problems.append((n, answers[n]))
        except Exception as exc:  # a failure in a thread must fail the test
            problems.append((n, exc))

    threads = [threading.Thread(target=validate, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert answers[1][1]["ranking"] == [[1]] and answers[3][1]["strength"] == 1
    assert answers[0][0] == answers[2][0] == "invalid"
