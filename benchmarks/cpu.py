"""Where the CPU went during a level: gunicorn, PostgreSQL, the load generator, everything."""

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: str) -> tuple[str, int, int] | None:
    """(command name, parent pid, CPU ticks), or None if the process is gone.

    The ticks include the reaped children's (cutime + cstime): a PostgreSQL backend
    that exits between two snapshots moves into the postmaster's count instead of
    vanishing from the sum.
    """
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2 :].split()
    return name, int(rest[1]), sum(int(value) for value in rest[11:15])


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) ticks over all cores since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass(frozen=True)
class CpuSnapshot:
    gunicorn: dict[int, int]  # pid -> ticks, the master and its workers
    postgres: dict[int, int]  # pid -> ticks, every process named "postgres" (all sessions)
    load_generator: float  # seconds of CPU this process used
    machine_busy: int
    machine_total: int


def cpu_snapshot(gunicorn_pid: int | None = None) -> CpuSnapshot:
    gunicorn, postgres = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(entry.name)
        if stat is None:
            continue
        name, parent, ticks = stat
        if gunicorn_pid is not None and gunicorn_pid in (int(entry.name), parent):
            gunicorn[int(entry.name)] = ticks
        elif name == "postgres":
            postgres[int(entry.name)] = ticks
    times = os.times()
    busy, total = _machine_ticks()
    return CpuSnapshot(gunicorn, postgres, times.user + times.system, busy, total)


def _delta(before: dict[int, int], after: dict[int, int]) -> float:
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) / TICKS


def cpu_used(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """CPU seconds each party used between two snapshots, and the machine's busy seconds."""
    used = {
        "gunicorn_s": _delta(before.gunicorn, after.gunicorn),
        "postgres_s": _delta(before.postgres, after.postgres),
        "load_generator_s": after.load_generator - before.load_generator,
    }
    busy = (after.machine_busy - before.machine_busy) / TICKS
    return {
        **used,
        # Whatever else ran meanwhile (other people's work on a shared machine).
        "others_s": max(busy - sum(used.values()), 0.0),
        "machine_busy_s": busy,
        # Wall seconds x cores, as /proc/stat counts them.
        "machine_capacity_s": (after.machine_total - before.machine_total) / TICKS,
        "cores": os.cpu_count() or 1,
    }
