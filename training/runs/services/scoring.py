"""Score an item's responses with a registered reward model.

In the web process when the training stack is installed (models stay loaded, a few at a
time); otherwise, or with ``PREFLAB_SCORE_ON_WORKER``, through the ``gpu`` queue with a
time limit, so a torch-free web tier can still score.
"""

import threading
from collections import OrderedDict
from pathlib import Path

from django.conf import settings

from common.errors import ApplicationError
from common.queueing import task_send
from training.runs.models import ArtifactKind, ModelArtifact

LOADED_MAX = 2
WORKER_TIMEOUT_S = 60

_loaded: OrderedDict = OrderedDict()
_lock = threading.Lock()


class ScoringUnavailable(ApplicationError):
    status_code = 503
    code = "unavailable"


def _stack_installed() -> bool:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        return False
    return True


def _scorer(path: str):
    from training.ml.reward_score import RewardScorer

    key = (path, Path(path, "model.safetensors").stat().st_mtime_ns)
    with _lock:
        if key not in _loaded:
            _loaded[key] = RewardScorer(path)
            while len(_loaded) > LOADED_MAX:
                _loaded.popitem(last=False)
        _loaded.move_to_end(key)
        return _loaded[key]


def score_here(path: str, prompt, responses: list) -> list[float]:
    scorer = _scorer(path)
    with _lock:  # one forward pass at a time per process: CPU threads are already shared
        return scorer.score(prompt, responses)


def score_pairs_here(path: str, pairs: list[tuple]) -> list[float]:
    """One score per (prompt, response) pair, batched: the pre-ranking pass."""
    scorer = _scorer(path)
    with _lock:
        return scorer.score_pairs(pairs)


def responses_score(*, artifact: ModelArtifact, prompt, responses: list) -> list[float]:
    """Rewards of ``responses`` (texts or one-message conversations) for ``prompt``."""
    if artifact.kind != ArtifactKind.REWARD:
        message = "model: only reward models score responses"
        raise ApplicationError(message, extra={"field": "model"})
    if not isinstance(responses, list) or not responses:
        raise ApplicationError("responses: a non-empty list", extra={"field": "responses"})
    if not Path(artifact.path, "model.safetensors").exists():
        raise ScoringUnavailable(f"model {artifact.pk}: its files are not on this machine")
    try:
        if _stack_installed() and not getattr(settings, "PREFLAB_SCORE_ON_WORKER", False):
            return score_here(artifact.path, prompt, responses)

        result = task_send(
            "training.score_responses", artifact.path, prompt, responses, queue="gpu"
        )
        try:
            return result.get(timeout=WORKER_TIMEOUT_S)
        except Exception as exc:  # a timeout or the worker's error
            raise ScoringUnavailable(f"no gpu worker scored in time ({exc})") from exc
    except ValueError as exc:
        raise ApplicationError(str(exc)) from exc
