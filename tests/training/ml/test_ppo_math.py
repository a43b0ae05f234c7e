"""PPO's arithmetic against values worked by hand (in the comments), and the gradients
that must vanish: zero advantage, and a ratio clipped on the side the advantage pushes."""

import math

import pytest
import torch

from training.ml.ppo_math import (
    KLController,
    RunningMoments,
    entropy_of,
    gae,
    kl_per_token,
    masked_whiten,
    policy_loss,
    token_rewards,
    value_loss,
)


def t(*rows):
    return torch.tensor(rows, dtype=torch.float64)


def test_gae_by_hand_with_gamma_and_lambda():
    rewards, values, mask = t([0, 0, 1]), t([0.5, 0.6, 0.7]), t([1, 1, 1])
    # γ=1, λ=0.5: δ2 = 1 − 0.7 = 0.3; δ1 = 0.7 − 0.6 = 0.1; δ0 = 0.6 − 0.5 = 0.1
    # A2 = 0.3; A1 = 0.1 + 0.5·0.3 = 0.25; A0 = 0.1 + 0.5·0.25 = 0.225; R = A + V
    adv, ret = gae(rewards, values, mask, gamma=1.0, lam=0.5)
    torch.testing.assert_close(adv, t([0.225, 0.25, 0.3]))
    torch.testing.assert_close(ret, t([0.725, 0.85, 1.0]))
    # γ=0.9, λ=1: δ2 = 0.3; δ1 = 0.9·0.7 − 0.6 = 0.03; δ0 = 0.9·0.6 − 0.5 = 0.04
    # A1 = 0.03 + 0.9·0.3 = 0.3; A0 = 0.04 + 0.9·0.3 = 0.31
    adv, _ = gae(rewards, values, mask, gamma=0.9, lam=1.0)
    torch.testing.assert_close(adv, t([0.31, 0.3, 0.3]))


def test_gae_ends_the_episode_at_the_last_real_token():
    # Row 2 is two tokens long: its padded value (9) must not bootstrap anything.
    # δ1 = 2 + 0 − 0.6 = 1.4, A1 = 1.4; δ0 = 0.6 − 0.5 = 0.1, A0 = 0.1 + 0.5·1.4 = 0.8
    rewards = t([0, 0, 1], [0, 2, 0])
    values = t([0.5, 0.6, 0.7], [0.5, 0.6, 9.0])
    mask = t([1, 1, 1], [1, 1, 0])
    adv, ret = gae(rewards, values, mask, gamma=1.0, lam=0.5)
    torch.testing.assert_close(adv[1], torch.tensor([0.8, 1.4, 0.0], dtype=torch.float64))
    torch.testing.assert_close(ret[1], torch.tensor([1.3, 2.0, 0.0], dtype=torch.float64))


def test_whitening_uses_real_tokens_only():
    # mean of 1, 2, 3 is 2; unbiased variance (1 + 0 + 1) / 2 = 1
    whitened = masked_whiten(t([1, 2, 3, 100]), t([1, 1, 1, 0]))
    torch.testing.assert_close(whitened, t([-1, 0, 1, 0]), atol=1e-6, rtol=0)
    kept = masked_whiten(t([1, 2, 3, 100]), t([1, 1, 1, 0]), shift_mean=False)
    torch.testing.assert_close(kept, t([1, 2, 3, 0]), atol=1e-6, rtol=0)


def test_kl_penalty_on_every_token_and_the_score_on_the_last():
    logprobs, ref = t([-1.0, -2.0, -3.0]), t([-1.5, -1.0, -3.0])
    mask = t([1, 1, 0])
    # k1: KL = [0.5, −1, (padding) 0]; β = 0.1: rewards [−0.05, 0.1 + score 2, 0]
    rewards, kl = token_rewards(torch.tensor([2.0]), logprobs, ref, mask, kl_coef=0.1)
    torch.testing.assert_close(kl, t([0.5, -1.0, 0.0]))
    torch.testing.assert_close(rewards, t([-0.05, 2.1, 0.0]))
    # k3 with log ratio 0.5: e^−0.5 − 1 + 0.5 = 0.1065306597
    k3 = kl_per_token(t([-1.0]), t([-1.5]), "k3")
    assert float(k3) == pytest.approx(math.exp(-0.5) - 1 + 0.5)
    assert float(kl_per_token(t([-2.0]), t([-1.0]), "k3")) >= 0
    with pytest.raises(ValueError, match="k1 or k3"):
        kl_per_token(t([0.0]), t([0.0]), "k2")


def test_policy_loss_values_and_where_its_gradient_vanishes():
    mask = t([1, 1])
    old = t([-1.0, -2.0])
    # ratio 1: the loss is −mean(A) = −(1 − 3)/2 = 1
    logprobs = old.clone().requires_grad_(True)
    loss, stats = policy_loss(logprobs, old, t([1.0, -3.0]), mask, clip=0.2)
    assert loss.item() == pytest.approx(1.0) and stats["policy_clipfrac"] == 0
    loss.backward()
    torch.testing.assert_close(logprobs.grad, t([-0.5, 1.5]))  # −A/n: not zero

    # Zero advantage: no gradient at all.
    logprobs = old.clone().requires_grad_(True)
    policy_loss(logprobs, old, t([0.0, 0.0]), mask, clip=0.2)[0].backward()
    assert torch.count_nonzero(logprobs.grad) == 0

    # ρ = 1.5 with A = 1 and ρ = 0.5 with A = −1: both clipped, both flat.
    # −A·ρ = [−1.5, 0.5]; −A·clip(ρ) = [−1.2, 0.8]; max = [−1.2, 0.8]; mean = −0.2
    logprobs = (old + torch.log(t([1.5, 0.5]))).requires_grad_(True)
    loss, stats = policy_loss(logprobs, old, t([1.0, -1.0]), mask, clip=0.2)
    assert loss.item() == pytest.approx(-0.2) and stats["policy_clipfrac"] == 1.0
    loss.backward()
    assert torch.count_nonzero(logprobs.grad) == 0
    assert stats["approx_kl"] == pytest.approx(0.5 * (math.log(1.5) ** 2 + math.log(0.5) ** 2) / 2)


def test_value_loss_is_clipped_around_the_old_values():
    mask = t([1, 1])
    old, returns = t([0.0, 0.0]), t([1.0, 1.0])
    # V = 0.1: inside the clip, ½(0.9²) = 0.405 for both; V = 1: clipped to 0.2,
    # max(0², 0.8²) = 0.64, so the loss is ½·0.64 = 0.32 and flat in V.
    values = t([0.1, 1.0]).requires_grad_(True)
    loss, stats = value_loss(values, old, returns, mask, clip=0.2)
    assert loss.item() == pytest.approx(0.5 * (0.81 + 0.64) / 2)
    assert stats["value_clipfrac"] == 0.5
    loss.backward()
    torch.testing.assert_close(values.grad, t([0.5 * 2 * (0.1 - 1.0) / 2, 0.0]))


def test_entropy_of_uniform_and_certain_distributions():
    logits = torch.tensor([[[0.0, 0.0, 0.0, 0.0], [100.0, 0.0, 0.0, 0.0]]])
    entropy = entropy_of(logits)
    assert float(entropy[0, 0]) == pytest.approx(math.log(4))
    assert float(entropy[0, 1]) == pytest.approx(0.0, abs=1e-6)


def test_adaptive_kl_moves_beta_towards_the_target_by_at_most_20_percent():
    fixed = KLController(0.1)
    fixed.update(observed_kl=100, samples=10_000)
    assert fixed.value == 0.1
    adaptive = KLController(0.1, target=6.0, horizon=10_000)
    adaptive.update(observed_kl=12.0, samples=256)  # error clipped to +0.2
    assert adaptive.value == pytest.approx(0.1 * (1 + 0.2 * 256 / 10_000))
    adaptive.update(observed_kl=4.5, samples=10_000)  # error −0.25 clipped to −0.2
    assert adaptive.value == pytest.approx(0.1 * (1 + 0.2 * 256 / 10_000) * 0.8)


def test_running_moments_equal_the_moments_of_everything_seen():
    torch.manual_seed(0)
    chunks = [torch.randn(n) * 3 + 1 for n in (1, 5, 17)]
    moments = RunningMoments()
    for chunk in chunks:
        moments.update(chunk)
    everything = torch.cat(chunks).double()
    assert moments.mean == pytest.approx(float(everything.mean()))
    assert moments.std == pytest.approx(float(everything.std(unbiased=False)))
    restored = RunningMoments()
    restored.load_state_dict(moments.state_dict())
    assert restored.state_dict() == moments.state_dict()
