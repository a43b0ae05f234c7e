"""Where one claim and one submit spend their time: SQL statements, and Python per request.

Drives the real URL stack (middleware, DRF, services) in-process with Django's test
client against a fresh PostgreSQL database, so no network or gunicorn is involved.
"""

import argparse
import cProfile
import io
import os
import pstats
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
from benchmarks.pg import PgServer  # noqa: E402
from benchmarks.stats import percentile  # noqa: E402
from benchmarks.texts import TextMaker  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=(
            "Count and list the SQL statements of one claim and one submit, time many "
            "claim+submit cycles in-process (no network), and profile them with cProfile."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--cycles", type=int, default=300, help="timed claim+submit cycles")
    p.add_argument("--items", type=int, default=3000, help="items in the project")
    p.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    p.add_argument("--database", default="preflab_bench_profile")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    p.add_argument("--top", type=int, default=40, help="cProfile rows to show")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/request_profile.md")
    return p.parse_args(argv)


def _client(token: str):
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Token {token}")


def _cycle(client, slug: str) -> tuple[float, float]:
    """One claim and one submit; returns their seconds."""
    started = time.perf_counter()
    claimed = client.post(f"/api/v1/projects/{slug}/claim/")
    middle = time.perf_counter()
    assert claimed.status_code == 200, claimed.content
    body = claimed.json()
    ranking = [[r["id"]] for r in body["item"]["responses"]]
    submitted = client.post(
        f"/api/v1/assignments/{body['id']}/submit/",
        {"ranking": ranking, "client_token": uuid.uuid4().hex},
        content_type="application/json",
    )
    assert submitted.status_code == 201, submitted.content
    return middle - started, time.perf_counter() - middle


def _submit_next(client, claimed: dict) -> tuple[dict, float, float]:
    """One submit that asks for the next item; returns (next item, seconds, CPU seconds)."""
    ranking = [[r["id"]] for r in claimed["item"]["responses"]]
    started, cpu = time.perf_counter(), time.process_time()
    answer = client.post(
        f"/api/v1/assignments/{claimed['id']}/submit/",
        {"ranking": ranking, "client_token": uuid.uuid4().hex, "next": True},
        content_type="application/json",
    )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert answer.status_code == 201 and answer.json()["next"], answer.content
    return answer.json()["next"], seconds, cpu


def _next_timings(client, slug: str, cycles: int) -> list[tuple[float, float]]:
    claimed = client.post(f"/api/v1/projects/{slug}/claim/").json()
    timings = []
    for _ in range(cycles):
        claimed, seconds, cpu = _submit_next(client, claimed)
        timings.append((seconds, cpu))
    return timings


def _queries(client, slug: str) -> dict[str, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    found = {}
    with CaptureQueriesContext(connection) as claim:
        body = client.post(f"/api/v1/projects/{slug}/claim/").json()
    found["claim"] = [q["sql"] for q in claim.captured_queries]
    ranking = [[r["id"]] for r in body["item"]["responses"]]
    with CaptureQueriesContext(connection) as submit:
        client.post(
            f"/api/v1/assignments/{body['id']}/submit/",
            {"ranking": ranking, "client_token": uuid.uuid4().hex},
            content_type="application/json",
        )
    found["submit"] = [q["sql"] for q in submit.captured_queries]
    claimed = client.post(f"/api/v1/projects/{slug}/claim/").json()
    with CaptureQueriesContext(connection) as both:
        _submit_next(client, claimed)
    found["submit+next"] = [q["sql"] for q in both.captured_queries]
    return found


def _area(filename: str) -> str:
    if "/psycopg/" in filename:
        return "psycopg, waiting on PostgreSQL included"
    if "/django/db/" in filename:
        return "Django ORM (building SQL, making model instances)"
    if "/rest_framework/" in filename:
        return "Django REST framework"
    if "/django/" in filename:
        return "Django (request, middleware, signals, utils)"
    if filename.startswith(str(ROOT)) and "/.venv/" not in filename:
        return "PrefLab's own code"
    return "Python standard library and builtins"


def _by_area(stats: pstats.Stats) -> dict[str, float]:
    """Own time summed by where the code lives: which layer the CPU goes to."""
    areas: dict[str, float] = {}
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():
        areas[_area(filename)] = areas.get(_area(filename), 0.0) + own
    return dict(sorted(areas.items(), key=lambda kv: -kv[1]))


def _profile(client, slug: str, cycles: int, top: int) -> tuple[str, dict[str, float]]:
    """cProfile of ``cycles`` submit-and-next requests: the loop as the page and bench run it."""
    profiler = cProfile.Profile()
    profiler.enable()
    _next_timings(client, slug, cycles)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue(), _by_area(stats)


def measure(args: argparse.Namespace) -> dict:
    from benchmarks.seed import annotators_create, project_seed, statistics_refresh

    tokens = annotators_create(3)
    users = sorted(tokens)
    texts = TextMaker(0)
    project = project_seed(
        slug="profile", usernames=users, items=args.items, k=4, overlap=3, texts=texts
    )
    statistics_refresh()
    client = _client(tokens[users[0]])
    for _ in range(10):  # warm: imports, connection, caches
        _cycle(client, project.slug)
    queries = _queries(client, project.slug)
    timings = [_cycle(client, project.slug) for _ in range(args.cycles)]
    next_timings = _next_timings(_client(tokens[users[1]]), project.slug, args.cycles)
    profiled = min(args.cycles, 200)
    profile, areas = _profile(_client(tokens[users[2]]), project.slug, profiled, args.top)
    return {
        "queries": queries,
        "timings": timings,
        "next_timings": next_timings,
        "profile": profile,
        "areas": areas,
    }


def report(args, command: str, result: dict) -> str:
    claims = sorted(t[0] * 1000 for t in result["timings"])
    submits = sorted(t[1] * 1000 for t in result["timings"])
    both = sorted(t[0] * 1000 for t in result["next_timings"])
    cpu = sorted(t[1] * 1000 for t in result["next_timings"])
    lines = [
        "# One claim, one submit and one submit-and-next, in-process",
        "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        "",
        "```",
        command,
        "```",
        "",
        "Django's test client drives the real URL stack (middleware, DRF, services) against "
        "PostgreSQL on 127.0.0.1, one request at a time: no network, no gunicorn, no "
        "concurrency. The times are therefore the floor a request costs. One annotator "
        "does every cycle of the timing (overlap 3, nobody else fills the items), so the "
        "claim's candidate scan passes over the items it already did: the worst case.",
        "",
        "| call | SQL statements | p50 ms | p95 ms | mean ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, values in (("claim", claims), ("submit", submits), ("submit+next", both)):
        mean = sum(values) / len(values)
        lines.append(
            f"| {name} | {len(result['queries'][name])} | {percentile(values, 50):.1f} "
            f"| {percentile(values, 95):.1f} | {mean:.1f} |"
        )
    lines += [
        "",
        f"CPU of this process per submit+next (`time.process_time`, the test client's own "
        f"work included): p50 {percentile(cpu, 50):.1f} ms, mean {sum(cpu) / len(cpu):.1f} ms. "
        "Under gunicorn the same request also pays the HTTP parsing and WSGI layers "
        "(benchmarks/annotate_loop.py measures that, per annotation).",
    ]
    for name in ("claim", "submit", "submit+next"):
        lines += ["", f"## SQL of one {name}", "", "```sql"]
        lines += [f"-- {n}\n{sql}" for n, sql in enumerate(result["queries"][name], 1)]
        lines += ["```"]
    profiled = min(args.cycles, 200)
    total = sum(result["areas"].values())
    lines += [
        "",
        f"## Where the time goes: cProfile of {profiled} submit+next requests, own time by layer",
        "",
    ]
    lines += ["| layer | seconds | share |", "|---|---:|---:|"]
    lines += [
        f"| {area} | {sec:.2f} | {sec / total:.0%} |" for area, sec in result["areas"].items()
    ]
    lines += ["", f"Top {args.top} functions by cumulative time:", "", "```"]
    lines += [result["profile"].strip(), "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join([os.path.relpath(sys.executable, ROOT), *sys.argv])
    server = PgServer.from_url(args.postgres)
    with django_on_fresh_database(server, args.database, redis_url=args.redis_url):
        result = measure(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(args, command, result))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
