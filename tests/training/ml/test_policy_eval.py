"""Policy evaluation on the CPU: two tiny policies taught to answer differently (one
says "good", as the demonstrations do; one never does), judged by a MiniLM reward model
trained to prefer "good". Every figure must rank them the way their training says, and
the arithmetic of the win rate and the overlap scores is checked by hand."""

import json
from pathlib import Path

import pytest
import torch

from tests.training.ml.policy_fixtures import SUBJECTS
from tests.training.ml.policy_fixtures import policy_prompts as _prompts
from training.ml import policy_eval
from training.ml.policy import policy_save, position_ids_of, tiny_policy


def _answer(prompt: str, n: int, good: bool) -> str:
    return f"It is {SUBJECTS[n % len(SUBJECTS)]}{' and good good' if good else ''}."


def _taught(texts: list[str], folder: Path, vocabulary: list[str]) -> Path:
    """A tiny policy trained as a language model on ``texts`` until it repeats them."""
    model, tokenizer = tiny_policy(vocabulary, seed=0)
    batch = tokenizer([t + tokenizer.eos_token for t in texts], return_tensors="pt",
                      padding=True)  # fmt: skip
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(120):
        loss = model(**batch, position_ids=position_ids_of(batch["attention_mask"]),
                     labels=labels).loss  # fmt: skip
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    policy_save(model, tokenizer, folder)
    return folder


@pytest.fixture(scope="module")
def policies(tmp_path_factory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("policies")
    prompts = _prompts()
    everything = [f"{p} {_answer(p, n, g)}" for n, p in enumerate(prompts) for g in (0, 1)]
    return {
        name: _taught(
            [f"{p} {_answer(p, n, good)}" for n, p in enumerate(prompts)], work / name, everything
        )  # fmt: skip
        for name, good in (("good", True), ("plain", False))
    }


@pytest.fixture
def demonstrations(tmp_path) -> Path:
    path = tmp_path / "sft.jsonl"
    rows = [{"prompt": p, "completion": _answer(p, n, True)} for n, p in enumerate(_prompts())]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _plain_prompts(tmp_path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("\n".join(_prompts()[:8]) + "\n")
    return path


def test_the_policy_the_judge_prefers_wins_and_predicts_the_demonstrations_better(
    policies, reward_model, demonstrations, tmp_path
):
    out = tmp_path / "eval"
    code = policy_eval.main([
        "evaluate", "--policy", str(policies["good"]), "--reference", str(policies["plain"]),
        "--reward-model", str(reward_model), "--demonstrations", str(demonstrations),
        "--prompts", str(_plain_prompts(tmp_path)), "--out", str(out), "--max-new-tokens", "12",
        "--batch-size", "5",
    ])  # fmt: skip
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    ours, theirs = summary["eval"], summary["reference_eval"]
    # 16 demonstrated prompts, 8 of them also in the prompts file (answered once).
    assert summary["prompts"] == 16 and summary["demonstrations"] == 16
    assert ours["reward_mean"] > theirs["reward_mean"] + 1.0
    assert ours["win_rate"] > 0.8 and ours["wins"] + ours["ties"] + ours["losses"] == 16
    assert ours["win_rate_low"] <= ours["win_rate"] <= ours["win_rate_high"]
    assert ours["perplexity"] < theirs["perplexity"]
    assert ours["rougeL"] > theirs["rougeL"] and ours["bleu"] > theirs["bleu"]
    assert ours["demonstrated_prompts"] == 16 and 0 < ours["eos_rate"] <= 1
    rows = [json.loads(x) for x in (out / "responses.jsonl").read_text().splitlines()]
    assert len(rows) == 16 and {"policy", "reference", "policy_score", "reference_score"} <= set(
        rows[0]
    )
    assert sum("good" in r["policy"] for r in rows) > sum("good" in r["reference"] for r in rows)
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    progress = [x["progress"] for x in lines if "progress" in x]
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)
    samples = next(x for x in lines if x.get("event") == "samples")["samples"]
    assert samples[0]["reference"] is not None and "reference_score" in samples[0]


def test_greedy_answers_repeat_exactly(policies, reward_model, tmp_path):
    args = ["evaluate", "--policy", str(policies["good"]), "--reward-model", str(reward_model),
            "--prompts", str(_plain_prompts(tmp_path)), "--max-new-tokens", "8"]  # fmt: skip
    for name in ("a", "b"):
        assert policy_eval.main([*args, "--out", str(tmp_path / name)]) == 0
    first, second = (
        (tmp_path / name / "responses.jsonl").read_text() for name in ("a", "b")
    )  # fmt: skip
    assert first == second
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert "win_rate" not in summary["eval"] and "perplexity" not in summary["eval"]


def test_win_rate_counts_ties_half_and_its_interval_holds_it():
    figures = policy_eval.win_rate([1.0, 2.0, 3.0, 5.0], [0.0, 2.0, 4.0, 1.0], 2000, 0)
    assert figures["win_rate"] == pytest.approx((1 + 0.5 + 0 + 1) / 4)
    assert (figures["wins"], figures["ties"], figures["losses"]) == (2, 1, 1)
    assert figures["win_rate_low"] < 0.625 < figures["win_rate_high"]
    assert 0 <= figures["win_rate_low"] and figures["win_rate_high"] <= 1


def test_overlap_scores_match_their_definitions():
    prompts = ["a?", "b?", "c?"]
    written = {json.dumps("a?"): ["the cat sat on the mat"],
               json.dumps("b?"): ["one two three four", "completely different words"]}  # fmt: skip
    answers = [{"text": "the cat sat on the mat"}, {"text": "one two three four"},
               {"text": "no reference for this"}]  # fmt: skip
    figures = policy_eval.overlap_of(answers, prompts, written)
    assert figures["demonstrated_prompts"] == 2
    for name in ("rouge1", "rouge2", "rougeL"):
        assert figures[name] == pytest.approx(1.0)  # best over a prompt's demonstrations
    assert figures["bleu"] == pytest.approx(100.0)
    half = policy_eval.overlap_of([{"text": "the cat"}], ["a?"], written)
    # ROUGE-1 F of "the cat" against "the cat sat on the mat": P 2/2, R 2/6 → F = 0.5
    assert half["rouge1"] == pytest.approx(0.5)
    assert policy_eval.overlap_of(answers[2:], prompts[2:], written) == {}


def test_bad_demonstrations_name_the_line_and_a_prompt_source_is_required(tmp_path, capsys):
    bad = tmp_path / "sft.jsonl"
    bad.write_text('{"prompt": "a", "completion": "b"}\n{"messages": [{"role": "user", '
                   '"content": "no answer"}]}\n')  # fmt: skip
    code = policy_eval.main(["evaluate", "--policy", "p", "--reward-model", "r",
                             "--demonstrations", str(bad), "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 2
    assert f"{bad}:2: messages: must end with an assistant turn" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        policy_eval.main(["evaluate", "--policy", "p", "--reward-model", "r", "--out", "o"])
    assert "--prompts or --demonstrations is required" in capsys.readouterr().err
