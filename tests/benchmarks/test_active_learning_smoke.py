"""The active-learning benchmark's core on a tiny pool: one curve per rule and seed with
a point per round, accuracies that are shares, and the report files it writes."""

import json
from pathlib import Path

from benchmarks.active_learning import Config, run
from benchmarks.active_learning_report import report_write
from tests.training.ml.conftest import shared_data
from training.loop.acquisition_rules import RULES

TOPICS = ["bread", "tea", "maps", "rain", "cats", "snow", "music", "trains", "paint", "bikes"]


def _hh_shaped(folder: Path) -> Path:
    """HH-shaped pairs written here, for a checkout without ../shared/data: the benchmark
    measures the real sample (never copied into the repository); this checks its code."""
    folder.mkdir()
    for name, offset, count in (("hh_sample_train.jsonl", 0, 60), ("hh_sample_test.jsonl", 60, 40)):
        rows = [
            {"prompt": f"Human: How do I do thing {n} with {TOPICS[n % 10]}?\n\nAssistant:",
             "chosen": f" Start with {TOPICS[n % 10]}, then check step {n} carefully.",
             "rejected": " No." if n % 2 else " Figure it out."}
            for n in range(offset, offset + count)
        ]  # fmt: skip
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_tiny_pool_gives_a_curve_per_rule_and_seed_and_the_reports(tmp_path):
    # given: 60 pool pairs revealed 20 at a time (a seed set and 2 rounds), 40 test pairs
    data = shared_data() or _hh_shaped(tmp_path / "data")
    cfg = Config(pool=60, test=40, step=20, budget=60, seeds=2, committee=3, max_length=64)

    # when
    results = run(cfg, data=data, cache=None)
    paths = report_write(results, tmp_path, command="test", load=(0.0, 0.0, 0.0))

    # then
    curves = results["curves"]
    assert set(curves) == set(RULES)
    for rule in RULES:
        assert len(curves[rule]) == cfg.seeds
        for curve in curves[rule]:
            assert [point["labels"] for point in curve] == [20, 40, 60]
            assert all(0.0 <= point["accuracy"] <= 1.0 for point in curve)
    for seed in range(cfg.seeds):  # every rule starts from the seed's random seed set
        assert len({curves[rule][seed][0]["accuracy"] for rule in RULES}) == 1
    # At budget == pool every rule has labelled the whole pool: the same fit everywhere.
    finals = {curve[-1]["accuracy"] for rule in RULES for curve in curves[rule]}
    assert finals == {results["reference"]["whole_pool_accuracy"]}
    assert [p.name for p in paths] == [f"active_learning.{ext}" for ext in ("json", "md", "svg")]
    saved = json.loads(paths[0].read_text())
    assert saved["summary"]["rules"]["uncertainty"]["labels"] == [20, 40, 60]
    assert "| labels | random | uncertainty | disagreement | mix |" in paths[1].read_text()
    assert paths[2].read_text().startswith("<svg") and not list(tmp_path.glob(".*tmp*"))
