"""Evaluate a policy on held-out prompts: what the reward model thinks of its answers,
how often it beats a reference policy, how well it predicts written demonstrations, and
how close its answers come to them.

    python -m training.ml.policy_eval evaluate --policy PATH --reward-model DIR
        (--prompts FILE | --demonstrations FILE) --out DIR [--reference PATH]
        [--max-new-tokens N] [--temperature T] [--batch-size B] [--max-prompts N]

Each policy (and the reference, when given) answers every prompt (greedy by default,
``--temperature`` samples with ``--seed``); the reward model (its own tokenizer: answers
go through text) scores every answer. Figures, in DIR/summary.json:

- ``reward_mean`` / ``reward_std`` of the policy's answers, and the reference's;
- ``win_rate``: the share of prompts where the policy's answer outscores the
  reference's (ties count half), with a 95% bootstrap interval over prompts;
- ``perplexity`` of the written demonstrations (completion tokens and EOS) under each
  policy, token-weighted over the file;
- ``rouge1`` / ``rouge2`` / ``rougeL`` (F-measure, best over a prompt's demonstrations;
  Google's ``rouge-score``) and corpus ``bleu`` (``sacrebleu``, first demonstration as
  the reference) of the answers to prompts that have demonstrations;
- ``response_length`` (tokens) and ``eos_rate``.

DIR/responses.jsonl holds every prompt with both answers and their scores;
DIR/metrics.jsonl streams progress (batches done, ETA) and a table of sample answers.
The prompts of ``--demonstrations`` are answered too, so one sft file is enough.
"""

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

from training.ml.configs.base import config_defaults, config_options, config_parser
from training.ml.configs.policy_eval import EvalRunConfig

# The evaluation's own defaults (the web tier shows and checks them): every option but
# the policy, the judge and the files of a run.
DEFAULTS = config_defaults(
    EvalRunConfig, without=("policy", "reward_model", "prompts", "demonstrations", "out")
)
FIGURES = ("reward_mean", "reward_std", "perplexity", "rouge1", "rouge2", "rougeL", "bleu",
           "response_length", "eos_rate")  # fmt: skip


def options_of(argv: list[str]) -> argparse.Namespace:
    parser = config_parser("python -m training.ml.policy_eval", __doc__, {
        "evaluate": ("evaluate a policy on held-out prompts", EvalRunConfig)})  # fmt: skip
    o = config_options(EvalRunConfig, parser, parser.parse_args(argv))
    if not (o.prompts or o.demonstrations):
        parser.error("--prompts or --demonstrations is required (or in --config)")
    return o


def _key(prompt) -> str:
    return json.dumps(prompt, sort_keys=True)


def prompts_and_demonstrations(o) -> tuple[list, dict[str, list[str]], list[tuple]]:
    """(prompts to answer, demonstrations by prompt key, (prompt, completion) pairs):
    the prompts file's, then the demonstrations' prompts not already there."""
    from training.ml.prompt_data import prompts_load
    from training.ml.sft import demonstration_pairs

    prompts = prompts_load(o.prompts) if o.prompts else []
    pairs = demonstration_pairs(o.demonstrations) if o.demonstrations else []
    written: dict[str, list[str]] = {}
    seen = {_key(p) for p in prompts}
    for prompt, completion in pairs:
        written.setdefault(_key(prompt), []).append(completion)
        if _key(prompt) not in seen:
            seen.add(_key(prompt))
            prompts.append(prompt)
    if o.max_prompts:
        prompts = prompts[: o.max_prompts]
        kept = {_key(p) for p in prompts}
        pairs = [(p, c) for p, c in pairs if _key(p) in kept]
    return prompts, written, pairs


class Progress:
    """Batches done of all the evaluation's batches, streamed with an ETA."""

    def __init__(self, log, total: int):
        self.log, self.total, self.done, self.started = log, max(total, 1), 0, time.perf_counter()
        log.write(0, event="start", total_steps=self.total)

    def advance(self, phase: str) -> None:
        self.done += 1
        rate = self.done / (time.perf_counter() - self.started)
        self.log.write(self.done, phase=phase, progress=self.done / self.total,
                       total_steps=self.total, eta_s=(self.total - self.done) / rate)  # fmt: skip


def answers_of(model, tokenizer, prompts: list, o, device, progress: Progress) -> list[dict]:
    """Each prompt's answer (text, tokens, whether it ended), in prompt order; batches
    of similar prompt lengths so little is padded."""
    import torch

    from training.ml.ppo_rollout import Sampling, prompt_ids, sample

    chat = o.chat_template == "auto" and bool(getattr(tokenizer, "chat_template", None))
    ids = prompt_ids(tokenizer, prompts, o.max_prompt_length, chat)
    how = Sampling(o.max_new_tokens, o.temperature, 0, o.top_p)
    order = sorted(range(len(prompts)), key=lambda n: len(ids[n]))
    answers: list[dict | None] = [None] * len(prompts)
    torch.manual_seed(o.seed)
    for start in range(0, len(order), o.batch_size):
        rows = order[start : start + o.batch_size]
        roll = sample(model, tokenizer, [prompts[n] for n in rows], [ids[n] for n in rows],
                      how, device)  # fmt: skip
        for n, text, length, ended in zip(rows, roll.texts, roll.mask.sum(1).tolist(),
                                          roll.ended.tolist(), strict=True):  # fmt: skip
            answers[n] = {"text": text, "tokens": int(length), "ended": bool(ended)}
        progress.advance("generate")
    return answers


def perplexity_of(model, tokenizer, pairs: list[tuple], o, device, progress: Progress) -> float:
    """exp(mean negative log-likelihood per completion token), the completion followed
    by EOS, given its prompt as the policy would see it."""
    import torch

    from training.ml.policy import position_ids_of
    from training.ml.ppo_rollout import prompt_ids

    chat = o.chat_template == "auto" and bool(getattr(tokenizer, "chat_template", None))
    heads = prompt_ids(tokenizer, [p for p, _ in pairs], o.max_prompt_length, chat)
    total_nll, total_tokens = 0.0, 0
    for start in range(0, len(pairs), o.batch_size):
        rows = []
        batch = slice(start, start + o.batch_size)
        for head, (_, completion) in zip(heads[batch], pairs[batch], strict=True):
            text = completion if chat else " " + completion
            tail = tokenizer(text, add_special_tokens=False)["input_ids"]
            rows.append((head, [*tail, tokenizer.eos_token_id]))
        width = max(len(h) + len(t) for h, t in rows)
        ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        labels = torch.full_like(ids, -100)
        for n, (head, tail) in enumerate(rows):
            ids[n, : len(head) + len(tail)] = torch.tensor(head + tail)
            mask[n, : len(head) + len(tail)] = 1
            labels[n, len(head) : len(head) + len(tail)] = torch.tensor(tail)
        ids, mask, labels = ids.to(device), mask.to(device), labels.to(device)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask,
                           position_ids=position_ids_of(mask)).logits.float()  # fmt: skip
        nll = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1),
            ignore_index=-100, reduction="sum",
        )  # fmt: skip
        total_nll += float(nll)
        total_tokens += int((labels[:, 1:] != -100).sum())
        progress.advance("perplexity")
    return math.exp(min(total_nll / max(total_tokens, 1), 50))


def overlap_of(answers: list[dict], prompts: list, written: dict) -> dict:
    """ROUGE-1/2/L F (best over a prompt's demonstrations) and corpus BLEU of the
    answers to prompts with demonstrations; empty when none has one."""
    import sacrebleu
    from rouge_score import rouge_scorer

    pairs = [(a["text"], written[_key(p)]) for a, p in zip(answers, prompts, strict=True)
             if _key(p) in written]  # fmt: skip
    if not pairs:
        return {}
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    sums = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for answer, references in pairs:
        for name, score in scorer.score_multi(references, answer).items():
            sums[name] += score.fmeasure
    bleu = sacrebleu.corpus_bleu([a for a, _ in pairs], [[refs[0] for _, refs in pairs]])
    return {**{k: v / len(pairs) for k, v in sums.items()}, "bleu": bleu.score,
            "demonstrated_prompts": len(pairs)}  # fmt: skip


def win_rate(ours: list[float], theirs: list[float], resamples: int, seed: int) -> dict:
    """Share of prompts our answer scores higher (ties half), and a 95% percentile
    bootstrap interval over prompts."""
    outcome = [1.0 if a > b else 0.5 if a == b else 0.0 for a, b in zip(ours, theirs, strict=True)]
    n = len(outcome)
    rng = random.Random(seed)
    means = sorted(sum(outcome[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    low = means[int(0.025 * len(means))] if means else None
    high = means[int(0.975 * len(means)) - 1] if means else None
    return {
        "win_rate": sum(outcome) / n,
        "win_rate_low": low,
        "win_rate_high": high,
        "wins": outcome.count(1.0),
        "ties": outcome.count(0.5),
        "losses": outcome.count(0.0),
    }


def _figures_of(path: str, prompts, written, pairs, scorer, o, device, progress) -> tuple:
    """(figures, answers, scores) of one policy; the model is freed before returning."""
    from training.ml.policy import policy_load
    from training.ml.prompt_data import prompt_text

    model, tokenizer = policy_load(path)
    model.to(device).eval()
    answers = answers_of(model, tokenizer, prompts, o, device, progress)
    figures = {}
    if pairs:
        figures["perplexity"] = perplexity_of(model, tokenizer, pairs, o, device, progress)
    del model
    answered = zip(prompts, answers, strict=True)
    scores = scorer.score_pairs([(prompt_text(p), a["text"]) for p, a in answered])
    progress.advance("score")
    n = len(scores)
    mean = sum(scores) / n
    figures |= {
        "reward_mean": mean,
        "reward_std": (sum((s - mean) ** 2 for s in scores) / max(n - 1, 1)) ** 0.5,
        "response_length": sum(a["tokens"] for a in answers) / n,
        "eos_rate": sum(a["ended"] for a in answers) / n,
        **overlap_of(answers, prompts, written),
    }
    return figures, answers, scores


def _responses_write(out: Path, prompts: list, written: dict, results: dict) -> None:
    """OUT/responses.jsonl: every prompt, its demonstrations, each policy's answer and
    score; written whole, then renamed (never half a file)."""
    from training.ml.prompt_data import prompt_text

    partial = out / ".responses.jsonl.tmp"
    with open(partial, "w", encoding="utf-8") as f:
        for n, prompt in enumerate(prompts):
            row = {"prompt": prompt_text(prompt), "demonstrations": written.get(_key(prompt), [])}
            for name in results:
                row[name], row[f"{name}_score"] = results[name][1][n]["text"], results[name][2][n]
            f.write(json.dumps(row) + "\n")
    partial.replace(out / "responses.jsonl")


def _samples_of(prompts: list, results: dict, o: argparse.Namespace) -> list[dict]:
    """The stream's sample table: the first prompts with the answers and scores."""
    from training.ml.prompt_data import prompt_text

    shown = []
    for n, prompt in enumerate(prompts[: o.samples_shown]):
        entry = {"prompt": prompt_text(prompt), "response": results["policy"][1][n]["text"],
                 "score": results["policy"][2][n]}  # fmt: skip
        if o.reference:
            entry |= {"reference": results["reference"][1][n]["text"],
                      "reference_score": results["reference"][2][n]}  # fmt: skip
        shown.append(entry)
    return shown


def evaluate(o: argparse.Namespace) -> dict:
    """Answer, score and compare (see the module's docstring); the summary."""
    import torch

    from training.ml.metrics_log import MetricsLog
    from training.ml.reward_score import RewardScorer

    out = Path(o.out)
    out.mkdir(parents=True, exist_ok=True)
    prompts, written, pairs = prompts_and_demonstrations(o)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    policies = [("policy", o.policy)] + ([("reference", o.reference)] if o.reference else [])
    per_policy = -(-len(prompts) // o.batch_size) + -(-len(pairs) // o.batch_size) + 1
    again = (out / "metrics.jsonl").exists()
    log = MetricsLog(out)
    if again:  # launched again: the platform drops the stream's earlier progress
        log.write(0, event="resumed", checkpoint=None, note="the evaluation starts over")
    progress = Progress(log, per_policy * len(policies))
    scorer = RewardScorer(o.reward_model, device)
    results = {}
    for name, path in policies:
        results[name] = _figures_of(path, prompts, written, pairs, scorer, o, device, progress)
    summary = {
        "policy": o.policy,
        "reference": o.reference,
        "reward_model": o.reward_model,
        "prompts": len(prompts),
        "demonstrations": len(pairs),
        "eval": results["policy"][0],
        "options": {k: v for k, v in vars(o).items() if k != "command"},
    }
    if o.reference:
        summary["reference_eval"] = results["reference"][0]
        summary["eval"] |= win_rate(results["policy"][2], results["reference"][2], o.bootstrap,
                                    o.seed)  # fmt: skip
    _responses_write(out, prompts, written, results)
    log.write(progress.done, event="samples", samples=_samples_of(prompts, results, o))
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    log.write(progress.done, event="finished", **{k: summary["eval"].get(k) for k in FIGURES})
    log.close()
    return summary


def main(argv: list[str] | None = None) -> int:
    from training.ml.cli_options import cli_run

    def run(o):
        summary = evaluate(o)
        return {"eval": summary["eval"], "reference_eval": summary.get("reference_eval")}

    return cli_run(argv, options_of, {"evaluate": run})


if __name__ == "__main__":
    sys.exit(main())
