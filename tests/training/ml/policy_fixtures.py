"""Fixtures for policy trainings against a reward model (PPO, GRPO, RLOO) on the CPU: a
MiniLM reward model trained here to prefer replies that say "good" (a different tokenizer
from the policy's, so responses go through text), and a tiny GPT-2 policy warmed up on
text that says "good" now and then, so sampling finds the reward at all.

The folder's conftest registers the fixtures for every test module; module-scoped, each
module that uses them trains them once."""

import json
import random
from pathlib import Path

import pytest
import torch

from training.ml import reward as reward_cli
from training.ml.policy import policy_save, position_ids_of, tiny_policy

SUBJECTS = ["cats", "rain", "tea", "bread", "trains", "music", "maps", "snow"]
GOOD = "good good good"


def policy_prompts() -> list[str]:
    return [f"Tell me about {s}." for s in SUBJECTS] + [f"What is {s} like?" for s in SUBJECTS]


@pytest.fixture(scope="module")
def reward_model(tmp_path_factory) -> Path:
    """MiniLM trained for a few seconds: replies saying "good" beat the others."""
    work = tmp_path_factory.mktemp("rm")
    rng = random.Random(0)
    rows = []
    for prompt in policy_prompts() * 3:
        other = " ".join(rng.sample(SUBJECTS, 3))
        rows.append({"prompt": prompt, "chosen": f"{other} {GOOD}", "rejected": other})
    data = work / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert reward_cli.main(["train", "--data", str(data), "--out", str(work / "out"),
                            "--epochs", "3", "--batch-size", "16", "--max-length", "48",
                            "--lr", "1e-4", "--save-every", "0"]) == 0  # fmt: skip
    return work / "out" / "model"


@pytest.fixture(scope="module")
def warm_policy(tmp_path_factory) -> Path:
    """The tiny policy after a short language-model warm-up on text that mentions
    "good" now and then."""
    return warm_policy_save(tmp_path_factory.mktemp("policy") / "warm")


def warm_policy_save(folder: Path) -> Path:
    """Warm the tiny policy up (60 steps of language modelling) and save it in ``folder``."""
    texts = [
        f"{p} It is {s}{' and good' if n == 0 else ''}."
        for p in policy_prompts()
        for n, s in enumerate(SUBJECTS[:4])
    ]
    model, tokenizer = tiny_policy(texts, seed=0)
    batch = tokenizer([t + tokenizer.eos_token for t in texts], return_tensors="pt",
                      padding=True)  # fmt: skip
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    positions = position_ids_of(batch["attention_mask"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(60):
        loss = model(**batch, position_ids=positions, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    policy_save(model, tokenizer, folder)
    return folder
