"""DPO through TRL's DPOTrainer on a small listwise snapshot-style file with the tiny
policy: the loss falls and the policy's chosen-minus-rejected log-probability margin
grows (measured here on the saved models, not taken from TRL's logs)."""

import json

import torch

from training.ml import dpo
from training.ml.policy import policy_load, policy_save, position_ids_of, tiny_policy

TOPICS = ["cats", "tea", "rain", "maps", "snow", "bread", "music", "trains"]


def _rows():
    return [
        {"prompt": f"Tell me about {t}.", "responses": [f"{t.title()} are lovely, kind and calm.",
                                                         "No. Go away."],
         "ranking": [[0], [1]]}
        for t in TOPICS
    ] * 2  # fmt: skip


def _margin(folder, rows) -> float:
    """Mean over pairs of log π(chosen | prompt) − log π(rejected | prompt)."""
    model, tokenizer = policy_load(str(folder))
    model.eval()

    def logp(prompt: str, reply: str) -> float:
        p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        r = tokenizer(" " + reply, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ids = torch.tensor([p + r])
        with torch.no_grad():
            logits = model(ids, position_ids=position_ids_of(torch.ones_like(ids))).logits[0]
        logprobs = torch.log_softmax(logits[len(p) - 1 : -1], -1)
        return float(logprobs.gather(-1, torch.tensor(r).unsqueeze(-1)).sum())

    gaps = [
        logp(r["prompt"], r["responses"][0]) - logp(r["prompt"], r["responses"][1]) for r in rows
    ]
    return sum(gaps) / len(gaps)


def test_dpo_lowers_the_loss_and_widens_the_policys_margin(tmp_path):
    rows = _rows()
    data = tmp_path / "listwise.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    texts = [r["prompt"] + " " + " ".join(r["responses"]) for r in rows]
    model, tokenizer = tiny_policy(texts, seed=0)
    start = tmp_path / "start"
    policy_save(model, tokenizer, start)
    out = tmp_path / "run"
    code = dpo.main(["train", "--policy", str(start), "--data", str(data), "--out", str(out),
                     "--epochs", "10", "--batch-size", "8", "--lr", "1e-3", "--beta", "0.1",
                     "--log-every", "2", "--max-length", "64", "--eval-data", str(data)])  # fmt: skip
    assert code == 0
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [x["loss"] for x in lines if "loss" in x and "event" not in x]
    assert len(losses) >= 5 and losses[-1] < losses[0] - 0.2, losses
    assert any("margin" in x and "logp_chosen" in x for x in lines)
    assert [x for x in lines if "eval_accuracy" in x]
    before, after = _margin(start, rows), _margin(out / "model", rows)
    assert after > before + 1.0, (before, after)
    assert json.loads((out / "summary.json").read_text())["pairs"] == 16


def test_dpo_starts_from_the_tiny_policy_too(tmp_path):
    data = tmp_path / "listwise.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _rows()))
    code = dpo.main(["train", "--data", str(data), "--out", str(tmp_path / "run"),
                     "--max-steps", "2", "--batch-size", "4", "--max-length", "64"])  # fmt: skip
    assert code == 0 and (tmp_path / "run" / "model" / "model.safetensors").exists()
