"""Progress and cancellation of long jobs, kept in the shared cache (Redis in production).

A job's database row is only written at its start and end: progress written
inside the job's own transaction would be invisible to the page, and on SQLite
a second writer would wait on the job's lock. The cache is visible at once to
every web node and worker.
"""

import logging
from dataclasses import asdict, dataclass

from django.core.cache import cache

from common.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)

TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Progress:
    phase: str  # "validating", "importing", ...
    done: int
    total: int
    unit: str = "rows"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


def progress_bar(progress: "Progress", width: int = 40) -> str:
    """A text bar for command-line progress: [####....] 1,234/5,000 rows (24%)."""
    done, total, unit = progress.done, progress.total, progress.unit
    if not total:
        return f"[{'?' * width}] {done:,} {unit}"
    filled = int(width * done / total)
    bar = "#" * filled + "." * (width - filled)
    return f"[{bar}] {done:,}/{total:,} {unit} ({100 * done // total}%)"


def _key(kind: str, job_id: int, what: str) -> str:
    return f"preflab:{kind}:{job_id}:{what}"


def progress_report(kind: str, job_id: int, progress: Progress) -> None:
    cache.set(_key(kind, job_id, "progress"), asdict(progress), TTL_SECONDS)


def progress_read(kind: str, job_id: int) -> Progress | None:
    """The live progress, or None; None too when the cache is down, so a job's page and
    status answer from its row instead of failing with the cache (reads need no Redis)."""
    try:
        raw = cache.get(_key(kind, job_id, "progress"))
    except Exception:
        logger.warning("cache unreachable; %s %s shows its stored state", kind, job_id)
        return None
    return Progress(**raw) if raw else None


def cancel_request(kind: str, job_id: int) -> None:
    """Ask the job's worker to stop; it hears this through the shared cache, so with the
    cache down the request cannot reach it: a 503 saying so, and nothing changed."""
    try:
        cache.set(_key(kind, job_id, "cancel"), True, TTL_SECONDS)
    except Exception as exc:
        logger.warning("cache unreachable; cannot cancel %s %s: %s", kind, job_id, exc)
        raise ServiceUnavailableError(
            "the shared cache (Redis) is unreachable, so the cancel cannot reach the worker; "
            "nothing was changed: try again once Redis answers"
        ) from exc


def cancel_requested(kind: str, job_id: int) -> bool:
    return bool(cache.get(_key(kind, job_id, "cancel")))
