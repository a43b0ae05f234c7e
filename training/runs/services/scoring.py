"""Score an item's responses with a registered reward model.

A request never loads a model: ``responses_score`` sends the work to the ``gpu`` queue
(task ``training.score_responses``) and waits a bounded time, so the web tier stays
torch-free and small. On the worker, ``score_here`` and ``score_pairs_here`` score
in-process, keeping a few models loaded.
"""

import threading
from collections import OrderedDict
from pathlib import Path

from common.errors import ApplicationError
from common.queueing import task_send
from training.ml.reward_score import RewardScorer
from training.runs.models import ArtifactKind, ModelArtifact

LOADED_MAX = 2
WORKER_TIMEOUT_S = 60

_loaded: OrderedDict = OrderedDict()
_lock = threading.Lock()


class ScoringUnavailable(ApplicationError):
    status_code = 503
    code = "unavailable"


def _scorer(path: str):

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
        result = task_send(
            "training.score_responses", artifact.path, prompt, responses, queue="gpu"
        )
        return result.get(timeout=WORKER_TIMEOUT_S)
    except ValueError as exc:  # the scorer refused the input (the worker's error, re-raised)
        raise ApplicationError(str(exc)) from exc
    except Exception as exc:  # a broker that refused, a timeout, or the worker failed
        raise ScoringUnavailable(f"no gpu worker scored in time ({exc})") from exc
