"""Time a 100k-row import end to end (validation pass included), then its idempotent re-run.

Run ``.venv/bin/python benchmarks/import_100k.py --help`` for every option; the
defaults are the full run whose results live in benchmarks/results/import_100k.md.
"""

import argparse
import dataclasses
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make `benchmarks` and the apps importable

from benchmarks.app import app_env, django_boot, manage  # noqa: E402
from benchmarks.cpu import cpu_snapshot, cpu_used  # noqa: E402
from benchmarks.import_report import report_json, report_markdown  # noqa: E402
from benchmarks.machine import machine_facts  # noqa: E402
from benchmarks.pg import PgServer, database_drop, database_recreate, server_version  # noqa: E402
from benchmarks.texts import TextMaker, hh_transcript  # noqa: E402

SLUG = "bench-import"
MANAGER = "bench-manager"


@dataclass
class ImportConfig:
    rows: int = 100_000  # items in the generated file
    k: int = 4  # responses per row (the project's K)
    multi_turn_share: float = 0.3  # prompts that are conversations rather than one question
    hh_share: float = 0.3  # of those, written as HH-RLHF transcript strings
    seed: int = 0
    postgres: str = "postgresql://postgres@127.0.0.1:5432"
    database: str = "preflab_bench_import"  # dropped and created for the run, dropped after
    redis_url: str = "redis://127.0.0.1:6379/15"  # import progress goes to the cache
    out: Path = ROOT / "benchmarks" / "results" / "import_100k.md"
    json: Path | None = None  # default: next to --out with .json
    keep_database: bool = False


def parse_args(argv: list[str] | None = None) -> ImportConfig:
    d = ImportConfig()
    p = argparse.ArgumentParser(
        description=(
            "Generate a JSONL file of --rows items (K responses of 300-800 characters, some "
            "conversational prompts), import it into a fresh project in a fresh PostgreSQL "
            "database with `manage.py import_items` (validation pass + insert pass, as the "
            "worker runs it), verify the item count, then import the same file again "
            "(idempotent: no new items). Records wall time, rows/s and peak memory."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    a = p.add_argument
    a("--rows", type=int, default=d.rows, help="rows (items) in the generated file")
    a("--k", type=int, default=d.k, help="responses per row")
    a("--multi-turn-share", type=float, default=d.multi_turn_share, help="conversational prompts")
    a("--hh-share", type=float, default=d.hh_share, help="of those, as HH-RLHF strings")
    a("--seed", type=int, default=d.seed, help="random seed for the generated texts")
    a("--postgres", default=d.postgres, help="PostgreSQL server URL (no database name)")
    a("--database", default=d.database, help="benchmark database, dropped and re-created")
    a("--redis-url", default=d.redis_url, help="REDIS_URL for the app ('' for file cache)")
    a("--out", type=Path, default=d.out, help="Markdown results file")
    a("--json", type=Path, default=None, help="raw numbers as JSON (default: --out with .json)")
    a("--keep-database", action="store_true", help="leave the database for inspection")
    args = p.parse_args(argv)
    config = ImportConfig(
        **{f.name: getattr(args, f.name) for f in dataclasses.fields(ImportConfig)}
    )
    config.json = config.json or config.out.with_suffix(".json")
    return config


def say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def jsonl_write(path: Path, config: ImportConfig) -> None:
    """The import file: native rows with ids, K model responses each, some chats."""
    texts = TextMaker(config.seed)
    with path.open("w", encoding="utf-8") as out:
        for n in range(config.rows):
            messages = texts.conversation(config.multi_turn_share)
            prompt = messages[0]["content"] if len(messages) == 1 else messages
            if len(messages) > 1 and texts.rng.random() < config.hh_share:
                prompt = hh_transcript(messages) or messages
            responses = [
                {"text": text, "model": f"model-{chr(65 + j)}"}
                for j, text in enumerate(texts.responses(config.k))
            ]
            row = {"id": f"bench-{n:07d}", "prompt": prompt, "responses": responses}
            row["metadata"] = {"source": "benchmark", "turns": len(messages)}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


@dataclass(frozen=True)
class ChildRun:
    seconds: float  # wall time of the whole process, Django start-up included
    peak_rss_mb: float  # the child's own peak resident memory (wait4's ru_maxrss)
    cpu_s: float  # user + system CPU of the child
    returncode: int
    output: str


def manage_measured(*args: str, env: dict[str, str], log_dir: Path) -> ChildRun:
    """Run manage.py in a child and read that child's own resource usage via wait4."""
    log = log_dir / f"manage-{time.monotonic_ns()}.log"
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    started = time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # wait4 reaped it, not Popen
    return ChildRun(
        seconds=seconds,
        peak_rss_mb=usage.ru_maxrss / 1024,  # Linux reports kilobytes
        cpu_s=usage.ru_utime + usage.ru_stime,
        returncode=child.returncode,
        output=log.read_text(errors="replace").strip(),
    )


def project_create_for_import(config: ImportConfig) -> None:
    from django.contrib.auth import get_user_model

    from projects.services import project_create

    manager = get_user_model().objects.create_user(username=MANAGER)
    project_create(creator=manager, name="Import benchmark", slug=SLUG, responses_per_item=config.k)


def database_counts() -> dict:
    """What the import left in the database, read with SQL."""
    from django.db import connection

    queries = {
        "items": "SELECT count(*) FROM annotation_item",
        "prompts": "SELECT count(*) FROM annotation_prompt",
        "responses": "SELECT count(*) FROM annotation_response",
        "item_responses": "SELECT count(*) FROM annotation_itemresponse",
        "database_mb": "SELECT pg_database_size(current_database()) / 1048576",
    }
    with connection.cursor() as cursor:
        counts = {}
        for name, query in queries.items():
            cursor.execute(query)
            counts[name] = cursor.fetchone()[0]
    connection.close()  # the next import must not wait on this process's idle session
    return counts


def import_jobs() -> list[dict]:
    """Each job as the service recorded it; started..finished is the service's own time."""
    from annotation.importing.models import ImportJob

    fields = ["id", "state", "total_rows", "created_items", "existing_items", "message"]
    jobs = []
    for job in ImportJob.objects.order_by("id"):
        row = {name: getattr(job, name) for name in fields}
        row["service_s"] = (job.finished_at - job.started_at).total_seconds()
        jobs.append(row)
    return jobs


def parse_pass(path: Path, k: int) -> float:
    """Seconds for one parse + validate pass alone (the import makes two, plus the inserts)."""
    from annotation.importing import RowError, iter_import_rows

    started = time.perf_counter()
    with path.open("rb") as stream:
        errors = sum(
            isinstance(e, RowError)
            for e in iter_import_rows(stream, file_format="jsonl", responses_per_item=k)
        )
    if errors:
        raise RuntimeError(f"the generated file has {errors} invalid rows")
    return time.perf_counter() - started


def run_imports(config: ImportConfig, env: dict[str, str], work: Path, path: Path) -> dict:
    baseline = manage_measured("check", env=env, log_dir=work)
    runs, counts, cpu = [], [], []
    for attempt in ("first", "again"):
        say(f"import ({attempt}) of {config.rows:,} rows")
        before = cpu_snapshot()
        run = manage_measured(
            "import_items", SLUG, str(path), "--as-user", MANAGER, env=env, log_dir=work
        )
        used = cpu_used(before, cpu_snapshot())
        # The importing child is not this process: take its CPU out of "everything else".
        cpu.append({**used, "others_s": max(used["others_s"] - run.cpu_s, 0.0)})
        if run.returncode != 0:
            raise RuntimeError(f"import_items failed:\n{run.output[-3000:]}")
        runs.append(run)
        counts.append(database_counts())
        items = counts[-1]["items"]
        say(
            f"import ({attempt}): {run.seconds:.1f} s, peak {run.peak_rss_mb:.0f} MB, "
            f"{items:,} items"
        )
    say("one parse + validate pass alone")
    return {
        "baseline": baseline,
        "runs": runs,
        "counts": counts,
        "cpu": cpu,
        "jobs": import_jobs(),
        "parse_pass_s": parse_pass(path, config.k),
    }


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    command = shlex.join([os.path.relpath(sys.executable, ROOT), *sys.argv])
    server = PgServer.from_url(config.postgres)
    facts = machine_facts(postgres_version=server_version(server))
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with tempfile.TemporaryDirectory(prefix="preflab-import-") as tmp:
        work = Path(tmp)
        path = work / "bench_100k.jsonl"
        say(f"writing {config.rows:,} rows to {path}")
        started = time.perf_counter()
        jsonl_write(path, config)
        generated = {"seconds": time.perf_counter() - started, "bytes": path.stat().st_size}
        env = app_env(
            database_url=server.url(config.database),
            data_dir=str(work / "data"),
            redis_url=config.redis_url,
        )
        database_recreate(server, config.database)
        try:
            manage("migrate", "--noinput", env=env)
            django_boot(env)
            project_create_for_import(config)
            measured = run_imports(config, env, work, path)
        finally:
            from django.db import connections

            connections.close_all()
            if not config.keep_database:
                database_drop(server, config.database)
    results = dict(
        date=date, command=command, config=config, machine=facts, generated=generated, **measured
    )
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text(report_markdown(**results))
    config.json.write_text(json.dumps(report_json(**results), indent=2) + "\n")
    say(f"wrote {config.out} and {config.json}")
    expected = config.rows
    ok = measured["counts"][0]["items"] == expected and measured["counts"][1]["items"] == expected
    return 0 if ok and measured["jobs"][-1]["created_items"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
