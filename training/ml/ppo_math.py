"""The arithmetic of PPO for language models, as pure tensor functions.

Why by hand: TRL removed its PPOTrainer in 1.13 and no maintained library ships these
pieces apart from a trainer. They follow InstructGPT (Ouyang et al. 2022) and "The N
Implementation Details of RLHF with PPO" (Huang et al. 2024, the reference behind TRL's
PPOv2): the reward model's score lands on the last response token, every token pays a
KL penalty against the reference policy, advantages come from GAE (γ, λ) computed
backwards over the response and are whitened, and the policy and value losses are
clipped. Tensors are [batch, response tokens]; ``mask`` is 1 on real response tokens
(up to and including EOS) and 0 on padding after it.
"""

from dataclasses import dataclass

import torch


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim=None) -> torch.Tensor:
    mask = mask.to(values.dtype)
    if dim is None:
        return (values * mask).sum() / mask.sum().clamp(min=1)
    return (values * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def masked_var(values: torch.Tensor, mask: torch.Tensor, unbiased: bool = True) -> torch.Tensor:
    mean = masked_mean(values, mask)
    centered = (values - mean) ** 2
    var = masked_mean(centered, mask)
    if unbiased:
        n = mask.sum()
        if n > 1:
            var = var * n / (n - 1)
    return var


def masked_whiten(
    values: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True
) -> torch.Tensor:
    """Zero mean (unless ``shift_mean`` is False), unit variance over the real tokens;
    padding is left as zeros so it cannot leak into a loss."""
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened = whitened + mean
    return whitened * mask.to(values.dtype)


def kl_per_token(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: str = "k1"):
    """Per-token estimate of KL(policy ‖ reference) from sampled tokens: ``k1`` is
    log π − log π_ref (unbiased, can be negative per token), ``k3`` is
    (r − 1) − log r with r = π_ref / π (unbiased and never negative; Schulman 2020)."""
    log_ratio = logprobs - ref_logprobs
    if estimator == "k1":
        return log_ratio
    if estimator == "k3":
        return torch.expm1(-log_ratio) + log_ratio
    raise ValueError(f"kl estimator: k1 or k3, got {estimator!r}")


def token_rewards(
    scores: torch.Tensor,
    logprobs: torch.Tensor,
    ref_logprobs: torch.Tensor,
    mask: torch.Tensor,
    kl_coef: float,
    estimator: str = "k1",
) -> tuple[torch.Tensor, torch.Tensor]:
    """(rewards per token, KL per token): −β·KL on every real token, plus the sequence's
    score on its last real token."""
    kl = kl_per_token(logprobs, ref_logprobs, estimator) * mask.to(logprobs.dtype)
    rewards = -kl_coef * kl
    last = (mask.sum(1) - 1).clamp(min=0).long()
    rows = torch.arange(rewards.shape[0], device=rewards.device)
    rewards[rows, last] += scores.to(rewards.dtype)
    return rewards, kl


def gae(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(advantages, returns) by generalised advantage estimation, backwards over the
    response: δ_t = r_t + γ·V_{t+1} − V_t, A_t = δ_t + γλ·A_{t+1}; the value after the
    last real token is 0 (the episode ends there)."""
    mask = mask.to(values.dtype)
    values = values * mask
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    length = rewards.shape[1]
    for t in reversed(range(length)):
        next_value = values[:, t + 1] if t + 1 < length else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = delta + gamma * lam * running
        running = running * mask[:, t]  # padding contributes nothing backwards
        advantages[:, t] = running
    return advantages, (advantages + values) * mask


def policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip: float,
) -> tuple[torch.Tensor, dict]:
    """PPO's clipped surrogate: mean over real tokens of max(−A·ρ, −A·clip(ρ, 1±ε)),
    with ρ = π/π_old; also the clip fraction and the approximate KL to π_old."""
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1 - clip, 1 + clip)
    loss = masked_mean(torch.max(unclipped, clipped), mask)
    with torch.no_grad():
        stats = {
            "policy_clipfrac": float(masked_mean((clipped > unclipped).float(), mask)),
            "approx_kl": float(masked_mean(0.5 * log_ratio**2, mask)),
            "ratio": float(masked_mean(ratio, mask)),
        }
    return loss, stats


def value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    clip: float,
) -> tuple[torch.Tensor, dict]:
    """Clipped value loss: ½·mean of max((V − R)², (clip(V, V_old ± ε) − R)²)."""
    clipped_values = old_values + torch.clamp(values - old_values, -clip, clip)
    unclipped = (values - returns) ** 2
    clipped = (clipped_values - returns) ** 2
    loss = 0.5 * masked_mean(torch.max(unclipped, clipped), mask)
    with torch.no_grad():
        stats = {"value_clipfrac": float(masked_mean((clipped > unclipped).float(), mask))}
    return loss, stats


def entropy_of(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of each position's next-token distribution."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


@dataclass
class KLController:
    """β of the KL penalty: fixed, or adaptive (Ziegler et al. 2019): moved towards the
    value that keeps the observed KL near ``target``, by at most ±20 % of the error per
    ``horizon`` samples."""

    value: float
    target: float | None = None
    horizon: int = 10_000

    def update(self, observed_kl: float, samples: int) -> None:
        if self.target is None:
            return
        error = max(-0.2, min(0.2, observed_kl / self.target - 1))
        self.value *= 1 + error * samples / self.horizon


class RunningMoments:
    """Mean and standard deviation over every score seen (Chan et al.'s parallel
    update), to normalise the reward model's scores as the policy's outputs drift."""

    def __init__(self):
        self.mean, self.var, self.count = 0.0, 1.0, 0

    def update(self, values: torch.Tensor) -> None:
        values = values.detach().double().flatten()
        n = values.numel()
        if not n:
            return
        batch_mean = float(values.mean())
        batch_var = float(values.var(unbiased=False)) if n > 1 else 0.0
        total = self.count + n
        delta = batch_mean - self.mean
        m2 = self.var * self.count + batch_var * n + delta**2 * self.count * n / total
        self.mean += delta * n / total
        self.var, self.count = m2 / total, total

    @property
    def std(self) -> float:
        return max(self.var, 1e-12) ** 0.5

    def state_dict(self) -> dict:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.mean, self.var, self.count = state["mean"], state["var"], state["count"]
