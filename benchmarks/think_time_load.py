"""How many annotators who think 10-30 s per item one machine serves (issue 22).

Ramps simulated annotators (asyncio, one keep-alive connection each) against gunicorn
until the submit's p95 passes a limit. Run ``.venv/bin/python
benchmarks/think_time_load.py --help``; the defaults are the run in
benchmarks/results/think_time_load.md.
"""

import argparse
import asyncio
import dataclasses
import json
import math
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make `benchmarks` and the apps importable

from benchmarks.app import app_env, django_boot, gunicorn_start, gunicorn_stop, manage  # noqa: E402
from benchmarks.cpu import TICKS, cpu_snapshot, cpu_used  # noqa: E402
from benchmarks.machine import machine_facts  # noqa: E402
from benchmarks.pg import PgServer, database_drop, database_recreate, server_version  # noqa: E402
from benchmarks.texts import TextMaker  # noqa: E402
from benchmarks.think_load import Plan, Recorder, ramp_run  # noqa: E402
from benchmarks.think_load_report import (  # noqa: E402
    level_stats,
    report_json,
    report_markdown,
)

# Steps of 150 around where a 2-core machine gives out (about 1000 with other work on it),
# wider past it.
DEFAULT_LEVELS = [100, 250, 400, 550, 700, 850, 1000, 1200, 1400, 1600, 1800, 2000, 2500, 3000]


@dataclass
class ThinkConfig:
    levels: list[int] = field(default_factory=lambda: list(DEFAULT_LEVELS))  # annotators
    think_min: float = 10.0  # seconds an annotator reads an item, uniform in [min, max]
    think_max: float = 30.0
    ramp_in: float = 30.0  # seconds a level's new annotators take to arrive (not measured)
    duration: float = 60.0  # measured seconds per level
    p95_limit_ms: float = 200.0  # the ramp stops at the first level whose submit p95 passes it
    items: int = 0  # items seeded; 0 = enough for every planned level, 1.5x over
    overlap: int = 3  # annotators per item
    k: int = 4  # responses per item (rank mode)
    gunicorn_workers: int = 4  # the Dockerfile's
    threads: int = 4  # the Dockerfile's
    worker_class: str = "gthread"  # the Dockerfile's
    keep_alive: int = 45  # gunicorn --keep-alive, s; above the longest think, so connections live
    worker_connections: int = 0  # gunicorn --worker-connections; 0 = the largest level + 100
    postgres: str = "postgresql://postgres@127.0.0.1:5432"
    database: str = "preflab_bench_think"  # dropped and created for the run, dropped after
    redis_url: str = "redis://127.0.0.1:6379/10"
    broker_url: str = "redis://127.0.0.1:6379/11"  # Celery's queue, apart from the cache
    seed: int = 0
    out: Path = ROOT / "benchmarks" / "results" / "think_time_load.md"
    json: Path | None = None  # default: --out with .json
    keep_databases: bool = False


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected numbers like 100,250,500: {text!r}") from exc
    if not levels or min(levels) < 1 or levels != sorted(set(levels)):
        raise argparse.ArgumentTypeError("levels must rise, each with at least one annotator")
    return levels


def parse_args(argv: list[str] | None = None) -> ThinkConfig:
    d = ThinkConfig()
    p = argparse.ArgumentParser(
        description=(
            "Seed a fresh database, start gunicorn, and ramp simulated annotators who think "
            "between items (claim, then think -> submit with next) level by level until "
            "the submit's p95 passes the limit or errors appear. Reports requests/s, "
            "annotations/s, latency percentiles and the CPU of gunicorn, PostgreSQL and "
            "the load generator per level."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    a = p.add_argument
    a("--levels", type=_levels, default=d.levels, help="annotators per level, rising, commas")
    a("--think-min", type=float, default=d.think_min, help="shortest think time, s")
    a("--think-max", type=float, default=d.think_max, help="longest think time, s")
    a("--ramp-in", type=float, default=d.ramp_in, help="s for a level's new annotators to arrive")
    a("--duration", type=float, default=d.duration, help="measured s per level")
    a("--p95-limit-ms", type=float, default=d.p95_limit_ms, help="stop past this submit p95")
    a("--items", type=int, default=d.items, help="items to seed (0 = enough for all levels)")
    a("--overlap", type=int, default=d.overlap, help="annotators per item")
    a("--k", type=int, default=d.k, help="responses per item")
    a("--gunicorn-workers", type=int, default=d.gunicorn_workers, help="gunicorn --workers")
    a("--threads", type=int, default=d.threads, help="gunicorn --threads")
    a("--worker-class", default=d.worker_class, help="gunicorn --worker-class")
    a("--keep-alive", type=int, default=d.keep_alive, help="gunicorn --keep-alive, s")
    a(
        "--worker-connections",
        type=int,
        default=d.worker_connections,
        help="gunicorn --worker-connections (0 = the largest level + 100)",
    )
    a("--postgres", default=d.postgres, help="PostgreSQL server URL (no database name)")
    a("--database", default=d.database, help="benchmark database, dropped and re-created")
    a("--redis-url", default=d.redis_url, help="REDIS_URL for the app")
    a("--broker-url", default=d.broker_url, help="CELERY_BROKER_URL for the app")
    a("--seed", type=int, default=d.seed, help="random seed for texts, think times, rankings")
    a("--out", type=Path, default=d.out, help="Markdown results file")
    a("--json", type=Path, default=None, help="raw numbers (default: --out with .json)")
    a("--keep-databases", action="store_true", help="leave the database for inspection")
    args = p.parse_args(argv)
    config = ThinkConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(ThinkConfig)})
    config.json = config.json or config.out.with_suffix(".json")
    if not 0 < config.think_min <= config.think_max:
        p.error("need 0 < --think-min <= --think-max")
    return config


def say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def items_needed(config: ThinkConfig) -> int:
    """Enough for every planned level at one annotation per mean think, 1.5x over.

    Every running annotator also holds one leased item; each item takes ``overlap``.
    """
    if config.items:
        return config.items
    mean_think = (config.think_min + config.think_max) / 2
    level_s = config.ramp_in + config.duration
    annotations = sum(n * level_s / mean_think for n in config.levels) + max(config.levels)
    return math.ceil(1.5 * annotations / config.overlap)


def open_files_raise() -> int:
    """Soft limit of open files up to the hard one; gunicorn inherits it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    needed = 2 * max(DEFAULT_LEVELS) + 1000
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < needed:
        say(f"warning: open files limited to {soft}; the largest levels need about {needed}")
    return soft


def gunicorn_extra(config: ThinkConfig) -> dict:
    """The flags beyond the Dockerfile's, and why: thousands of mostly idle connections."""
    connections = config.worker_connections or max(config.levels) + 100
    args = f"--keep-alive {config.keep_alive} --worker-connections {connections}"
    why = (
        f"gunicorn's default keep-alive is 2 s, so an annotator who thinks 10-30 s would "
        f"find the connection closed at every submit; {config.keep_alive} s keeps each "
        "annotator's connection open across its think time. gthread counts idle kept-alive "
        "connections against --worker-connections (default 1000 per worker): a worker at "
        "its limit stops accepting, and one past limit - threads closes connections after "
        "answering. Which of the workers accepts a connection is a race, not a balance, "
        f"so each worker may take {connections}: the largest level + 100."
    )
    return {"extra_args": args, "worker_connections": connections, "why": why}


def _postgres_ours(pids, dbname: str) -> set[int]:
    """Backends whose process title names our database (``postgres: user db host state``)."""
    ours = set()
    for pid in pids:
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if f" {dbname} " in title:
            ours.add(pid)
    return ours


def window_opener(gunicorn_pid: int, dbname: str):
    """``on_window`` for ramp_run: snapshot CPU now, and again when the window closes."""

    async def open_window():
        before = cpu_snapshot(gunicorn_pid)

        def close_window() -> dict:
            after = cpu_snapshot(gunicorn_pid)
            used = cpu_used(before, after)
            ours = _postgres_ours(after.postgres, dbname)
            used["postgres_ours_s"] = (
                sum(after.postgres[p] - before.postgres.get(p, 0) for p in ours) / TICKS
            )
            load = " ".join(f"{value:.2f}" for value in os.getloadavg())
            return {"cpu": used, "load_average": load}

        return close_window

    return open_window


def ramp(config: ThinkConfig, gunicorn, slug: str, tokens: list[str]) -> tuple:
    """Run the levels against ``gunicorn``; (recorder, stats of every level measured)."""
    plan = Plan(gunicorn.port, slug, config.think_min, config.think_max, config.seed)
    stats = []

    def should_stop(rec: Recorder, level) -> bool:
        s = level_stats(rec, level)
        stats.append(s)
        say(
            f"level {s.annotators}: {s.requests_per_s:.1f} requests/s, "
            f"{s.annotations_per_s:.1f} annotations/s, submit p50/p95/p99 "
            f"{s.submit.p50_ms:.0f}/{s.submit.p95_ms:.0f}/{s.submit.p99_ms:.0f} ms, "
            f"{s.errors} errors, gunicorn {s.cores('gunicorn_s'):.2f} cores, "
            f"load generator {s.cores('load_generator_s'):.3f} cores, load {s.load_average}"
        )
        if gunicorn.process.poll() is not None:
            raise RuntimeError(f"gunicorn died:\n{gunicorn.log_tail()}")
        return bool(s.errors) or not s.submit.p95_ms <= config.p95_limit_ms

    rec, _ = asyncio.run(
        ramp_run(
            levels=config.levels,
            tokens=tokens,
            plan=plan,
            ramp_in_s=config.ramp_in,
            duration_s=config.duration,
            on_window=window_opener(gunicorn.process.pid, config.database),
            should_stop=should_stop,
            say=say,
        )
    )
    return rec, stats


def seed(config: ThinkConfig) -> tuple:
    """One project for the whole ramp, every annotator a member; (project, tokens, seconds)."""
    from benchmarks.seed import annotators_create, project_seed, statistics_refresh

    started = time.perf_counter()
    tokens = annotators_create(max(config.levels))
    usernames = sorted(tokens)
    project = project_seed(
        slug="bench-think",
        usernames=usernames,
        items=items_needed(config),
        k=config.k,
        overlap=config.overlap,
        texts=TextMaker(config.seed),
    )
    statistics_refresh()
    return project, [tokens[name] for name in usernames], time.perf_counter() - started


def checks_consistent(checks, rec: Recorder) -> bool:
    """The database's invariants; submits cut off in flight may or may not have been stored."""
    stored_ok = (
        checks.successful_submits
        <= checks.annotations
        <= checks.successful_submits + rec.submits_cut
    )
    return (
        stored_ok
        and checks.overfilled_items == 0
        and checks.duplicate_assignments == 0
        and checks.counters_off == 0
    )


def run_all(config: ThinkConfig, env: dict[str, str], data_dir: str) -> dict:
    from benchmarks.checks import level_check

    say(f"migrating {config.database}")
    manage("migrate", "--noinput", env=env)
    django_boot(env)
    project, tokens, seed_s = seed(config)
    items = items_needed(config)
    say(f"seeded {items} items and {len(tokens)} annotators in {seed_s:.0f} s")
    from django.db import connections

    connections.close_all()  # nothing of ours holds a backend while we measure
    extra = gunicorn_extra(config)
    env = {**env, "GUNICORN_CMD_ARGS": extra["extra_args"]}
    gunicorn = gunicorn_start(
        env=env,
        workers=config.gunicorn_workers,
        threads=config.threads,
        worker_class=config.worker_class,
        log_path=Path(data_dir) / "gunicorn.log",
    )
    say(f"gunicorn on port {gunicorn.port} (pid {gunicorn.process.pid}): {extra['extra_args']}")
    try:
        rec, stats = ramp(config, gunicorn, project.slug, tokens)
    finally:
        gunicorn_stop(gunicorn)
    seen = sum(1 for c in rec.calls if c.kind == "submit" and c.status == 201)
    checks = level_check(project_id=project.pk, successful_submits=seen)
    connections.close_all()
    return dict(
        recorder=rec,
        stats=stats,
        checks=checks,
        checks_pass=checks_consistent(checks, rec),
        items=items,
        members=len(tokens),
        seed_s=seed_s,
        gunicorn=extra,
        next_note=(
            "Every submit answer carried `next`."
            if not rec.next_missing
            else f"**{rec.next_missing} submit answers had no `next` key**: those annotators "
            "fell back to a separate claim request (counted under claims)."
        ),
    )


def uncommitted_files() -> list[str]:
    """Tracked files that differ from HEAD: the code gunicorn ran is HEAD plus these."""
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return [line[3:] for line in done.stdout.splitlines()]


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    command = shlex.join([os.path.relpath(sys.executable, ROOT), *sys.argv])
    nofile = open_files_raise()
    server = PgServer.from_url(config.postgres)
    facts = machine_facts(postgres_version=server_version(server))
    say(f"load average at start: {facts['load_average']}")
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with tempfile.TemporaryDirectory(prefix="preflab-think-") as data_dir:
        env = app_env(
            database_url=server.url(config.database), data_dir=data_dir, redis_url=config.redis_url
        )
        env["CELERY_BROKER_URL"] = config.broker_url
        database_recreate(server, config.database)
        try:
            run = run_all(config, env, data_dir)
        finally:
            if not config.keep_databases:
                database_drop(server, config.database)
    run.update(date=date, command=command, config=config, machine=facts, nofile=nofile)
    run["uncommitted"] = uncommitted_files()
    if not run["stats"]:
        say("no level was measured")
        return 1
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text(report_markdown(levels=run["stats"], run=run))
    payload = report_json(levels=run["stats"], run=run)
    config.json.write_text(json.dumps(payload, indent=2) + "\n")
    say(f"wrote {config.out} and {config.json}")
    return 0 if run["checks_pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
