"""The run and snapshot pages speak the user's language: options as labelled tables,
choices and workers by human names, logs without terminal escape codes."""

import pytest
from django.test import Client

from config.labels import option_rows, plain_log, worker_name
from tests.training.run_helpers import project_with_listwise_snapshot
from training.models import RunState, TrainingRun


@pytest.fixture
def setup(db):
    return project_with_listwise_snapshot(6)


def _page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_run_page_shows_options_in_words_and_a_plain_log(setup):
    # given a run on the embedded worker whose trainer logged in colour with a progress bar
    project, snapshot, engineer = setup
    run = TrainingRun.objects.create(
        project=project, kind="reward", snapshot=snapshot, state=RunState.RUNNING,
        worker="embedded@vm", hyperparameters={"loss": "kwise", "lr": 2e-5, "strategy": "lora"},
        log_tail="\x1b[32mINFO\x1b[0m training\n 10%|#  | 1/10\r 50%|#####  | 5/10\nend <b>",
    )  # fmt: skip
    # when an engineer opens the run page
    page = _page(engineer, f"/p/{project.slug}/runs/{run.pk}/")
    # then the options are a table of labels and values in words, not a dict repr
    assert (
        '<td title="loss">Ranking loss</td><td>Bradley–Terry over every pair of a ranking</td>'
        in page
    )
    assert '<td title="strategy">What is trained</td><td>LoRA adapters</td>' in page
    assert "{&#x27;" not in page and "kwise" not in page
    # and the worker is named in words, the log has no escape codes and only the bar's last state
    assert "the built-in worker on vm" in page and ">embedded@vm<" not in page
    assert "\x1b" not in page and "[32m" not in page
    assert "INFO training\n 50%|#####  | 5/10\nend &lt;b&gt;" in page


def test_the_snapshot_page_lists_its_options_by_name(setup):
    project, snapshot, engineer = setup
    page = _page(engineer, f"/p/{project.slug}/snapshots/{snapshot.number}/")
    assert '<td title="formats">Formats</td><td>listwise (rankings)</td>' in page
    assert '<td title="splits.train">Splits · training</td><td>0.75</td>' in page
    assert "{&#x27;" not in page
    listing = _page(engineer, f"/p/{project.slug}/snapshots/")
    assert "listwise (rankings)" in listing


def test_option_rows_flatten_groups_and_keep_typed_values():
    rows = option_rows({"binarization": "all", "filters": {"tags_present": "all", "review": "any"}})
    assert rows == [
        ("Pairs from a ranking", "every pair", "binarization"),
        ("Filters · with tags", "all", "filters.tags_present"),  # a tag named "all", as typed
        ("Filters · review", "any", "filters.review"),
    ]


def test_worker_names_and_plain_logs():
    assert worker_name("embedded-gpu@host-1") == "the built-in worker on host-1"
    assert worker_name("gpu1@node7") == "worker “gpu1” on node7"
    assert plain_log("\x1b]0;title\x07\x1b[1;31mred\x1b[0m\r\n") == "red\n"


def test_list_filters_read_as_words_not_python_lists():
    # given a snapshot's stored filters: nothing chosen, then rounds and tags chosen
    empty = {"filters": {"rounds": [], "tags_present": [], "tags_absent": []}}
    chosen = {"filters": {"rounds": [1, 3], "tags_present": ["unsafe", "all"], "tags_absent": []}}
    # when they are shown as option rows
    # then empty filters say what they keep and lists are comma-separated words
    assert [value for _, value, _ in option_rows(empty)] == ["all rounds", "any", "none"]
    assert [value for _, value, _ in option_rows(chosen)] == ["1, 3", "unsafe, all", "none"]
