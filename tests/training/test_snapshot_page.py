"""The snapshot page's reads: rows per split in order, the files by format, and a preview
of the first rows of the train split, read from the published file, cut and escaped."""

import json

from django.core.files.storage import default_storage
from django.test import Client

from tests.training.run_helpers import project_with_listwise_snapshot
from training.datasets.selectors import PREVIEW_CHARS, PREVIEW_ROWS, snapshot_page


def test_the_preview_shows_the_first_train_rows_of_the_first_format(db):
    # given a finished snapshot with pairwise and listwise files
    project, snapshot, _ = project_with_listwise_snapshot(12, formats=("listwise", "pairwise"))
    # when its page is read
    page = snapshot_page(snapshot)
    # then the preview is the first rows of pairwise/train.jsonl, as the file has them
    preview = page["preview"]
    assert preview["file"] == "pairwise/train.jsonl"
    assert preview["columns"] == ("Prompt", "Chosen", "Rejected")
    with default_storage.open(f"{snapshot.path}/pairwise/train.jsonl") as stream:
        first = json.loads(stream.readline())
    assert len(preview["rows"]) == PREVIEW_ROWS
    chosen = first["chosen"] if isinstance(first["chosen"], str) else first["chosen"][0]["content"]
    assert len(chosen) < PREVIEW_CHARS and preview["rows"][0][1] == chosen
    # and the splits are in train, validation, test order; the card and manifest come last
    assert page["split_rows"]["splits"][0] == "Training"
    assert page["formats"][-1]["format"] == "" and page["format_labels"]


def test_a_long_or_marked_up_row_is_cut_and_escaped_on_the_page(db):
    # given a snapshot whose first pairwise row has a long, marked-up answer
    project, snapshot, engineer = project_with_listwise_snapshot(8, formats=("pairwise",))
    name = f"{snapshot.path}/pairwise/train.jsonl"
    with default_storage.open(name) as stream:
        rows = [json.loads(line) for line in stream]
    rows[0]["chosen"] = "<script>x</script>" + "y" * 1000
    with default_storage.open(name, "w") as stream:
        stream.write("".join(json.dumps(r) + "\n" for r in rows))
    # when the preview is read and the page drawn
    cell = snapshot_page(snapshot)["preview"]["rows"][0][1]
    client = Client()
    client.force_login(engineer)
    html = client.get(f"/p/{project.slug}/snapshots/{snapshot.number}/").content.decode()
    # then the cell is cut to its length and the page shows the markup as text
    assert len(cell) == PREVIEW_CHARS and cell.endswith("…")
    assert 'id="snapshot-preview"' in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x</script>" not in html


def test_a_snapshot_that_has_not_finished_has_no_preview(db):
    project, snapshot, _ = project_with_listwise_snapshot(4)
    snapshot.state = "running"
    page = snapshot_page(snapshot)
    assert page["preview"] is None and page["files"] == [] and page["split_rows"] is None


def test_the_options_table_goes_in_the_exports_order():
    # given options as the database gives them back (JSON keys sorted by length)
    from training.datasets.selectors import snapshot_option_rows

    stored = {"seed": 0, "style": "conversational", "splits": {"test": 0.1, "train": 0.9},
              "filters": {"review": "any", "rounds": []}, "formats": ["pairwise"]}  # fmt: skip
    # when the table's rows are read
    keys = [key for _, _, key in snapshot_option_rows(stored)]
    # then they follow the export's declaration: formats, splits training before test
    assert keys == ["formats", "splits.train", "splits.test", "seed", "style",
                    "filters.rounds", "filters.review"]  # fmt: skip


def test_the_export_form_is_on_the_design_system_with_one_export_button(db):
    # given an engineer on the snapshots page
    project, _, engineer = project_with_listwise_snapshot(4, formats=("pairwise",))
    client = Client()
    client.force_login(engineer)
    html = client.get(f"/p/{project.slug}/snapshots/").content.decode()
    # then the form is a design-system form with grouped fields and folded filters
    assert 'class="form snapshot-form" novalidate' in html
    assert "<legend>Splits</legend>" in html and "<summary>Filters</summary>" in html
    # labels without colons, help at the fields, and one call to action
    assert '<label for="id_seed">Random seed <span' in html and "Random seed:" not in html
    assert 'id="id_test_helptext"' in html
    assert ">New snapshot</a>" not in html
