"""The K-wise loss against a naive sum of pairwise Bradley–Terry losses, values and
gradients; Plackett–Luce against its formula."""

import math
import random

import pytest
import torch
import torch.nn.functional as F

from training.ml.losses import PairIndex, kwise_bt_loss, pair_accuracy, plackett_luce_loss


def _random_tiers(k: int, rng: random.Random, ties: bool) -> list[list[int]]:
    order = rng.sample(range(k), k)
    tiers, n = [], 0
    while n < k:
        size = rng.choice([1, 2]) if ties and n + 1 < k else 1
        tiers.append(sorted(order[n : n + size]))
        n += size
    return tiers


def _naive(scores: torch.Tensor, examples) -> torch.Tensor:
    """Mean over examples of weight x mean over ordered pairs of -log σ(s_a - s_b - m),
    one Python term at a time."""
    per_example, offset = [], 0
    for tiers, weight, margin in examples:
        terms = []
        for n, upper in enumerate(tiers):
            for lower in tiers[n + 1 :]:
                for a in upper:
                    for b in lower:
                        diff = scores[offset + a] - scores[offset + b] - margin
                        terms.append(-torch.log(torch.sigmoid(diff)))
        per_example.append(weight * torch.stack(terms).sum() / len(terms))
        offset += sum(len(t) for t in tiers)
    return torch.stack(per_example).mean()


@pytest.mark.parametrize("k", [2, 4, 7])
@pytest.mark.parametrize("ties", [False, True])
def test_kwise_loss_is_the_naive_pairwise_sum_with_the_same_gradients(k, ties):
    rng = random.Random(k * 10 + ties)
    examples = []
    for _ in range(3):
        tiers = _random_tiers(k, rng, ties)
        if len(tiers) < 2:
            tiers = [[0], list(range(1, k))]
        examples.append((tiers, rng.uniform(0.3, 1.5), rng.choice([0.0, 0.5])))
    if ties and k > 2:  # two tied responses make no pair at all
        assert any(len(t) > 1 for tiers, _, _ in examples for t in tiers)
    total = sum(sum(len(t) for t in tiers) for tiers, _, _ in examples)
    base = torch.randn(total, dtype=torch.float64, generator=torch.Generator().manual_seed(k))
    fast_in = base.clone().requires_grad_(True)
    naive_in = base.clone().requires_grad_(True)
    pairs = PairIndex.of(*zip(*examples, strict=True))
    fast = kwise_bt_loss(fast_in, pairs)
    naive = _naive(naive_in, examples)
    fast.backward()
    naive.backward()
    assert fast.item() == pytest.approx(naive.item(), rel=1e-12)
    assert torch.allclose(fast_in.grad, naive_in.grad, rtol=1e-10, atol=1e-12)
    expected_pairs = sum(
        len(u) * len(v)
        for tiers, _, _ in examples
        for n, u in enumerate(tiers)
        for v in tiers[n + 1 :]
    )
    assert pairs.better.numel() == expected_pairs


def test_full_ranking_of_k_has_k_choose_2_pairs_and_ties_none():
    pairs = PairIndex.of([[[2], [0], [3], [1]], [[0, 1], [2]]], [1.0, 1.0], [0.0, 0.0])
    assert pairs.better.numel() == 6 + 2  # C(4,2) + the tie's two pairs with the third
    assert (pairs.better[6:] >= 4).all() and (pairs.worse[6:] == 6).all()


def test_plackett_luce_for_two_is_bradley_terry_and_matches_the_formula():
    s = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    two = plackett_luce_loss(s[:2], [[[0], [1]]], [1.0])
    assert two.item() == pytest.approx(-F.logsigmoid(s[0] - s[1]).item())
    # order 2 > 0 > 1: stage 1 picks 2 from {0,1,2}, stage 2 picks 0 from {0,1}
    e = [math.exp(x) for x in s.tolist()]
    nll = -(math.log(e[2] / (e[0] + e[1] + e[2])) + math.log(e[0] / (e[0] + e[1])))
    three = plackett_luce_loss(s, [[[2], [0], [1]]], [1.0])
    assert three.item() == pytest.approx(nll / 2)


def test_plackett_luce_ties_are_chosen_as_a_group():
    s = torch.tensor([0.5, 0.1, -0.7], dtype=torch.float64)
    e = [math.exp(x) for x in s.tolist()]
    # tiers [[0, 1], [2]]: Breslow: s0 + s1 - 2 log(e0 + e1 + e2); one stage
    expected = -(s[0] + s[1] - 2 * math.log(sum(e))).item()
    assert plackett_luce_loss(s, [[[0, 1], [2]]], [1.0]).item() == pytest.approx(expected)


def test_pair_accuracy_counts_ties_in_score_as_wrong():
    pairs = PairIndex.of([[[0], [1], [2]]], [1.0], [0.0])
    right, total = pair_accuracy(torch.tensor([1.0, 1.0, 0.0]), pairs)
    assert (right, total) == (2, 3)
