"""The metrics stream every trainer appends to: ``OUT/metrics.jsonl``, one JSON object
per logging step (``step`` plus named metrics). The platform tails this file into the
run's page; a line is written whole and flushed, so a reader never sees half of one."""

import json
import math
import os
import time
from pathlib import Path


class MetricsLog:
    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "metrics.jsonl"
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, step: int, **metrics) -> None:
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in metrics.items()
        }
        line = json.dumps({"step": step, "time": round(time.time(), 3), **clean})
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def metrics_read(path: Path, *, after_bytes: int = 0) -> tuple[list[dict], int]:
    """Complete lines from ``after_bytes`` on, and the offset to continue from (a line
    still being written is left for the next read)."""
    if not path.exists():
        return [], after_bytes
    with open(path, "rb") as f:
        f.seek(after_bytes)
        data = f.read()
    end = data.rfind(b"\n") + 1
    rows = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
    return rows, after_bytes + end
