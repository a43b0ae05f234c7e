"""How good a reward model is on ranked examples: accuracy over pairs (overall, per
group, per response model), loss, reward spread, margins, and calibration.

Calibration asks whether σ(r_a − r_b) means what it says: pairs are binned by that
predicted probability (oriented so it is ≥ 0.5), and each bin's mean prediction is set
against how often the preferred response really was the one the model favoured; the
expected calibration error (ECE) is the pair-weighted mean gap.
"""

import math
from collections import defaultdict

import torch

from training.ml.batching import PASS_OVERHEAD_TOKENS, batch_plan, collate, length_split
from training.ml.encoding import Encoded

CALIBRATION_BINS = 10
MARGIN_EDGES = [-4, -2, -1, -0.5, 0, 0.5, 1, 2, 4]


@torch.no_grad()
def scores_of(reward, examples: list[Encoded], pad_id: int, batch_size: int, device) -> list:
    """One list of floats per example, the rewards of its responses in order."""
    reward.eval()
    overhead = PASS_OVERHEAD_TOKENS.get(torch.device(device).type, 8192)
    out: list = [None] * len(examples)
    for batch in batch_plan(examples, batch_size, seed=0, shuffle=False):
        chunk = [examples[i] for i in batch]
        parts, inverse = length_split(collate(chunk, pad_id)["inputs"], overhead)
        parts = [{k: v.to(device) for k, v in p.items()} for p in parts]
        flat = reward(parts=parts, inverse=inverse.to(device)).float().cpu().tolist()
        at = 0
        for i, e in zip(batch, chunk, strict=True):
            out[i] = flat[at : at + len(e.input_ids)]
            at += len(e.input_ids)
    return out


def _histogram(values: list[float], edges: list[float]) -> list[dict]:
    bounds = [-math.inf, *edges, math.inf]
    counts = [0] * (len(bounds) - 1)
    for v in values:
        for n in range(len(counts)):
            if bounds[n] <= v < bounds[n + 1]:
                counts[n] += 1
                break
    finite = [None, *edges, None]  # open ends as null: JSON has no infinity
    return [
        {"from": finite[n], "to": finite[n + 1], "count": count} for n, count in enumerate(counts)
    ]


def _calibration(bins: list) -> list[dict]:
    """Reliability table: per bin of predicted P(better wins), the pairs, the mean
    prediction and the share observed (ties count half)."""
    return [
        {
            "from": 0.5 + n / (2 * CALIBRATION_BINS),
            "to": 0.5 + (n + 1) / (2 * CALIBRATION_BINS),
            "pairs": count,
            "predicted": p_sum / count if count else None,
            "observed": hits / count if count else None,
        }
        for n, (count, p_sum, hits) in enumerate(bins)
    ]


def evaluation(examples: list[Encoded], scores: list[list[float]]) -> dict:
    """The figures of one evaluation, JSON-ready."""
    right = total = 0
    loss = 0.0
    groups: dict = defaultdict(lambda: [0, 0])
    models: dict = defaultdict(lambda: [0, 0])
    margins, bins = [], [[0, 0.0, 0.0] for _ in range(CALIBRATION_BINS)]
    rewards = [s for per in scores for s in per]
    for e, per in zip(examples, scores, strict=True):
        for n, upper in enumerate(e.tiers):
            for lower in e.tiers[n + 1 :]:
                for a in upper:
                    for b in lower:
                        diff = per[a] - per[b]
                        ok = diff > 0
                        right += ok
                        total += 1
                        loss += math.log1p(math.exp(-diff)) if diff > -30 else -diff
                        margins.append(diff)
                        groups[e.group or "(none)"][0] += ok
                        groups[e.group or "(none)"][1] += 1
                        if e.models and e.models[a]:
                            models[e.models[a]][0] += ok
                            models[e.models[a]][1] += 1
                        p = 1 / (1 + math.exp(-abs(diff))) if abs(diff) < 30 else 1.0
                        k = min(int((p - 0.5) * 2 * CALIBRATION_BINS), CALIBRATION_BINS - 1)
                        bins[k][0] += 1
                        bins[k][1] += p
                        bins[k][2] += ok if diff != 0 else 0.5
    mean = sum(rewards) / len(rewards) if rewards else 0.0
    std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / len(rewards)) if rewards else 0.0
    calibration = _calibration(bins)
    ece = sum(abs(c["predicted"] - c["observed"]) * c["pairs"] for c in calibration if c["pairs"])
    return {
        "pairwise_accuracy": right / total if total else None,
        "n_pairs": total,
        "n_examples": len(examples),
        "loss": loss / total if total else None,
        "reward_mean": mean,
        "reward_std": std,
        "ece": ece / total if total else None,
        "calibration": calibration,
        "margin_histogram": _histogram(margins, MARGIN_EDGES),
        "by_group": {g: {"accuracy": r / t, "pairs": t} for g, (r, t) in sorted(groups.items())},
        "by_model": {m: {"accuracy": r / t, "pairs": t} for m, (r, t) in sorted(models.items())},
    }
