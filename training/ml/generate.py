"""Answers from a local causal LM: k responses to each of many conversations, batched.

    python -m training.ml.generate --model PATH --prompts FILE.jsonl --k K --out FILE.jsonl
        [--temperature T] [--top-p P] [--max-new-tokens N] [--seed S] [--batch-size B]
        [--max-attempts N] [--allow-duplicates] [--device D]

``LocalGenerator(model)`` loads a policy with ``policy_load`` (a folder, hub name or
``.gguf`` file) and ``generate(conversations, k)`` returns, per conversation, k
``GeneratedText`` (text, finish_reason "stop" or "length", tokens). Conversations go
through the tokenizer's chat template when it has one (with the assistant's turn
opened), else through the platform's plain turn style ("\\n\\nHuman: ...\\n\\nAssistant:",
the text PPO and the reward model read); prompts longer than the context leaves room for
keep their end. Rows (a prompt repeated once per wanted answer) are left-padded and
sampled ``batch_size`` at a time, grouped by prompt length so little is padded.

With ``distinct`` (the default) a prompt's answers are k different non-empty texts: only
the duplicate or empty ones are sampled again, for up to ``max_attempts`` rounds in all,
and ``GenerationFailed`` names the first prompt still short after that. Temperature 0 is
greedy: one answer per prompt (k must be 1, or ``distinct=False`` for k copies). A
``seed`` makes a call reproducible without touching the caller's random state.

The CLI reads JSONL rows with ``messages`` (a trailing assistant turn, as in SFT rows,
is left out) or ``prompt`` (text or messages), and writes each row back, its fields
kept, with ``responses``: [{text, finish_reason, tokens}] (written aside, then renamed,
so the file appears whole). Bad rows are one ``error: FILE:LINE: ...`` line, exit 2.
"""

import argparse
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from training.ml.bundled_models import bundled_smollm2  # noqa: F401  (re-exported)
from training.ml.generation_errors import GenerationFailed, GenerationStopped  # noqa: F401

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GeneratedText:
    text: str  # the answer, special tokens and surrounding whitespace removed
    finish_reason: str  # "stop": the model ended it (EOS); "length": max_new_tokens reached
    tokens: int  # tokens generated, the EOS included


@dataclass
class _Sampling:
    max_new_tokens: int
    temperature: float  # 0: greedy
    top_p: float
    should_stop: Callable[[], bool] | None = None  # asked between tokens: a cancel


class _StopWhenAsked:
    """A ``generate`` stopping criterion that ends every row once ``should_stop`` says so,
    so a cancel lands within a token or so instead of after the batch; it also counts the
    batch's sampled tokens as they come (``LocalGenerator.tokens_sampling``)."""

    def __init__(self, should_stop: Callable[[], bool], generator: "LocalGenerator"):
        self.should_stop, self.generator, self.stopped = should_stop, generator, False

    def __call__(self, input_ids, scores, **kwargs):
        self.generator.tokens_sampling += input_ids.shape[0]  # one more token per row
        self.stopped = self.stopped or bool(self.should_stop())
        return torch.full((input_ids.shape[0],), self.stopped, dtype=torch.bool,
                          device=input_ids.device)  # fmt: skip


def conversation_check(conversation, where: str) -> None:
    """ValueError naming ``where`` unless ``conversation`` is a non-empty list of
    {role, content} messages with text in both."""
    if not isinstance(conversation, list) or not conversation:
        raise ValueError(f"{where}: expected a non-empty list of {{role, content}} messages")
    for n, message in enumerate(conversation):
        if not isinstance(message, dict):
            raise ValueError(f"{where}: message {n}: expected an object with role and content")
        for key in ("role", "content"):
            if not isinstance(message.get(key), str):
                raise ValueError(f"{where}: message {n}: {key} must be text")


def _settings_check(k: int, how: _Sampling, batch_size: int, max_attempts: int, distinct: bool):
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if how.temperature < 0:
        raise ValueError(f"temperature must be 0 (greedy) or more, not {how.temperature}")
    if not 0 < how.top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], not {how.top_p}")
    if how.max_new_tokens < 1 or batch_size < 1 or max_attempts < 1:
        raise ValueError("max_new_tokens, batch_size and max_attempts must be at least 1")
    if how.temperature == 0 and k > 1 and distinct:
        raise ValueError(
            f"temperature 0 (greedy) gives one answer per prompt, so {k} distinct answers "
            "are impossible: sample (temperature > 0), ask for k=1, or pass distinct=False "
            "for k copies"
        )


class LocalGenerator:
    """A causal LM loaded once, answering batches of conversations. Thread-safe: calls
    run one at a time, so a seeded call's random numbers are its own."""

    def __init__(self, model: str, *, device: str | None = None, dtype=None):
        """Load ``model`` (a folder, hub name or ``.gguf`` file) onto ``device`` (default:
        CUDA when there is one, else the CPU) in ``dtype`` (default: as stored)."""
        from training.ml.policy import policy_load

        self.name = model
        self._lock = threading.Lock()
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model, self.tokenizer = policy_load(model, dtype=dtype)
        self.model.to(self.device).eval()
        self.tokens_generated = 0  # sampled by every call so far, EOS included: a rate
        # Of the batch in progress, rows × steps so far (rows already ended count too),
        # while a ``should_stop`` watches it: a rate before the batch ends.
        self.tokens_sampling = 0
        self.chat = bool(getattr(self.tokenizer, "chat_template", None))
        ends = self.model.generation_config.eos_token_id
        ends = ends if isinstance(ends, list) else [ends]
        self.eos_ids = sorted({t for t in [*ends, self.tokenizer.eos_token_id] if t is not None})
        config = self.model.config
        self.context = getattr(config, "max_position_embeddings", None) or getattr(
            config, "n_positions", None
        )

    def prompt_ids(self, conversations: list[list[dict]], max_new_tokens: int) -> list[list[int]]:
        """Token ids of each conversation as the model reads it, the assistant's turn
        next; the end of each kept where the context has no room for all of it."""
        from training.ml.ppo_rollout import prompt_ids

        budget = (self.context or 10**9) - max_new_tokens
        if budget < 1:
            raise ValueError(
                f"max_new_tokens {max_new_tokens} leaves no room for the prompt in the "
                f"model's {self.context}-token context"
            )
        return prompt_ids(self.tokenizer, conversations, budget, self.chat)

    def generate(
        self,
        conversations: list[list[dict]],
        k: int,
        *,
        temperature: float = 0.8,
        top_p: float = 0.95,
        max_new_tokens: int = 256,
        seed: int | None = None,
        batch_size: int = 16,
        distinct: bool = True,
        max_attempts: int = 3,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[list[GeneratedText]]:
        """k answers to each conversation, in order (see the module's docstring).

        Args:
            conversations: each a list of {role, content} messages, the user's last.
            k: answers wanted per conversation.
            temperature: sampling temperature; 0 is greedy.
            top_p: nucleus sampling mass.
            max_new_tokens: the longest answer, in tokens.
            seed: makes the call reproducible (the caller's RNG state is left as it was).
            batch_size: rows (prompt × sample) given to ``model.generate`` at once.
            distinct: every answer of a prompt non-empty and different from the others.
            max_attempts: sampling rounds in all when answers must be re-sampled.
            progress: called as ``progress(prompts done, prompts in all)`` after each batch.
            should_stop: asked between tokens and batches; True ends the call.

        Raises:
            ValueError: bad settings or conversations.
            GenerationFailed: with ``distinct``, a prompt still short of k answers.
            GenerationStopped: ``should_stop`` said so.
        """
        how = _Sampling(max_new_tokens, temperature, top_p, should_stop)
        _settings_check(k, how, batch_size, max_attempts, distinct)
        for n, conversation in enumerate(conversations):
            conversation_check(conversation, f"conversation {n}")
        ids = self.prompt_ids(conversations, max_new_tokens)
        greedy = temperature == 0
        wanted = 1 if greedy else k  # greedy answers once; k copies are made after
        rounds = max_attempts if distinct and not greedy else 1
        found: list[list[GeneratedText]] = [[] for _ in conversations]
        cuda = [self.device] if self.device.type == "cuda" else []
        with self._lock, torch.random.fork_rng(devices=cuda, enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            for _ in range(rounds):
                rows = [p for p, got in enumerate(found) for _ in range(wanted - len(got))]
                if not rows:
                    break
                self._round(rows, ids, found, how, batch_size, distinct, wanted, progress)
        short = [p for p, got in enumerate(found) if len(got) < wanted]
        if short:
            got = len(found[short[0]])
            raise GenerationFailed(
                f"prompt {short[0]}: {got} distinct non-empty answers of {wanted} after "
                f"{rounds} attempt{'s' * (rounds > 1)} ({len(short)} short; a higher "
                "temperature or more max_new_tokens may help)",
                short[0],
            )
        return [got * k if greedy else got for got in found]

    def _round(self, rows, ids, found, how, batch_size, distinct, wanted, progress) -> None:
        """Sample one answer per row (a prompt index) and keep the acceptable ones."""
        rows = sorted(rows, key=lambda p: len(ids[p]))  # similar lengths: little padding
        for start in range(0, len(rows), batch_size):
            if how.should_stop is not None and how.should_stop():
                raise GenerationStopped("stopped between batches")
            chunk = rows[start : start + batch_size]
            for p, answer in zip(chunk, self._sample([ids[p] for p in chunk], how), strict=True):
                got = found[p]
                duplicate = any(answer.text == g.text for g in got)
                if distinct and (not answer.text or duplicate):
                    continue
                if len(got) < wanted:
                    got.append(answer)
            if progress is not None:
                progress(sum(len(got) >= wanted for got in found), len(found))

    @torch.no_grad()
    def _sample(self, rows: list[list[int]], how: _Sampling) -> list[GeneratedText]:
        batch = self.tokenizer.pad({"input_ids": rows}, padding=True, return_tensors="pt")
        batch = {name: tensor.to(self.device) for name, tensor in batch.items()}
        if how.temperature > 0:  # top_k 0 turns off the model's default (GPT-2's is 50)
            chosen = {"do_sample": True, "temperature": how.temperature, "top_k": 0,
                      "top_p": how.top_p}  # fmt: skip
        else:  # sampling settings a model's config carries are dropped
            chosen = {"do_sample": False, "temperature": None, "top_k": None, "top_p": None}
        stop = _StopWhenAsked(how.should_stop, self) if how.should_stop is not None else None
        if stop is not None:
            chosen["stopping_criteria"] = [stop]
        out = self.model.generate(
            **batch,
            max_new_tokens=how.max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.eos_ids,
            **chosen,
        )
        if stop is not None and stop.stopped:
            raise GenerationStopped("stopped mid-batch")
        answers = []
        for row in out[:, batch["input_ids"].shape[1] :].tolist():
            end = next((n for n, token in enumerate(row) if token in self.eos_ids), None)
            kept = row if end is None else row[:end]
            text = self.tokenizer.decode(kept, skip_special_tokens=True).strip()
            reason, tokens = ("length", len(row)) if end is None else ("stop", end + 1)
            answers.append(GeneratedText(text, reason, tokens))
        self.tokens_generated += sum(answer.tokens for answer in answers)
        self.tokens_sampling = 0
        return answers


def prompts_read(path: str) -> tuple[list[dict], list[list[dict]]]:
    """(rows, the conversation each asks to answer) of a JSONL prompts file; a bad row
    is a DataError naming ``file:line``."""
    from training.ml.preference_data import DataError, jsonl_rows
    from training.ml.prompt_data import _prompt_of

    rows, conversations = [], []
    for where, row in jsonl_rows([path]):
        prompt = _prompt_of(row, where)
        conversation = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        try:
            conversation_check(conversation, where)
        except ValueError as exc:
            raise DataError(str(exc)) from None
        rows.append(row)
        conversations.append(conversation)
    if not rows:
        raise DataError(f"{path}: no prompts")
    return rows, conversations


def responses_write(out: Path, rows: list[dict], answers: list[list[GeneratedText]]) -> None:
    """Each row with its ``responses``, written aside and renamed: never half a file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex}")
    try:
        with open(partial, "w", encoding="utf-8") as f:
            for row, got in zip(rows, answers, strict=True):
                f.write(json.dumps({**row, "responses": [asdict(g) for g in got]}) + "\n")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.ml.generate",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a = parser.add_argument
    a("--model", required=True, help="the policy: a folder, hub name or .gguf file")
    a("--prompts", required=True, help="JSONL rows with 'messages' or 'prompt'")
    a("--k", type=int, required=True, help="answers per prompt")
    a("--out", required=True, help="JSONL file to write (each row with its 'responses')")
    a("--temperature", type=float, default=0.8, help="0: greedy (then --k 1)")
    a("--top-p", type=float, default=0.95, help="nucleus sampling mass")
    a("--max-new-tokens", type=int, default=256, help="longest answer, in tokens")
    a("--seed", type=int, default=None, help="seed for a reproducible run")
    a("--batch-size", type=int, default=16, help="rows sampled at once")
    a("--max-attempts", type=int, default=3, help="sampling rounds for distinct answers")
    a("--allow-duplicates", action="store_true", help="keep duplicate and empty answers")
    a("--device", default=None, help="cuda, cpu, ... (default: cuda when there is one)")
    return parser


def _progress_line(done: int, total: int) -> None:
    print(f"\rgenerate: {done}/{total} prompts", end="", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; print a JSON summary (prompts, responses, seconds, out)."""
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    try:
        rows, conversations = prompts_read(args.prompts)
        generator = LocalGenerator(args.model, device=args.device)
        answers = generator.generate(
            conversations, args.k, temperature=args.temperature, top_p=args.top_p,
            max_new_tokens=args.max_new_tokens, seed=args.seed, batch_size=args.batch_size,
            distinct=not args.allow_duplicates, max_attempts=args.max_attempts,
            progress=_progress_line,
        )  # fmt: skip
        print(file=sys.stderr)
        responses_write(Path(args.out), rows, answers)
    except (ValueError, OSError) as exc:  # DataError and GenerationFailed are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = {"model": args.model, "prompts": len(rows), "responses": sum(map(len, answers)),
               "seconds": round(time.perf_counter() - started, 2), "out": args.out}  # fmt: skip
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
