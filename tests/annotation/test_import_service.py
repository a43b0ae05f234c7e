"""The import pipeline against the database: all-or-nothing, idempotent, progress, cancel."""

import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.importing.models import ImportJob
from annotation.importing.services import import_job_create, import_job_run
from annotation.models import Batch, Item, Prompt, Response
from common.errors import ApplicationError
from common.jobs import JobState
from common.progress import cancel_request, progress_read

TEN_MB = 10 * 1024 * 1024


def jsonl(*rows) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def row(n: int, k: int = 4, **extra) -> dict:
    return {
        "id": f"r{n}",
        "prompt": f"Prompt {n}?",
        "responses": [f"resp {n}.{j}" for j in range(k)],
        **extra,
    }


def run_import(project, user, content: bytes, name: str = "items.jsonl", batch: str = ""):
    job = import_job_create(
        project=project, user=user, upload=SimpleUploadedFile(name, content), batch_name=batch
    )
    return import_job_run(job_id=job.pk)


def test_valid_file_imports_every_row(project, manager):
    job = run_import(project, manager, jsonl(*(row(n) for n in range(5))))
    assert job.state == JobState.SUCCEEDED
    assert (job.total_rows, job.created_items, job.existing_items) == (5, 5, 0)
    item = Item.objects.get(prompt__external_id="r3")
    assert [link.response.text for link in item.item_responses.select_related("response")] == [
        f"resp 3.{j}" for j in range(4)
    ]
    assert item.open_slots == project.overlap
    assert progress_read("import", job.pk).phase == "done"


def test_reimporting_the_same_ids_changes_nothing(project, manager):
    content = jsonl(*(row(n) for n in range(4)))
    run_import(project, manager, content)
    counts = (Prompt.objects.count(), Response.objects.count(), Item.objects.count())
    again = run_import(project, manager, content)
    assert (again.created_items, again.existing_items) == (0, 4)
    assert (Prompt.objects.count(), Response.objects.count(), Item.objects.count()) == counts


def test_one_bad_row_imports_nothing_and_names_every_error(project, manager):
    content = jsonl(row(1), row(2, k=3), row(3), {"id": "r4", "prompt": ""})
    job = run_import(project, manager, content)
    assert job.state == JobState.FAILED
    assert Item.objects.count() == 0 and Prompt.objects.count() == 0
    lines = sorted((e["line"], e["field"]) for e in job.errors)
    assert (2, "responses") in lines
    assert any(line == 4 for line, _ in lines)
    assert job.error_count == len(job.errors) >= 3
    assert "nothing was imported" in job.message


MALFORMED = [
    ("bad json", b'{"prompt": "x", "responses": [\n', 1, "(row)"),
    ("not an object", b"[1, 2]\n", 1, "(file)"),
    ("missing prompt", jsonl({"responses": ["a", "b", "c", "d"]}), 1, "prompt"),
    ("missing responses", jsonl({"prompt": "x"}), 1, "responses"),
    ("wrong k", jsonl(row(1, k=2)), 1, "responses"),
    ("too many responses", jsonl(row(1, k=5)), 1, "responses"),
    ("empty prompt", jsonl({**row(1), "prompt": "  "}), 1, "prompt"),
    ("empty response", jsonl({**row(1), "responses": ["a", "", "c", "d"]}), 1, "responses[1]"),
    ("duplicate ids", jsonl(row(1), row(1)), 2, "id"),
    ("invalid utf-8", b'{"prompt": "\xff\xfe", "responses": ["a","b","c","d"]}\n', 1, "(row)"),
    ("10 MB field", jsonl({**row(1), "prompt": "x" * TEN_MB}), 1, "prompt"),
    ("prompt is a number", jsonl({**row(1), "prompt": 42}), 1, "prompt"),
    ("responses is an object", jsonl({**row(1), "responses": {"a": 1}}), 1, "responses"),
    ("response is a number", jsonl({**row(1), "responses": ["a", 2, "c", "d"]}), 1, "responses[1]"),
    ("metadata is a list", jsonl({**row(1), "metadata": [1]}), 1, "metadata"),
    ("priority is a string", jsonl({**row(1), "priority": "high"}), 1, "priority"),
    ("id is a float", jsonl({**row(1), "id": 1.5}), 1, "id"),
    ("unknown key", jsonl({**row(1), "respones": []}), 1, "(row)"),
    (
        "bad role",
        jsonl({**row(1), "prompt": [{"role": "robot", "content": "hi"}]}),
        1,
        "prompt[0].role",
    ),
    ("trl pair for k=4", jsonl({"prompt": "p", "chosen": "a", "rejected": "b"}), 1, "(row)"),
    ("identical responses", jsonl({**row(1), "responses": ["a", "b", "a", "d"]}), 1, "responses"),
    ("nul byte", jsonl({**row(1), "prompt": "a\x00b"}), 1, "prompt"),
]


@pytest.mark.parametrize(
    ("case", "content", "line", "field"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_jsonl_is_rejected_whole(project, manager, case, content, line, field):
    # given a good row first, so "nothing imported" is meaningful
    prefix = jsonl({**row(999), "id": "good"})
    shifted = content if case == "not an object" else prefix + content
    expected_line = line if case == "not an object" else line + 1
    # when
    job = run_import(project, manager, shifted)
    # then
    assert job.state == JobState.FAILED, case
    assert Item.objects.count() == 0
    assert any(e["line"] == expected_line and e["field"].startswith(field) for e in job.errors), (
        job.errors
    )


CSV_MALFORMED = [
    ("bad quoting", 'prompt,response_1,response_2,response_3,response_4\n"a"b,c,d,e,f\n', 2),
    (
        "missing prompt column",
        "question,response_1,response_2,response_3,response_4\nq,a,b,c,d\n",
        1,
    ),
    (
        "unknown column",
        "prompt,response_1,response_2,response_3,response_4,extra\nq,a,b,c,d,e\n",
        1,
    ),
    ("too many fields", "prompt,response_1,response_2,response_3,response_4\nq,a,b,c,d,e\n", 2),
    (
        "metadata not json",
        "prompt,response_1,response_2,response_3,response_4,metadata\nq,a,b,c,d,{x\n",
        2,
    ),
]


@pytest.mark.parametrize(("case", "text", "line"), CSV_MALFORMED, ids=[m[0] for m in CSV_MALFORMED])
def test_malformed_csv_is_rejected_whole(project, manager, case, text, line):
    job = run_import(project, manager, text.encode(), name="items.csv")
    assert job.state == JobState.FAILED
    assert Item.objects.count() == 0
    assert any(e["line"] == line for e in job.errors), job.errors


def test_csv_with_quoted_multiline_fields_imports(project, manager):
    text = (
        "id,prompt,response_1,response_2,response_3,response_4,model_1\n"
        'c1,"Say ""hi"", then\na newline",one,"two, with comma","three\nlines",four,gpt-x\n'
    )
    job = run_import(project, manager, text.encode(), name="items.csv")
    assert job.state == JobState.SUCCEEDED, job.errors
    prompt = Prompt.objects.get(external_id="c1")
    assert prompt.messages == [{"role": "user", "content": 'Say "hi", then\na newline'}]
    assert Response.objects.filter(prompt=prompt, model_name="gpt-x").get().text == "one"


def test_trl_pairs_import_as_k2_items_and_keep_the_known_preference(manager):
    from tests.factories import make_project

    pairwise = make_project(manager=manager, slug="pairs", ranking_mode="pairwise")
    content = jsonl(
        {
            "prompt": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how?\n\nAssistant:",
            "chosen": "well",
            "rejected": "bad",
        }
    )
    job = run_import(pairwise, manager, content)
    assert job.state == JobState.SUCCEEDED, job.errors
    item = Item.objects.get(project=pairwise)
    assert [m["role"] for m in item.prompt.messages] == ["user", "assistant", "user"]
    assert item.metadata["source_preferred_position"] == 0


def test_unknown_extension_is_refused_before_upload(project, manager):
    with pytest.raises(ApplicationError, match="items.txt"):
        import_job_create(
            project=project, user=manager, upload=SimpleUploadedFile("items.txt", b"x")
        )


def test_import_creates_a_named_batch(project, manager):
    run_import(project, manager, jsonl(row(1), {**row(2), "batch": "hard"}), batch="round-1")
    assert set(Batch.objects.values_list("name", flat=True)) == {"round-1", "hard"}
    assert Item.objects.get(prompt__external_id="r2").batch.name == "hard"


def test_cancelled_import_rolls_back(project, manager):
    job = import_job_create(
        project=project,
        user=manager,
        upload=SimpleUploadedFile("i.jsonl", jsonl(*(row(n) for n in range(3)))),
    )
    cancel_request("import", job.pk)
    job = import_job_run(job_id=job.pk)
    assert job.state == JobState.CANCELLED
    assert Item.objects.count() == 0


def test_a_cancel_on_the_row_stops_an_import_whose_cache_lost_the_request(project, manager):
    # given an import asked to stop whose cache key is gone (evicted, or Redis flushed)
    job = import_job_create(
        project=project,
        user=manager,
        upload=SimpleUploadedFile("i.jsonl", jsonl(*(row(n) for n in range(3)))),
    )
    ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    # when a worker runs it
    job = import_job_run(job_id=job.pk)
    # then it hears the request on its row and imports nothing
    assert job.state == JobState.CANCELLED
    assert Item.objects.count() == 0


def test_a_finished_job_is_not_run_twice(project, manager):
    job = run_import(project, manager, jsonl(row(1)))
    again = import_job_run(job_id=job.pk)
    assert again.state == JobState.SUCCEEDED and Item.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_import_runs_in_a_real_celery_worker(celery_worker_process, project, manager):
    """Upload through the API; the worker (on the real broker) imports it."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(manager)
    upload = SimpleUploadedFile("worker.jsonl", jsonl(*(row(n) for n in range(20))))
    response = client.post(
        f"/api/v1/projects/{project.slug}/imports/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 202, response.content
    status_url = response.json()["status_url"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = client.get(status_url).json()
        if body["status"] in {"succeeded", "failed", "cancelled"}:
            break
        time.sleep(0.3)
    assert body["status"] == "succeeded", body
    assert body["created_items"] == 20
    assert ImportJob.objects.get(pk=body["id"]).celery_task_id
    assert Item.objects.filter(project=project).count() == 20


def test_imported_ids_do_not_collide_with_later_inserts(project, manager):
    from tests.factories import make_items

    run_import(project, manager, jsonl(*(row(n) for n in range(3))))
    later = make_items(project, 2)  # ORM inserts after the import's reserved ids
    run_import(project, manager, jsonl(*(row(n) for n in range(3, 6))))
    ids = list(Item.objects.values_list("id", flat=True))
    assert len(ids) == len(set(ids)) == 8
    assert all(item.item_responses.count() == 4 for item in Item.objects.all())
    assert {i.pk for i in later} <= set(ids)


def test_cancel_is_noticed_while_validating_a_large_file(project, manager):
    job = import_job_create(
        project=project,
        user=manager,
        upload=SimpleUploadedFile("big.jsonl", jsonl(*(row(n) for n in range(6000)))),
    )
    cancel_request("import", job.pk)
    job = import_job_run(job_id=job.pk)
    progress = progress_read("import", job.pk)
    assert job.state == JobState.CANCELLED and Item.objects.count() == 0
    assert (progress.phase, progress.unit, progress.total) == ("validating", "bytes", job.file_size)
    assert 0 < progress.done <= job.file_size


def test_a_very_long_file_name_imports_and_names_its_batch(project, manager):
    # 240 characters: too long for a file on disk with a prefix, and for a batch name
    # with the date; PostgreSQL refused the batch, the file system the stored copy.
    name = "x" * 235 + ".jsonl"
    job = run_import(project, manager, jsonl(row(1)), name=name)
    assert job.state == JobState.SUCCEEDED, job.errors
    assert job.original_name == name
    batch = Item.objects.get(prompt__external_id="r1").batch.name
    assert len(batch) <= 200 and batch.startswith("x" * 100) and batch.endswith(")")
    assert job.file_path.endswith(".jsonl") and len(job.file_path.rsplit("/", 1)[1]) < 64


def test_a_failed_import_counts_every_row_read_the_bad_ones_too(client, project, manager):
    # given the QA's three-line file: one good row, one with too few responses, one cut short
    content = jsonl(row(1), row(2, k=2)) + b'{"id": "r3", "prompt": "Cut?", "responses": ["a"'
    # when it is imported
    job = run_import(project, manager, content, name="bad.jsonl")
    # then all three rows were read, two had errors, and the page says nothing was imported
    assert (job.state, job.total_rows, job.error_count) == (JobState.FAILED, 3, 2)
    client.force_login(manager)
    page = client.get(f"/p/{project.slug}/imports/{job.pk}/").content.decode()
    assert "3 rows read · nothing imported" in page
    assert "0 new items" not in page
