"""The metrics stream every trainer appends to: ``OUT/metrics.jsonl``, one JSON object
per logging step (``step`` plus named metrics). The platform tails this file into the
run's page; a line is written whole and flushed, so a reader never sees half of one."""

import json
import logging
import math
import os
import time
from pathlib import Path

logger = logging.getLogger(__name__)


def _drop_torn_line(path: Path) -> None:
    """A trainer killed mid-write leaves half a line; cut it before appending, or the
    next line would be glued to it and neither could be read."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        data = f.read()
        if not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)


class MetricsLog:
    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "metrics.jsonl"
        _drop_torn_line(self.path)
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
    rows = []
    for line in data[:end].splitlines():
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:  # an older trainer's torn line: skipped, not a stuck run
            logger.warning("%s: skipped an unreadable line: %.80r", path, line)
    return rows, after_bytes + end
