import json
import os
from pathlib import Path

import pytest

from tests.training.ml.policy_fixtures import reward_model, warm_policy  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[3]

# Easy to learn and not a lookup: the preferred reply helps, the other refuses rudely.
BUILT_IN = [
    (f"How do I {task}?", f"Here is how to {task}: start small and check each step.", reply)
    for task, reply in [
        ("bake bread", "No. Figure it out yourself."),
        ("fix a flat tire", "Not my problem, go away."),
        ("learn python", "Stop asking me things."),
        ("plant tomatoes", "Why would I tell you?"),
        ("write a resume", "No. Figure it out yourself."),
        ("save money", "Not my problem, go away."),
        ("sleep better", "Stop asking me things."),
        ("train a dog", "Why would I tell you?"),
    ]
]


def shared_data() -> Path | None:
    """../shared/data beside the checkout (or PREFLAB_SHARED_DATA), when it is there."""
    for candidate in (os.environ.get("PREFLAB_SHARED_DATA"), ROOT.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "hh_sample_train.jsonl").exists():
            return Path(candidate)
    return None


@pytest.fixture
def preference_file(tmp_path) -> Path:
    """48 real HH-RLHF pairs when the shared data is present, else a small built-in set."""
    path = tmp_path / "pairs.jsonl"
    shared = shared_data()
    if shared:
        lines = (shared / "hh_sample_train.jsonl").read_text(encoding="utf-8").splitlines()[:48]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        rows = [{"prompt": p, "chosen": c, "rejected": r} for p, c, r in BUILT_IN * 3]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
