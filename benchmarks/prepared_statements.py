"""PostgreSQL's CPU per annotation with the loop's statements prepared, and without.

One process drives submit-and-next requests through the real URL stack (Django's test
client, as in request_profile.py) for three annotators in turn, on one database
connection, and reads that connection's backend CPU from /proc before and after each
block of requests. Blocks with ``PREFLAB_DB_PREPARED`` on and off alternate, so a
machine that speeds up or slows down during the run weighs on both sides alike.
Needs PostgreSQL on this machine (the backend's /proc entry).
"""

import argparse
import os
import shlex
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make `benchmarks` and the apps importable

from benchmarks.app import django_on_fresh_database  # noqa: E402
from benchmarks.machine import machine_facts, machine_markdown  # noqa: E402
from benchmarks.pg import PgServer, server_version  # noqa: E402
from benchmarks.texts import TextMaker  # noqa: E402

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--blocks", type=int, default=12, help="blocks per side, alternating")
    p.add_argument("--block-size", type=int, default=60, help="annotations per block")
    p.add_argument("--items", type=int, default=6000)
    p.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    p.add_argument("--database", default="preflab_bench_prepared")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/prepared_statements.md")
    return p.parse_args(argv)


class _Loop:
    """Three annotators taking turns at submit-and-next on one connection."""

    def __init__(self, tokens: dict[str, str], slug: str):
        from django.test import Client

        self.clients = [Client(HTTP_AUTHORIZATION=f"Token {t}") for t in tokens.values()]
        self.items = [c.post(f"/api/v1/projects/{slug}/claim/").json() for c in self.clients]

    def annotate(self, n: int) -> None:
        for i in range(n):
            turn = i % len(self.clients)
            claimed = self.items[turn]
            answer = self.clients[turn].post(
                f"/api/v1/assignments/{claimed['id']}/submit/",
                {
                    "ranking": [[r["id"]] for r in claimed["item"]["responses"]],
                    "client_token": uuid.uuid4().hex,
                    "next": True,
                },
                content_type="application/json",
            )
            assert answer.status_code == 201 and answer.json()["next"], answer.content
            self.items[turn] = answer.json()["next"]


def _backend() -> tuple[int, Path]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return pid, Path(f"/proc/{pid}/stat")


def _ticks(stat: Path) -> int:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def measure(args: argparse.Namespace) -> dict:
    from django.conf import settings
    from django.db import connection

    from benchmarks.seed import annotators_create, project_seed, statistics_refresh

    tokens = annotators_create(3)
    project_seed(
        slug="prepared", usernames=sorted(tokens), items=args.items, k=4, overlap=3,
        texts=TextMaker(0),
    )  # fmt: skip
    statistics_refresh()
    loop = _Loop(tokens, "prepared")
    loop.annotate(30)  # warm: imports, caches, the first preparations
    pid, stat = _backend()
    sides = {True: [], False: []}
    for _ in range(args.blocks):
        for prepared in (True, False):
            settings.PREFLAB_DB_PREPARED = prepared
            ticks, cpu, wall = _ticks(stat), time.process_time(), time.perf_counter()
            loop.annotate(args.block_size)
            assert _backend()[0] == pid, "the connection was replaced mid-run"
            sides[prepared].append(
                {
                    "pg_ms": (_ticks(stat) - ticks) * TICK_MS / args.block_size,
                    "python_ms": (time.process_time() - cpu) * 1000 / args.block_size,
                    "wall_ms": (time.perf_counter() - wall) * 1000 / args.block_size,
                }
            )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0)"
            " FROM pg_prepared_statements"
        )
        statements, generic, custom = cursor.fetchone()
    return {
        "sides": sides,
        "prepared_statements": int(statements),
        "generic_plans": int(generic),
        "custom_plans": int(custom),
    }


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def report(args, command: str, facts: dict, result: dict) -> str:
    rows = {}
    for prepared, blocks in result["sides"].items():
        rows[prepared] = {key: _median([b[key] for b in blocks]) for key in blocks[0]}
    on, off = rows[True], rows[False]
    lines = [
        "# The annotate loop's statements prepared on PostgreSQL, or not",
        "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        "",
        "```",
        command,
        "```",
        "",
        *machine_markdown(facts),
        "## Method",
        "",
        f"Three annotators take turns at submit-and-next (`POST .../submit/` with `next: "
        f"true`) through Django's test client on one database connection, over a project of "
        f"{args.items} items (K=4, overlap 3). {args.blocks} blocks of {args.block_size} "
        "annotations with `PREFLAB_DB_PREPARED` on alternate with as many with it off; "
        "each figure is the median over a side's blocks. PostgreSQL CPU is the backend "
        "process's user + system time from /proc; Python CPU is this process's (the test "
        "client's own work included).",
        "",
        "| per annotation | prepared | not prepared | prepared ÷ not |",
        "|---|---:|---:|---:|",
    ]
    for key, name in (
        ("pg_ms", "PostgreSQL backend CPU, ms"),
        ("python_ms", "Python CPU, ms"),
        ("wall_ms", "wall time, ms"),
    ):
        lines.append(f"| {name} | {on[key]:.2f} | {off[key]:.2f} | {on[key] / off[key]:.2f} |")
    lines += [
        "",
        f"At the end the connection held {result['prepared_statements']} prepared "
        f"statements, executed {result['generic_plans']} times with a generic plan and "
        f"{result['custom_plans']} times with a custom one (PostgreSQL plans the first "
        "five executions for their values, then keeps a generic plan when it costs no more).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join([os.path.relpath(sys.executable, ROOT), *sys.argv])
    server = PgServer.from_url(args.postgres)
    facts = machine_facts(postgres_version=server_version(server))
    with django_on_fresh_database(
        server,
        args.database,
        redis_url=args.redis_url,
        DATABASE_CONN_MAX_AGE="36000",  # one connection for the whole run
    ):
        result = measure(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(args, command, facts, result))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
