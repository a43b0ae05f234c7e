"""Snapshots end to end in-process: formats, counts, splits, determinism, filters."""

import json
from collections import defaultdict

import datasets
import pytest

from annotation.models import Annotation
from common.jobs import JobState
from tests.training.conftest import export

BASE_COLUMNS = {"item_id", "round", "annotator", "weight", "prompt_pasted", "provenance"}
COLUMNS = {
    "pairwise": {
        "prompt", "chosen", "rejected", "margin", "soft_label", "none_acceptable", "chosen_id",
        "rejected_id", "chosen_model", "rejected_model", "chosen_generation",
        "rejected_generation", "chosen_pasted", "rejected_pasted",
    },
    "listwise": {
        "prompt", "responses", "ranking", "ratings", "none_acceptable", "response_ids",
        "response_models", "responses_pasted",
    },
    "sft": {"messages", "source", "response_id", "response_model", "response_pasted"},
}  # fmt: skip


def _files(snapshot, storage):
    folder = storage / snapshot.path
    return {f.name: folder / f.name for f in snapshot.files.all()}


def _load(path):
    kind = "parquet" if path.suffix == ".parquet" else "json"
    return datasets.load_dataset(kind, data_files=str(path), split="train")


def test_every_format_loads_with_datasets_and_has_its_columns(ranked, snapshot_storage):
    project, engineer = ranked
    snapshot = export(
        project, engineer, formats=["pairwise", "listwise", "sft"], splits={"train": 1.0}
    )
    assert snapshot.state == JobState.SUCCEEDED, snapshot.error
    files = _files(snapshot, snapshot_storage)
    assert {"README.md", "manifest.json"} <= set(files)
    for fmt, columns in COLUMNS.items():
        for file_type in ("jsonl", "parquet"):
            data = _load(files[f"{fmt}/train.{file_type}"])
            assert set(data.column_names) == columns | BASE_COLUMNS, (fmt, file_type)
            assert len(data) == snapshot.manifest["counts"][fmt]["train"]
    pairs = _load(files["pairwise/train.parquet"])
    row = pairs[0]
    # conversational by default: TRL's [{"role", "content"}] lists
    assert row["prompt"][0]["role"] == "user" and row["chosen"][0]["role"] == "assistant"
    assert isinstance(row["margin"], float) and isinstance(row["provenance"], list)
    assert set(row["provenance"][0]) >= {"annotator", "guideline_version", "shown_order"}
    listwise = _load(files["listwise/train.jsonl"])
    assert all(len(r["responses"]) == 3 for r in listwise)
    assert all(sorted(i for t in r["ranking"] for i in t) == [0, 1, 2] for r in listwise)
    sft = _load(files["sft/train.jsonl"])
    assert all(r["messages"][-1]["role"] == "assistant" for r in sft)


def test_text_style_gives_plain_strings(ranked, snapshot_storage):
    project, engineer = ranked
    snapshot = export(project, engineer, style="text", splits={"train": 1.0})
    data = _load(_files(snapshot, snapshot_storage)["pairwise/train.parquet"])
    assert isinstance(data[0]["prompt"], str) and isinstance(data[0]["chosen"], str)


def test_pair_counts_per_annotator_match_the_rankings(ranked):
    project, engineer = ranked
    # alice: 10 full rankings of 3 -> 3 pairs each; bob: top + a tie of 2 -> 2 pairs each,
    # but his first item is "none acceptable"
    excluded = export(project, engineer, splits={"train": 1.0})
    assert excluded.manifest["counts"]["pairwise"]["train"] == 10 * 3 + 9 * 2
    flagged = export(project, engineer, splits={"train": 1.0}, none_acceptable="flag")
    assert flagged.manifest["counts"]["pairwise"]["train"] == 10 * 3 + 10 * 2
    best_worst = export(project, engineer, splits={"train": 1.0}, binarization="best_vs_worst")
    # alice: 1 pair per item; bob: top against each of the two tied at the bottom
    assert best_worst.manifest["counts"]["pairwise"]["train"] == 10 * 1 + 9 * 2


def test_consensus_makes_one_row_set_per_item(ranked, snapshot_storage):
    project, engineer = ranked
    snapshot = export(
        project,
        engineer,
        aggregation="consensus",
        formats=["listwise", "pairwise"],
        splits={"train": 1.0},
        soft_labels=True,
    )
    files = _files(snapshot, snapshot_storage)
    listwise = _load(files["listwise/train.jsonl"])
    assert sorted(listwise["item_id"]) == sorted(set(listwise["item_id"]))
    # bob's "none acceptable" is half the weight of the item: excluded by default
    assert len(listwise) == 9
    assert set(listwise["annotator"]) == {None}
    assert all(len(r["provenance"]) == 2 for r in listwise)
    pairs = _load(files["pairwise/train.jsonl"])
    assert all(r["soft_label"] is not None and 0 <= r["soft_label"] <= 1 for r in pairs)


def test_no_prompt_lands_in_two_splits_and_the_same_seed_gives_the_same_bytes(ranked):
    project, engineer = ranked
    options = {"splits": {"train": 0.5, "validation": 0.25, "test": 0.25}, "seed": 3}
    first, second = export(project, engineer, **options), export(project, engineer, **options)
    digests = lambda s: {f["name"]: f["sha256"] for f in s.manifest["files"] if f["split"]}  # noqa: E731
    assert digests(first) == digests(second) and digests(first)
    splits_of_prompt = defaultdict(set)
    for snapshot in (first, export(project, engineer, **{**options, "seed": 4})):
        for f in snapshot.files.filter(file_type="jsonl").exclude(split=""):
            with open_file(snapshot, f.name) as stream:
                for line in stream:
                    prompt = json.dumps(json.loads(line)["prompt"])
                    splits_of_prompt[(snapshot.pk, prompt)].add(f.split)
    # the three items sharing one prompt text count as one prompt here
    assert splits_of_prompt and all(len(s) == 1 for s in splits_of_prompt.values())


def open_file(snapshot, name):
    from training.datasets.services.snapshots import snapshot_file_open

    return snapshot_file_open(snapshot, name)


@pytest.mark.parametrize(
    ("filters", "expected_pairs"),
    [
        ({}, 10 * 3 + 9 * 2),
        ({"rounds": [2]}, 0),  # every item is in round 1
        ({"rounds": [1]}, 10 * 3 + 9 * 2),
        ({"review": "accepted"}, 0),  # nothing was reviewed
        ({"min_annotator_weight": 0.0}, 10 * 3 + 9 * 2),
        ({"created_to": "2000-01-01"}, 0),
        ({"created_from": "2000-01-01"}, 10 * 3 + 9 * 2),
        ({"tags_present": ["toxic"]}, 0),  # no tags anywhere
        ({"tags_absent": ["toxic"]}, 10 * 3 + 9 * 2),
    ],
)
def test_filters_behave_as_documented(ranked, filters, expected_pairs):
    project, engineer = ranked
    snapshot = export(project, engineer, splits={"train": 1.0}, filters=filters)
    assert snapshot.state == JobState.SUCCEEDED, snapshot.error
    assert sum(snapshot.manifest["counts"]["pairwise"].values()) == expected_pairs


def test_min_agreement_keeps_only_items_annotators_agree_on(ranked):
    project, engineer = ranked
    # alice [a][b][c] vs bob [a][b c]: 2 of 3 response pairs ordered the same -> 2/3
    snapshot = export(project, engineer, splits={"train": 1.0}, filters={"min_agreement": 0.7})
    assert snapshot.manifest["items"] == 0
    snapshot = export(project, engineer, splits={"train": 1.0}, filters={"min_agreement": 0.6})
    assert snapshot.manifest["items"] == 10


def test_manifest_records_what_the_snapshot_covers(ranked):
    project, engineer = ranked
    snapshot = export(project, engineer, splits={"train": 1.0})
    manifest = snapshot.manifest
    ids = Annotation.objects.filter(project=project).values_list("id", flat=True)
    assert manifest["annotation_ids"] == {"min": min(ids), "max": max(ids)}
    assert manifest["annotations"] == 20 and manifest["annotators"] == 2
    assert manifest["options"]["splits"] == {"train": 1.0}
    names = {f["name"] for f in manifest["files"]}
    assert {"pairwise/train.jsonl", "pairwise/train.parquet", "README.md"} <= names
