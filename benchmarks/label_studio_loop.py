"""Label Studio 1.23.2's annotate loop alone: label_studio.py's levels, as JSON and a table.

annotate_loop.py runs the same levels right after PrefLab's for the comparison; this script is
for trying the Label Studio side by itself. Run ``.venv/bin/python
benchmarks/label_studio_loop.py --help`` for the options.
"""

import argparse
import json
import math
import os
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make `benchmarks` importable

from benchmarks.jsonable import jsonable  # noqa: E402
from benchmarks.label_studio import (  # noqa: E402
    DEFAULT_VENV,
    VERSION,
    label_studio_available,
    label_studio_levels,
)

OUT = ROOT / "benchmarks" / "results" / "label_studio_loop.json"


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected numbers like 8,32,64: {text!r}") from exc
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("every level needs at least one annotator")
    return levels


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=(
            f"Start Label Studio {VERSION} under its production uWSGI layout on a fresh "
            "PostgreSQL database and run N annotators (GET next -> POST annotation) per level."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    a = p.add_argument
    a("--annotators", type=_levels, default=[8, 32, 64], help="levels, comma separated")
    a("--duration", type=float, default=30.0, help="measured seconds per level")
    a("--warmup", type=float, default=3.0, help="unmeasured seconds before each level")
    a("--calls", type=int, default=0, help="cycles per annotator instead of --duration")
    a("--tasks", type=int, default=3000, help="tasks seeded per level (fresh project each)")
    a("--k", type=int, default=4, help="responses per task")
    a("--seed", type=int, default=0, help="random seed for the texts")
    a("--venv", type=Path, default=DEFAULT_VENV, help="Label Studio's virtual environment")
    a("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server")
    a("--database", default="preflab_bench_ls", help="database, dropped and re-created")
    a("--processes", type=int, default=4, help="UWSGI_PROCESSES")
    a("--threads", type=int, default=None, help="UWSGI_NUMBER_OF_THREADS (default: the ini's 1)")
    a("--keep-database", action="store_true", help="leave the database for inspection")
    a("--data-dir", type=Path, default=None, help="Label Studio's data dir, kept (uwsgi.log)")
    a("--out", type=Path, default=OUT, help="JSON results file")
    return p.parse_args(argv)


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}"


def markdown_table(levels: list[dict]) -> str:
    lines = [
        "| annotators | annotations/s | claim (next) p50 / p95 / p99 ms "
        "| submit p50 / p95 / p99 ms | errors | uWSGI CPU ms / annotation "
        "| PostgreSQL CPU ms / annotation | others' CPU s | workers running "
        "| ERROR lines in its log | checks | load before |",
        "|---:|---:|---|---|---:|---:|---:|---:|---|---:|---|---|",
    ]
    for level in levels:
        s = level["summary"]
        claim = " / ".join(_ms(v) for v in (s.claim.p50_ms, s.claim.p95_ms, s.claim.p99_ms))
        submit = " / ".join(_ms(v) for v in (s.submit.p50_ms, s.submit.p95_ms, s.submit.p99_ms))
        low, high = level["workers"]
        lines.append(
            f"| {s.annotators} | {s.annotations_per_s:.1f} | {claim} | {submit} | {s.errors} "
            f"| {level['uwsgi_cpu_ms_per_annotation']:.1f} "
            f"| {level['postgres_cpu_ms_per_annotation']:.1f} | {level['cpu']['others_s']:.1f} "
            f"| {low}-{high} | {sum(level['log_errors'].values())} "
            f"| {'pass' if level['checks'].passed else 'FAIL'} | {level['load']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problem = label_studio_available(args.venv)
    if problem:
        print(f"Label Studio is not usable: {problem}", file=sys.stderr)
        return 2
    levels = label_studio_levels(
        levels=args.annotators,
        duration=args.duration,
        warmup=args.warmup,
        cycles=args.calls,
        tasks=args.tasks,
        k=args.k,
        seed=args.seed,
        venv=args.venv,
        postgres=args.postgres,
        database=args.database,
        processes=args.processes,
        threads=args.threads,
        keep_database=args.keep_database,
        data_dir=args.data_dir,
    )
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join([os.path.relpath(sys.executable, ROOT), *sys.argv]),
        "label_studio": VERSION,
        "cores": os.cpu_count(),
        "options": {k: v for k, v in vars(args).items() if k != "out"},
        "levels": [
            {
                **level,
                "summary": level["summary"].as_dict(),
                "checks": {**jsonable(level["checks"]), "passed": level["checks"].passed},
            }
            for level in levels
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(jsonable(result), indent=2) + "\n")
    print(markdown_table(levels))
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0 if all(level["checks"].passed for level in levels) else 1


if __name__ == "__main__":
    sys.exit(main())
