"""Ranking losses over scores of every response of a batch, each response scored once.

``PairIndex`` lists the (better, worse) pairs of a batch as positions in its flat score
vector, so one forward pass over the K responses of each prompt serves all its
K·(K−1)/2 pairs (InstructGPT, Ouyang et al. 2022: encoding each response once is what
makes K-wise data cheap, and keeping a prompt's pairs together avoids overfitting).
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class PairIndex:
    better: torch.Tensor  # long (P,): position of the preferred response in the batch
    worse: torch.Tensor  # long (P,)
    scale: torch.Tensor  # float (P,): example weight / the example's pair count
    margin: torch.Tensor  # float (P,)
    examples: int

    @classmethod
    def of(cls, tiers_per_example, weights, margins) -> "PairIndex":
        better, worse, scale, margin, offset = [], [], [], [], 0
        for tiers, weight, m in zip(tiers_per_example, weights, margins, strict=True):
            pairs = [
                (a, b)
                for n, upper in enumerate(tiers)
                for lower in tiers[n + 1 :]
                for a in upper
                for b in lower
            ]
            for a, b in pairs:
                better.append(offset + a)
                worse.append(offset + b)
                scale.append(weight / len(pairs))
                margin.append(m)
            offset += sum(len(t) for t in tiers)
        return cls(
            torch.tensor(better, dtype=torch.long),
            torch.tensor(worse, dtype=torch.long),
            torch.tensor(scale, dtype=torch.float64),
            torch.tensor(margin, dtype=torch.float64),
            len(weights),
        )

    def to(self, device) -> "PairIndex":
        return PairIndex(
            self.better.to(device),
            self.worse.to(device),
            self.scale.to(device),
            self.margin.to(device),
            self.examples,
        )


def kwise_bt_loss(scores: torch.Tensor, pairs: PairIndex) -> torch.Tensor:
    """Mean over examples of the weighted mean Bradley–Terry loss of their pairs:
    −w · 1/#pairs · Σ log σ(r_better − r_worse − margin)."""
    diff = scores[pairs.better] - scores[pairs.worse] - pairs.margin.to(scores.dtype)
    return -(F.logsigmoid(diff) * pairs.scale.to(scores.dtype)).sum() / max(pairs.examples, 1)


def plackett_luce_loss(
    scores: torch.Tensor, tiers_per_example, weights, *, offsets: list[int] | None = None
) -> torch.Tensor:
    """Plackett–Luce negative log-likelihood of each ranking, ties handled Breslow's way
    (a tier is chosen as a group from what remains), normalised by the number of stages,
    weighted, averaged over examples. For two responses it is the Bradley–Terry loss."""
    total = scores.new_zeros(())
    offset = 0
    for n, (tiers, weight) in enumerate(zip(tiers_per_example, weights, strict=True)):
        start = offsets[n] if offsets is not None else offset
        stages = []
        for t in range(len(tiers) - 1):
            tier = torch.tensor(tiers[t], dtype=torch.long, device=scores.device) + start
            rest = [i for lower in tiers[t:] for i in lower]
            remaining = torch.tensor(rest, dtype=torch.long, device=scores.device) + start
            stages.append(
                scores[tier].sum() - len(tiers[t]) * torch.logsumexp(scores[remaining], dim=0)
            )
        if stages:
            total = total - weight * torch.stack(stages).sum() / len(stages)
        offset += sum(len(t) for t in tiers)
    return total / max(len(weights), 1)


def pair_accuracy(scores: torch.Tensor, pairs: PairIndex) -> tuple[int, int]:
    """(pairs ordered right, pairs) — a tie in scores counts as wrong."""
    right = (scores[pairs.better] > scores[pairs.worse]).sum().item()
    return int(right), int(pairs.better.numel())
