"""Load-test the annotation loop (claim -> submit) over HTTP, with pgbench as the yardstick.

Run ``.venv/bin/python benchmarks/annotate_loop.py --help`` for every option; the
defaults are the full run whose results live in benchmarks/results/annotate_loop.md.
"""

import argparse
import dataclasses
import json
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make `benchmarks` and the apps importable

from benchmarks.annotate_report import TARGET_LEVEL, report_json, report_markdown  # noqa: E402
from benchmarks.app import app_env, django_boot, gunicorn_start, gunicorn_stop, manage  # noqa: E402
from benchmarks.cpu import cpu_snapshot, cpu_used  # noqa: E402
from benchmarks.label_studio import label_studio_available, label_studio_levels  # noqa: E402
from benchmarks.load import Annotator, NextAnnotator, floor_run, level_run  # noqa: E402
from benchmarks.machine import machine_facts  # noqa: E402
from benchmarks.pg import (  # noqa: E402
    PgServer,
    database_drop,
    database_recreate,
    pgbench_run,
    server_setting,
    server_version,
)
from benchmarks.stats import level_summary  # noqa: E402
from benchmarks.texts import TextMaker  # noqa: E402


@dataclass
class LoopConfig:
    annotators: list[int] = field(default_factory=lambda: [1, 8, 32, 64])  # one level each
    items: int = 3000  # items seeded per level, in a fresh project, so no level runs dry
    overlap: int = 3  # annotators per item
    k: int = 4  # responses per item (rank mode)
    duration: float = 30.0  # measured seconds per level
    warmup: float = 3.0  # seconds per level run but not measured (connections, caches)
    calls: int = 0  # claim+submit cycles per annotator instead of a duration; 0 = duration
    gunicorn_workers: int = 4  # the Dockerfile's default
    threads: int = 4  # threads per gunicorn worker (the Dockerfile's default)
    worker_class: str = "gthread"  # the Dockerfile's; gthread keeps connections alive
    pgbench_clients: int = 32
    pgbench_jobs: int = 2  # pgbench's own worker threads (-j)
    pgbench_seconds: int = 20
    pgbench_scale: int = 10
    skip_pgbench: bool = False
    floor_seconds: float = 10.0  # GET /healthz at the target concurrency first; 0 = skip
    postgres: str = "postgresql://postgres@127.0.0.1:5432"  # server; databases are made here
    database: str = "preflab_bench"  # dropped and created for the run, dropped after
    redis_url: str = "redis://127.0.0.1:6379/15"  # a database number of its own
    seed: int = 0  # for the generated texts and rankings
    out: Path = ROOT / "benchmarks" / "results" / "annotate_loop.md"
    json: Path | None = None  # default: next to --out with .json
    keep_databases: bool = False
    # "next": one request per annotation (submit with "next": true); "pair": claim, then
    # submit. Each mode runs every level, in this order.
    modes: list[str] = field(default_factory=lambda: ["next", "pair"])
    label_studio: bool = True  # measure Label Studio 1.23.2 in the same sitting, after
    label_studio_venv: Path = Path("/tmp/ls-venv")


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected numbers like 1,8,32,64: {text!r}") from exc
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("every level needs at least one annotator")
    return levels


def parse_args(argv: list[str] | None = None) -> LoopConfig:
    d = LoopConfig()
    p = argparse.ArgumentParser(
        description=(
            "Seed a fresh PostgreSQL database, start gunicorn, and for each concurrency level "
            "run N simulated annotators (one thread and one keep-alive HTTP connection each) "
            "that loop claim -> submit. Reports annotations/s, p50/p95/p99 latency of each "
            "call and every error, checks the database's invariants after each level, and "
            "runs pgbench's simple-update as the yardstick."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    a = p.add_argument
    a(
        "--annotators",
        type=_levels,
        default=d.annotators,
        help="concurrency levels, comma separated",
    )
    a("--items", type=int, default=d.items, help="items seeded per level (fresh project per level)")
    a("--overlap", type=int, default=d.overlap, help="annotators per item")
    a("--k", type=int, default=d.k, help="responses per item")
    a("--duration", type=float, default=d.duration, help="measured seconds per level")
    a("--warmup", type=float, default=d.warmup, help="unmeasured seconds before each level")
    a("--calls", type=int, default=d.calls, help="cycles per annotator instead of --duration")
    a("--gunicorn-workers", type=int, default=d.gunicorn_workers, help="gunicorn --workers")
    a("--threads", type=int, default=d.threads, help="gunicorn --threads per worker")
    a("--worker-class", default=d.worker_class, help="gunicorn --worker-class")
    a("--pgbench-clients", type=int, default=d.pgbench_clients, help="pgbench -c")
    a("--pgbench-jobs", type=int, default=d.pgbench_jobs, help="pgbench -j")
    a("--pgbench-seconds", type=int, default=d.pgbench_seconds, help="pgbench -T")
    a("--pgbench-scale", type=int, default=d.pgbench_scale, help="pgbench -i -s")
    a("--skip-pgbench", action="store_true", help="leave the yardstick out (trial runs)")
    a(
        "--floor-seconds",
        type=float,
        default=d.floor_seconds,
        help="seconds of GET /healthz at 32 connections: the HTTP stack's ceiling (0 = skip)",
    )
    a("--postgres", default=d.postgres, help="PostgreSQL server URL (no database name)")
    a("--database", default=d.database, help="benchmark database, dropped and re-created")
    a("--redis-url", default=d.redis_url, help="REDIS_URL for the app ('' for file cache)")
    a("--seed", type=int, default=d.seed, help="random seed for texts and rankings")
    a("--out", type=Path, default=d.out, help="Markdown results file")
    a("--json", type=Path, default=None, help="raw numbers as JSON (default: --out with .json)")
    a("--keep-databases", action="store_true", help="leave the databases for inspection")
    a(
        "--modes",
        type=lambda text: [m for m in text.split(",") if m],
        default=d.modes,
        help="next (one request per annotation), pair (claim + submit), comma separated",
    )
    a(
        "--no-label-studio",
        dest="label_studio",
        action="store_false",
        help="leave out Label Studio's levels (see benchmarks/label_studio.py)",
    )
    a("--label-studio-venv", type=Path, default=d.label_studio_venv, help="its venv")
    args = p.parse_args(argv)
    config = LoopConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(LoopConfig)})
    config.json = config.json or config.out.with_suffix(".json")
    return config


def say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def run_pgbench(config: LoopConfig, server: PgServer):
    if config.skip_pgbench:
        return None
    dbname = f"{config.database}_pgbench"
    say(f"pgbench: -i -s {config.pgbench_scale}, then {config.pgbench_seconds} s simple-update")
    try:
        result = pgbench_run(
            server,
            dbname=dbname,
            scale=config.pgbench_scale,
            clients=config.pgbench_clients,
            threads=config.pgbench_jobs,
            seconds=config.pgbench_seconds,
        )
    finally:
        if not config.keep_databases:
            database_drop(server, dbname)
    say(f"pgbench: {result.tps:.0f} TPS")
    return result


ANNOTATORS = {"next": NextAnnotator, "pair": Annotator}


def run_level(
    config: LoopConfig, n: int, tokens: dict[str, str], texts, gunicorn, mode: str
) -> dict:
    """Seed a fresh project, drive it with ``n`` annotators, check the database after."""
    from benchmarks.checks import level_check
    from benchmarks.seed import project_seed, statistics_refresh

    usernames = sorted(tokens)[:n]
    started = time.perf_counter()
    project = project_seed(
        slug=f"bench-{mode}-n{n}",
        usernames=usernames,
        items=config.items,
        k=config.k,
        overlap=config.overlap,
        texts=texts,
    )
    statistics_refresh()
    seed_s = time.perf_counter() - started
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    say(f"{mode} {n}: seeded {config.items} items in {seed_s:.1f} s; load average {load}")
    before = cpu_snapshot(gunicorn.process.pid)
    run = level_run(
        port=gunicorn.port,
        tokens=[tokens[u] for u in usernames],
        slug=project.slug,
        duration=config.duration,
        warmup=config.warmup,
        cycles=config.calls,
        annotator=ANNOTATORS[mode],
    )
    cpu = cpu_used(before, cpu_snapshot(gunicorn.process.pid))
    summary = level_summary(run)
    checks = level_check(project_id=project.pk, successful_submits=summary.submits_total)
    say(
        f"{mode} {n}: {summary.annotations_per_s:.1f} annotations/s, claim p95 "
        f"{summary.claim.p95_ms:.1f} ms, submit p95 {summary.submit.p95_ms:.1f} ms, "
        f"{summary.errors} errors, checks {'pass' if checks.passed else 'FAIL'}"
    )
    if gunicorn.process.poll() is not None:
        raise RuntimeError(f"gunicorn died during level {n}:\n{gunicorn.log_tail()}")
    return {
        "mode": mode,
        "summary": summary,
        "checks": checks,
        "cpu": cpu,
        "seed_s": seed_s,
        "load": load,
    }


def run_floor(config: LoopConfig, gunicorn):
    if not config.floor_seconds:
        return None
    floor = floor_run(port=gunicorn.port, connections=TARGET_LEVEL, seconds=config.floor_seconds)
    say(f"floor: GET /healthz, {TARGET_LEVEL} connections: {floor.per_second:.0f} requests/s")
    return floor


def run_levels(config: LoopConfig, env: dict[str, str], data_dir: str) -> tuple:
    from benchmarks.seed import annotators_create

    tokens = annotators_create(max(config.annotators) * len(config.modes))
    texts = TextMaker(config.seed)
    say(
        f"gunicorn: {config.gunicorn_workers} workers x {config.threads} threads "
        f"({config.worker_class})"
    )
    gunicorn = gunicorn_start(
        env=env,
        workers=config.gunicorn_workers,
        threads=config.threads,
        worker_class=config.worker_class,
        log_path=Path(data_dir) / "gunicorn.log",
    )
    try:
        floor = run_floor(config, gunicorn)
        levels = {}
        for index, mode in enumerate(config.modes):
            # Each mode its own annotators: none starts with a lease left by the other mode.
            names = sorted(tokens)[index * max(config.annotators) :]
            mine = {name: tokens[name] for name in names[: max(config.annotators)]}
            levels[mode] = [
                run_level(config, n, mine, texts, gunicorn, mode) for n in config.annotators
            ]
        return floor, levels
    finally:
        gunicorn_stop(gunicorn)


def run_label_studio(config: LoopConfig) -> list[dict] | None:
    """Label Studio's levels right after PrefLab's, on the same PostgreSQL (or None)."""
    if not config.label_studio:
        return None
    reason = label_studio_available(config.label_studio_venv)
    if reason:
        say(f"Label Studio left out: {reason}")
        return None
    return label_studio_levels(
        levels=config.annotators,
        duration=config.duration,
        warmup=config.warmup,
        cycles=config.calls,
        k=config.k,
        seed=config.seed,
        venv=config.label_studio_venv,
        postgres=config.postgres,
        processes=config.gunicorn_workers,
        say=say,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    command = shlex.join([os.path.relpath(sys.executable, ROOT), *sys.argv])
    server = PgServer.from_url(config.postgres)
    facts = machine_facts(postgres_version=server_version(server))
    facts["max_connections"] = server_setting(server, "max_connections")
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    pgbench = run_pgbench(config, server)  # first, while nothing else of ours runs
    with tempfile.TemporaryDirectory(prefix="preflab-bench-") as data_dir:
        env = app_env(
            database_url=server.url(config.database), data_dir=data_dir, redis_url=config.redis_url
        )
        database_recreate(server, config.database)
        try:
            say(f"migrating {config.database}")
            manage("migrate", "--noinput", env=env)
            django_boot(env)
            floor, by_mode = run_levels(config, env, data_dir)
        finally:
            from django.db import connections

            connections.close_all()
            if not config.keep_databases:
                database_drop(server, config.database)
    ls_levels = run_label_studio(config)
    results = dict(
        date=date,
        command=command,
        config=config,
        machine=facts,
        pgbench=pgbench,
        floor=floor,
        by_mode=by_mode,
        ls_levels=ls_levels,
    )
    levels = [level for mode_levels in by_mode.values() for level in mode_levels]
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text(report_markdown(**results))
    config.json.write_text(json.dumps(report_json(**results), indent=2) + "\n")
    say(f"wrote {config.out} and {config.json}")
    return 0 if all(level["checks"].passed for level in levels) else 1


if __name__ == "__main__":
    sys.exit(main())
