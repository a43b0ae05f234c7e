"""The reward model the active-learning benchmark retrains: PrefLab's feature strategy.

``training.ml.reward`` with ``--strategy feature`` keeps the MiniLM backbone frozen and
trains the one-output head on mean-pooled features computed once (``Scorer.precompute``).
The benchmark does the same with the same objects (``reward_model_build``, ``encode``,
``Scorer``, ``kwise_bt_loss``); only the optimiser differs: the head is fitted to the
optimum of the Bradley–Terry loss plus an L2 penalty with L-BFGS (a convex problem, so
each refit is deterministic and takes a fraction of a second) instead of a few AdamW
epochs, whose result would depend on how many labels an epoch holds.
"""

import hashlib
import json
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch

from training.ml.encoding import encode
from training.ml.losses import PairIndex, kwise_bt_loss
from training.ml.preference_data import Ranked, examples_load


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pairs_load(path: Path, count: int) -> list[Ranked]:
    """The first ``count`` pairs of an HH file (already shuffled by its maker), chosen first."""
    pairs = examples_load([path])
    if count > len(pairs):
        raise SystemExit(f"{path}: {len(pairs)} pairs, {count} asked for")
    for pair in pairs[:count]:
        if pair.tiers != [[0], [1]]:
            raise SystemExit(f"{path}: expected prompt/chosen/rejected pairs")
    return pairs[:count]


class PairHead:
    """The frozen MiniLM reward model: features of (prompt, response) sequences, and its
    head fitted on labelled pairs. A pair's features are ``(2, hidden)``: chosen, rejected."""

    def __init__(self, max_length: int):
        from training.ml.reward_model import (
            RewardSpec,
            default_base_model,
            reward_model_build,
            tokenizer_load,
        )

        self.base = default_base_model()
        self.max_length = max_length
        self.tokenizer = tokenizer_load(self.base)
        self.reward = reward_model_build(RewardSpec(self.base, strategy="feature"), self.tokenizer)
        self.reward.eval()
        self.params = list(self.reward.head_parameters())

    def features(self, pairs: list[Ranked], *, cache: Path | None, name: str) -> torch.Tensor:
        """``(len(pairs), 2, hidden)`` mean-pooled features, from ``cache`` when there."""
        key = self._cache_key(pairs)
        path = cache / f"{name}-{key}.pt" if cache else None
        if path and path.exists():
            say(f"{name}: {len(pairs)} pairs' features from {path}")
            return torch.load(path)
        from training.ml.reward import Scorer

        encoded = encode(pairs, self.tokenizer, self.max_length)
        scorer = Scorer(self.reward, self.tokenizer.pad_token_id, "cpu", nullcontext)
        chunks, started = [], time.perf_counter()
        for start in range(0, len(encoded), 100):
            scorer.precompute(name, encoded[start : start + 100], batch_size=64)
            chunks.extend(scorer.cache.pop(name))
            say(
                f"{name}: features of {len(chunks)}/{len(encoded)} pairs "
                f"({time.perf_counter() - started:.0f} s)"
            )
        features = torch.stack(chunks)
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            torch.save(features, tmp)
            tmp.replace(path)
        return features

    def _cache_key(self, pairs: list[Ranked]) -> str:
        digest = hashlib.sha256()
        what = [self.base, self.max_length, torch.__version__]
        what += [[p.prompt, *p.responses] for p in pairs]
        digest.update(json.dumps(what).encode())
        return digest.hexdigest()[:16]

    def fit(self, features: torch.Tensor, indices: list[int], l2: float) -> torch.Tensor:
        """The head's parameters (a flat vector) minimising the summed Bradley–Terry loss
        of the pairs at ``indices`` (repeats count twice) plus ``l2`` · ‖parameters‖²."""
        from torch.nn.utils import parameters_to_vector

        chosen = sorted(indices)  # the same labels give the same head, whatever their order
        flat = features[chosen].reshape(-1, features.shape[-1])
        n = len(chosen)
        pairs = PairIndex.of([[[0], [1]]] * n, [1.0] * n, [0.0] * n)
        with torch.no_grad():
            for p in self.params:
                p.zero_()
        optimizer = torch.optim.LBFGS(
            self.params, lr=1, max_iter=200, line_search_fn="strong_wolfe"
        )

        def closure():
            optimizer.zero_grad()
            loss = kwise_bt_loss(self.reward(features=flat), pairs) * n
            loss = loss + l2 * sum(p.pow(2).sum() for p in self.params)
            loss.backward()
            return loss

        optimizer.step(closure)
        return parameters_to_vector(self.params).detach().clone()

    @torch.no_grad()
    def scores(self, head: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """``(pairs, 2)`` rewards of chosen and rejected under the fitted ``head``."""
        from torch.nn.utils import vector_to_parameters

        vector_to_parameters(head, self.params)
        scores = self.reward(features=features.reshape(-1, features.shape[-1]))
        return scores.float().reshape(-1, 2)

    def accuracy(self, head: torch.Tensor, features: torch.Tensor) -> float:
        """Share of pairs whose chosen response scores above the rejected one."""
        scores = self.scores(head, features)
        return float((scores[:, 0] > scores[:, 1]).float().mean())
