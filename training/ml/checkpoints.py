"""Checkpoints that appear whole: written into a hidden folder, then renamed.

A checkpoint is ``OUT/checkpoints/step-<n>/`` with the trainable model's state
(``model.safetensors``), the optimizer and scheduler (``optimizer.pt``), and
``state.json`` (step, epoch, batch within the epoch, RNG states). A process killed
while writing leaves only a ``.tmp-`` folder, which the next save or resume ignores.

torch is imported where a checkpoint is written or read: the run launcher finds the
latest checkpoint on workers that may have no training stack (they fail the run saying so).
"""

import json
import shutil
import uuid
from pathlib import Path

KEEP = 2


def _root(out: Path) -> Path:
    return out / "checkpoints"


def checkpoint_latest(out: Path) -> Path | None:
    root = _root(out)
    if not root.exists():
        return None
    done = [p for p in root.iterdir() if p.name.startswith("step-") and (p / "state.json").exists()]
    return max(done, key=lambda p: int(p.name.split("-", 1)[1]), default=None)


def checkpoint_save(out: Path, model, optimizer, scheduler, state: dict) -> Path:
    import torch
    from safetensors.torch import save_model

    root = _root(out)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    save_model(model, str(tmp / "model.safetensors"))
    torch.save(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
        tmp / "optimizer.pt",
    )
    rng = {"torch": torch.get_rng_state().tolist()}
    (tmp / "state.json").write_text(json.dumps({**state, "rng": rng}), encoding="utf-8")
    final = root / f"step-{state['step']}"
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    for old in sorted(
        (p for p in root.iterdir() if p.name.startswith("step-")),
        key=lambda p: int(p.name.split("-", 1)[1]),
    )[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    for leftover in root.glob(".tmp-*"):
        if leftover != tmp:
            shutil.rmtree(leftover, ignore_errors=True)
    return final


def checkpoint_load(folder: Path, model, optimizer, scheduler) -> dict:
    import torch
    from safetensors.torch import load_model

    load_model(model, str(folder / "model.safetensors"))
    saved = torch.load(folder / "optimizer.pt", weights_only=False)
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    torch.set_rng_state(torch.tensor(state["rng"]["torch"], dtype=torch.uint8))
    return state
