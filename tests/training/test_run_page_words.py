"""The run and snapshot pages speak the user's language: options as labelled tables,
choices and workers by human names, logs without terminal escape codes."""

import pytest
from django.test import Client

from common.jobs import JobState
from common.labels import option_rows, plain_log, run_log, worker_name
from tests.training.run_helpers import project_with_listwise_snapshot
from training.runs.models import RunMetric, TrainingRun


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
        project=project, kind="reward", snapshot=snapshot, state=JobState.RUNNING,
        worker="embedded@vm", hyperparameters={"loss": "kwise", "lr": 2e-5, "strategy": "lora"},
        log_tail="\x1b[32mINFO\x1b[0m training\n 10%|#  | 1/10\r 50%|#####  | 5/10\nend <b>",
    )  # fmt: skip
    # when an engineer opens the run page
    page = _page(engineer, f"/p/{project.slug}/runs/{run.pk}/")
    # then the options are a table of labels and values in words, not a dict repr
    # (each labelled from the reward config: its help as the tooltip, its unit shown)
    assert (
        '<td title="loss: ranking loss">Ranking loss</td>'
        "<td>Bradley–Terry over every pair of a ranking</td>" in page
    )
    assert '<td title="strategy: what trains: everything, the top layers' in page
    assert "What is trained</td><td>LoRA adapters</td>" in page
    assert (  # name, value, default, unit
        '<tr class="changed"><td title="lr: peak learning rate">Learning rate</td>'
        "<td>2e-05</td><td>5e-05</td><td>per step</td></tr>" in page
    )
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


# What a reward run's trainer writes when it loads MiniLM and adds its reward head, then
# the JSON summary the CLI prints last (both as in a real run's log.txt).
LOAD_REPORT = (
    "[transformers] \x1b[1mBertForSequenceClassification LOAD REPORT\x1b[0m from: /m/model\n"
    "Key               | Status  | \n"
    "------------------+---------+-\n"
    "classifier.weight | \x1b[31mMISSING\x1b[0m | \n"
    "classifier.bias   | \x1b[31mMISSING\x1b[0m | \n"
    "\n"
    "Notes:\n"
    "- \x1b[31mMISSING:\x1b[0m\tthose params were newly initialized because missing from the"
    " checkpoint. Consider training on your downstream task.\n"
)
SUMMARY_LINE = '{"model": "/runs/1/model", "eval": {"pairwise_accuracy": 0.8, "n_pairs": 10}}\n'


def test_a_succeeded_runs_page_keeps_the_summary_and_head_report_out_of_its_log(setup):
    # given a succeeded reward run whose log holds the load report and the JSON summary
    project, snapshot, engineer = setup
    run = TrainingRun.objects.create(
        project=project, kind="reward", snapshot=snapshot, state=JobState.SUCCEEDED,
        log_tail="$ python -m training.ml.reward train\n" + LOAD_REPORT + "epoch 1 done\n"
        + SUMMARY_LINE,
        summary={"model": "/runs/1/model", "eval": {"pairwise_accuracy": 0.8, "n_pairs": 10}},
    )  # fmt: skip
    # when an engineer opens its page
    page = _page(engineer, f"/p/{project.slug}/runs/{run.pk}/")
    log = page.split('id="run-log">', 1)[1].split("</pre>", 1)[0]
    # then the log says in one line why a head is missing, and holds no JSON summary
    assert "LOAD REPORT" not in log and "Consider training" not in log and "{" not in log
    assert "A new head (classifier.weight, classifier.bias)" in log and "epoch 1 done" in log
    # and the whole summary is one click away, collapsed
    assert '<details id="run-summary"><summary>Raw summary (JSON)</summary>' in page
    assert "&quot;pairwise_accuracy&quot;: 0.8" in page


def test_a_load_report_of_anything_but_a_new_head_stays_as_written():
    unexpected = LOAD_REPORT.replace("classifier.bias  ", "encoder.layer.0").replace(
        "MISSING\x1b[0m | \n\n", "UNEXPECTED\x1b[0m | \n\n", 1
    )
    assert "LOAD REPORT" in run_log(LOAD_REPORT.replace("classifier.bias", "encoder.bias"))
    assert "encoder.layer.0" in run_log(unexpected)
    assert "A new head (classifier.weight, classifier.bias)" in run_log(LOAD_REPORT)


def test_every_run_chart_has_a_visible_title_and_named_axes(setup):
    # given a finished reward run with curves over steps and a held-out evaluation
    project, snapshot, engineer = setup
    run = TrainingRun.objects.create(
        project=project, kind="reward", snapshot=snapshot, state=JobState.SUCCEEDED,
        summary={"eval": {"pairwise_accuracy": 0.8, "n_pairs": 10, "ece": 0.25,
                          "calibration": [{"predicted": 0.6, "observed": 0.8, "pairs": 5}],
                          "margin_histogram": [{"from": 0, "to": 0.5, "count": 8}]}},
    )  # fmt: skip
    for step in (10, 20, 30):
        RunMetric.objects.create(
            run=run, step=step, values={"loss": 1 / step, "accuracy": 0.7, "lr": 1e-5}
        )
    # when an engineer opens its page
    page = _page(engineer, f"/p/{project.slug}/runs/{run.pk}/")
    # then each chart is captioned with its title, and its axes are named with units
    figures = page.split('<figure class="chart"')[1:]
    assert len(figures) == 5
    for figure in figures:
        assert "<figcaption>" in figure.split(">", 2)[1] + ">" and '"title": "' in figure
        assert 'role="img" aria-label="' in figure and " by " in figure
    assert "<figcaption>Learning rate</figcaption>" in page
    assert '"title": "training step"' in page and '"title": "loss (nats per pair)"' in page
    assert '"title": "reward margin (score units)"' in page and '"title": "pairs"' in page
    # and the steps are the rows of the data table (the no-JS view)
    curves = page.split('id="run-curves"', 1)[1].split('id="run-evaluation"', 1)[0]
    assert '<th scope="col">training step</th>' in curves
    assert '<th scope="row">10</th>' in curves and '<th scope="row">30</th>' in curves


def test_compared_runs_charts_have_visible_titles_and_named_axes(setup):
    # given two reward runs with a loss and an accuracy curve each
    project, snapshot, engineer = setup
    runs = [TrainingRun.objects.create(project=project, kind="reward", snapshot=snapshot)
            for _ in range(2)]  # fmt: skip
    for run in runs:
        for step in (1, 2):
            RunMetric.objects.create(run=run, step=step, values={"loss": 0.5, "accuracy": 0.6})
    # when an engineer compares them
    page = _page(engineer, f"/p/{project.slug}/runs/compare/?run={runs[0].pk}&run={runs[1].pk}")
    # then each chart is captioned and its axes are named with units
    figures = page.split('<figure class="chart"')[1:]
    assert len(figures) == 2
    assert all("<figcaption>" in f and '"title": "training step"' in f for f in figures)
    assert '"title": "share of pairs"' in page
