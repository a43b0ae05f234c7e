"""The API answers what its OpenAPI schema says: schemathesis, in-process, on the test DB.

Every operation of ``/api/v1/schema/`` gets a few generated requests (valid ones and ones
the schema calls invalid) as the project's manager and as its engineer. Every answer must
be documented (status code, content type, body schema), none may be a 5xx, and a request
the schema calls invalid must be refused. Bounded (a few examples per operation, a fixed
seed) so it stays a CI test of a minute or two, not a fuzzing campaign.

Not checked: that every schema-valid request is accepted. A valid-looking submit can
still name a response that is not in the item, or a generator the project lacks; the
schema cannot know the project's state, and the services answer those with a 400 that
names the field.
"""

import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from annotation.importing.models import ImportJob
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from projects.labels.services import rating_dimension_save, tag_label_save
from projects.models import Role
from tests.factories import add_member, make_items
from training.datasets.models import DatasetSnapshot
from training.loop.models import GenerationJob, Generator
from training.runs.models import ModelArtifact, TrainingRun

CONFIG = schemathesis.Config.from_dict(
    {
        # CI's bound; raise them locally to look harder (PREFLAB_API_EXAMPLES=50).
        "seed": int(os.environ.get("PREFLAB_API_SEED", "19")),
        "generation": {
            "max-examples": int(os.environ.get("PREFLAB_API_EXAMPLES", "3")),
            "deterministic": True,
        },
        # Aim at the project the data is in; ids stay generated (most miss: 404).
        "parameters": {"slug": "proj"},
        "checks": {
            "positive_data_acceptance": {"enabled": False},
            # A documented 503: the test's registered model has no files on this machine.
            "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]},
        },
    }
)
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", WSGIHandler(), config=CONFIG)
# Path ids of rows the test made, by parameter name (filled by the `people` fixture).
REAL_IDS: dict[str, int] = {}


@schema.hook("map_path_parameters")
def _to_real_ids(context, path_parameters: dict | None) -> dict | None:
    """Point generated ids at real rows: a generated id matches nothing, so without this
    only the 404s of the detail endpoints would be checked, never their answers."""
    for name, value in (path_parameters or {}).items():
        if name in REAL_IDS and isinstance(value, int) and not isinstance(value, bool):
            path_parameters[name] = REAL_IDS[name]
    return path_parameters


@pytest.fixture
def _requests_keep_the_test_transaction():
    """Django closes the connection after each request; inside the test's transaction it
    must not (Django's own test client unhooks the same signal)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def people(_requests_keep_the_test_transaction, project, manager) -> dict:
    """The project's manager and engineer, with an annotator, items, an annotation and one
    row of each kind a path names (an import, a snapshot, a run, a model, ...)."""
    annotator = add_member(project, Role.ANNOTATOR, "annotator")
    engineer = add_member(project, Role.ENGINEER, "engineer")
    items = make_items(project, 6)
    done = assignment_claim(user=annotator, project=project)
    annotation, _ = annotation_submit(
        assignment_id=done.pk,
        user=annotator,
        payload={"ranking": [[rid] for rid in done.display_order]},
    )
    snapshot = DatasetSnapshot.objects.create(project=project, number=1, options={})
    REAL_IDS.update(
        item_id=items[0].pk,
        annotation_id=annotation.pk,
        assignment_id=done.pk,
        import_id=ImportJob.objects.create(
            project=project, uploaded_by=manager, file_path="x", original_name="x.jsonl",
            file_format="jsonl",
        ).pk,
        snapshot_id=snapshot.pk,
        run_id=TrainingRun.objects.create(project=project, kind="reward", snapshot=snapshot).pk,
        model_id=ModelArtifact.objects.create(
            project=project, kind="reward", name="rm", path="/nonexistent/rm"
        ).pk,
        generator_id=Generator.objects.create(
            project=project, name="local", kind="local", model_path="/m"
        ).pk,
        job_id=GenerationJob.objects.create(project=project, prompt_ids=[1]).pk,
        label_id=tag_label_save(project=project, name="unsafe").pk,
        dimension_id=rating_dimension_save(project=project, name="helpful", hotkey="h").pk,
    )  # fmt: skip
    yield {"manager": manager, "engineer": engineer, "annotator": annotator}
    REAL_IDS.clear()


@pytest.fixture(params=["manager", "engineer"])
def token(request, people) -> str:
    """Each role's token: each passes the role checks the other meets with a 403."""
    return Token.objects.get_or_create(user=people[request.param])[0].key


@pytest.fixture
def manager_token(people) -> str:
    return Token.objects.get_or_create(user=people["manager"])[0].key


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_answers_as_documented(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"})


def _call(path: str, method: str, token: str | None, **case):
    """One hand-made request through the same checks (documented status, type, body)."""
    operation = schema[path][method]
    headers = {"Authorization": f"Token {token}"} if token else {}
    return operation.Case(**case).call_and_validate(headers=headers)


def test_rounds_of_imported_items_answer_as_documented(manager_token):
    # given: items imported outside any started round (no Round row: no source, no policy)
    # when / then: their round's null prompt_source, policy and baseline are documented
    response = _call(
        "/api/v1/projects/{slug}/rounds/", "GET", manager_token, path_parameters={"slug": "proj"}
    )
    assert response.json()[0]["prompt_source"] is None


def test_acknowledging_guidelines_answers_as_documented(manager_token):
    response = _call(
        "/api/v1/projects/{slug}/guidelines/ack/", "POST", manager_token,
        path_parameters={"slug": "proj"}, body={"version": 1},
    )  # fmt: skip
    assert set(response.json()) == {"version", "acknowledged_at"}


@pytest.mark.parametrize(
    ("signed_in", "path", "method", "case", "status"),
    [
        (False, "/api/v1/projects/", "GET", {}, 401),
        (True, "/api/v1/projects/{slug}/", "GET", {"path_parameters": {"slug": "nope"}}, 404),
        (True, "/api/v1/projects/{slug}/guidelines/ack/", "POST",
         {"path_parameters": {"slug": "proj"}, "body": {"version": 9}}, 409),
        (True, "/api/v1/projects/{slug}/members/", "POST",
         {"path_parameters": {"slug": "proj"}, "body": {"username": "annotator", "role": "boss"}}, 400),
    ],
)  # fmt: skip
def test_error_answers_are_documented_json(manager_token, signed_in, path, method, case, status):
    response = _call(path, method, manager_token if signed_in else None, **case)
    assert response.status_code == status
    assert set(response.json()) >= {"error", "message"}


@pytest.mark.parametrize(
    ("path", "method", "case", "field"),
    [
        ("/api/v1/projects/{slug}/guidelines/", "POST",
         {"path_parameters": {"slug": "proj"}, "body": {"body": "# v2", "summary": 0}}, "summary"),
        ("/api/v1/projects/{slug}/", "PATCH",
         {"path_parameters": {"slug": "proj"}, "body": {"overlap": "3"}}, "overlap"),
        ("/api/v1/projects/{slug}/", "PATCH",
         {"path_parameters": {"slug": "proj"}, "body": {"archived": "no"}}, "archived"),
        ("/api/v1/projects/{slug}/annotations/mine/", "GET",
         {"path_parameters": {"slug": "proj"}, "query": {"offset": "ten"}}, "offset"),
    ],
)  # fmt: skip
def test_requests_the_schema_calls_invalid_are_refused(manager_token, path, method, case, field):
    # given: a JSON value of the wrong type, or a query number that is no number
    # when
    response = _call(path, method, manager_token, **case)
    # then: refused, naming the field, rather than coerced or ignored
    assert response.status_code == 400
    assert field in response.json()["message"]


def test_query_numbers_are_accepted_up_to_the_documented_maximum(manager_token):
    # given: the largest offset the schema documents
    path = "/api/v1/projects/{slug}/annotations/mine/"
    parameters = schema.raw_schema["paths"][path]["get"]["parameters"]
    top = next(p for p in parameters if p["name"] == "offset")["schema"]["maximum"]
    # when / then: it is accepted, and one more is refused
    for offset, status in ((top, 200), (top + 1, 400)):
        query = {"offset": str(offset)}
        response = _call(path, "GET", manager_token, path_parameters={"slug": "proj"}, query=query)
        assert response.status_code == status


def test_every_success_answer_documents_its_body():
    # given the schema; then every 2xx answer but 204 says what its JSON holds
    bare = [
        f"{method.upper()} {path} {status}"
        for path, operations in schema.raw_schema["paths"].items()
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
        if status.startswith("2") and status != "204" and "content" not in response
    ]
    assert bare == []


def test_answers_with_newly_documented_bodies_match_them(project, people, manager_token):
    # given: a gold-worthy item, and a lease of the annotator
    item = project.items.order_by("id").first()
    order = list(item.item_responses.order_by("position").values_list("response_id", flat=True))
    annotator = people["annotator"]
    lease = assignment_claim(user=annotator, project=project)
    annotator_token = Token.objects.get_or_create(user=annotator)[0].key
    slug_item = {"slug": "proj", "item_id": item.pk}
    # when / then: each answer is the documented body
    calls = [
        ("/api/v1/projects/{slug}/items/{item_id}/gold/", "PUT", manager_token,
         {"path_parameters": slug_item, "body": {"ranking": [[rid] for rid in order]}}),
        ("/api/v1/projects/{slug}/items/{item_id}/gold/", "DELETE", manager_token,
         {"path_parameters": slug_item}),
        ("/api/v1/projects/{slug}/annotators/{username}/resume/", "POST", manager_token,
         {"path_parameters": {"slug": "proj", "username": "annotator"}}),
        ("/api/v1/projects/{slug}/guidelines/flag/", "POST", manager_token,
         {"path_parameters": {"slug": "proj"}, "body": {"action": "review"}}),
        ("/api/v1/assignments/{assignment_id}/heartbeat/", "POST", annotator_token,
         {"path_parameters": {"assignment_id": lease.pk}}),
        ("/api/v1/assignments/{assignment_id}/skip/", "POST", annotator_token,
         {"path_parameters": {"assignment_id": lease.pk}, "body": {}}),
    ]  # fmt: skip
    for path, method, token, case in calls:
        assert _call(path, method, token, **case).status_code == 200, (method, path)


def test_integers_no_database_holds_are_refused_not_a_server_error(manager_token):
    # given: numbers past 64 bits, in a body and in a path (SQLite raised OverflowError)
    too_big = 2**64
    # when / then
    started = _call(
        "/api/v1/projects/{slug}/rounds/", "POST", manager_token,
        path_parameters={"slug": "proj"},
        body={"prompt_source": "new", "prompts": 1, "generators": [too_big]},
    )  # fmt: skip
    assert started.status_code == 400
    assert "generators" in started.json()["message"]
    consensus = _call(
        "/api/v1/projects/{slug}/items/{item_id}/consensus/", "GET", manager_token,
        path_parameters={"slug": "proj", "item_id": too_big},
    )  # fmt: skip
    assert consensus.status_code == 404
