"""Where model-generated responses come from: a registry of generation backends.

``generate_responses`` is the one entry point: it looks up the backend a project names,
asks it for ``k`` responses and checks what came back. The registry starts empty on
purpose. Until a backend (transformers, a hosted API) is registered, a project that asks
for generated responses gets ``GenerationNotConfigured``, never placeholder text that
could end up ranked as if a model had written it.

Backends register at import time (``register_backend`` in their module, imported by the
GPU worker), so the registry is code, not state, and is the same in every process that
imports the same modules.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

MIN_RESPONSES = 1  # one is enough to top up an item that lacks a response
MAX_RESPONSES = 9  # a project holds at most 9 responses per item (project_k_between_2_and_9)


class GenerationNotConfigured(Exception):
    """The project names no generation backend."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "This project has no generation backend configured; a later release adds model "
            "backends. Until then, import responses or let annotators write them, or set the "
            "project's generation backend to one registered on this server."
        )


@dataclass(frozen=True)
class GeneratedResponse:
    text: str
    model_name: str  # the model that wrote it (hub id or registered artifact), for provenance
    settings: dict[str, Any]  # temperature, max_new_tokens, seed, ...: stored with the response


class GenerationBackend(Protocol):
    name: str

    def generate(self, messages: list[dict], k: int, **options: Any) -> list[GeneratedResponse]:
        """Return exactly ``k`` responses to the conversation ``messages``."""
        ...


BackendFactory = Callable[[], GenerationBackend]

# Factories, not instances: a backend that is expensive to build (a model on a GPU)
# caches itself inside its factory; the web tier never builds one.
_BACKENDS: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make ``factory`` available under ``name``; a name is registered once."""
    if not name or not name.strip():
        raise ValueError("a backend needs a non-empty name")
    if name in _BACKENDS:
        raise ValueError(f"generation backend {name!r} is already registered")
    _BACKENDS[name] = factory


def unregister_backend(name: str) -> None:
    """Remove ``name`` from the registry; unknown names are ignored."""
    _BACKENDS.pop(name, None)


@contextmanager
def registered_backend(name: str, factory: BackendFactory) -> Iterator[None]:
    """Register ``factory`` under ``name`` for the duration of a ``with`` block."""
    register_backend(name, factory)
    try:
        yield
    finally:
        unregister_backend(name)


def available_backends() -> list[str]:
    """Names of the registered backends, sorted."""
    return sorted(_BACKENDS)


def generate_responses(
    messages: list[dict], k: int, *, backend: str | None, **options: Any
) -> list[GeneratedResponse]:
    """Generate ``k`` responses to ``messages`` with the named backend.

    Args:
        messages: the prompt conversation, ``[{"role", "content"}, ...]``.
        k: how many responses, 1..9.
        backend: the project's configured backend name; None or empty when unset.
        **options: generation settings passed to the backend (temperature, seed, ...).

    Raises:
        GenerationNotConfigured: no backend is configured.
        ValueError: ``k`` is out of range, ``messages`` is empty or the backend is unknown.
        RuntimeError: the backend did not return exactly ``k`` non-empty responses.
    """
    if not backend:
        raise GenerationNotConfigured()
    if isinstance(k, bool) or not isinstance(k, int) or not MIN_RESPONSES <= k <= MAX_RESPONSES:
        raise ValueError(f"k must be an integer from {MIN_RESPONSES} to {MAX_RESPONSES}, not {k!r}")
    if not messages:
        raise ValueError("the prompt has no messages")
    factory = _BACKENDS.get(backend)
    if factory is None:
        names = ", ".join(available_backends()) or "none"
        raise ValueError(f"unknown generation backend {backend!r}; available: {names}")
    responses = factory().generate(messages, k, **options)
    _check_responses(backend, responses, k)
    return list(responses)


def _check_responses(backend: str, responses: object, k: int) -> None:
    if not isinstance(responses, list) or len(responses) != k:
        count = len(responses) if isinstance(responses, list) else type(responses).__name__
        raise RuntimeError(f"generation backend {backend!r} returned {count} responses, not {k}")
    for position, response in enumerate(responses, start=1):
        if not isinstance(response, GeneratedResponse):
            raise RuntimeError(
                f"generation backend {backend!r} returned a {type(response).__name__} "
                f"as response {position}, not a GeneratedResponse"
            )
        if not response.text.strip():
            raise RuntimeError(
                f"generation backend {backend!r} returned an empty response {position}"
            )


def backend_status(name: str | None) -> str:
    """One line for the project settings page describing the configured backend."""
    if not name:
        return "Not configured"
    if name in _BACKENDS:
        return f"Backend {name!r} (registered)"
    return f"Backend {name!r} is not installed on this server"
