"""The annotation-loop results as Markdown (for people) and JSON (for tools)."""

import dataclasses
import math

from benchmarks.jsonable import jsonable
from benchmarks.machine import machine_markdown
from benchmarks.stats import percentile

TARGET_LEVEL = 32  # annotators at which the targets are judged
P95_TARGET_MS = 50.0
THROUGHPUT_SHARE = 0.25  # of pgbench simple-update TPS


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}"


def _level(levels: list[dict], n: int) -> dict | None:
    return next((level for level in levels if level["summary"].annotators == n), None)


def _latency_target(level: dict | None, call: str) -> dict:
    p95 = getattr(level["summary"], call).p95_ms if level else float("nan")
    met = None if math.isnan(p95) else p95 < P95_TARGET_MS
    note = ""
    if met is False:
        note = f"missed by {p95 - P95_TARGET_MS:.1f} ms ({p95 / P95_TARGET_MS:.1f}x the target)"
    return {
        "name": f"{call} p95 at {TARGET_LEVEL} annotators",
        "target": f"< {P95_TARGET_MS:.0f} ms",
        "measured": f"{_ms(p95)} ms" if level else "n/a",
        "met": met,
        "note": note,
    }


def _throughput_target(level: dict | None, pgbench) -> dict:
    rate = level["summary"].annotations_per_s if level else float("nan")
    tps = pgbench.tps if pgbench else float("nan")
    ratio = rate / tps if tps and not math.isnan(tps) else float("nan")
    met = None if math.isnan(ratio) else ratio >= THROUGHPUT_SHARE
    note = ""
    if met is False:
        wanted = THROUGHPUT_SHARE * tps
        note = f"needs {wanted:.0f}/s, {wanted / rate:.1f}x more" if rate else "no annotations"
    measured = "n/a" if math.isnan(ratio) else f"{rate:.1f}/s / {tps:.0f} TPS = {ratio:.3f}"
    return {
        "name": f"annotations/s at {TARGET_LEVEL} annotators / pgbench TPS",
        "target": f">= {THROUGHPUT_SHARE:.2f}",
        "measured": measured,
        "met": met,
        "note": note,
    }


def targets(levels: list[dict], pgbench) -> list[dict]:
    """Each target with what was measured and whether it is met (None: not measured)."""
    level = _level(levels, TARGET_LEVEL)
    return [
        _latency_target(level, "claim"),
        _latency_target(level, "submit"),
        _throughput_target(level, pgbench),
    ]


def _results_table(levels: list[dict]) -> list[str]:
    lines = [
        "| annotators | annotations/s | claim p50 / p95 / p99 ms | submit p50 / p95 / p99 ms "
        "| errors | 204s | reconnects | annotations per annotator, min - max |",
        "|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for level in levels:
        s = level["summary"]
        claim = " / ".join(_ms(v) for v in (s.claim.p50_ms, s.claim.p95_ms, s.claim.p99_ms))
        submit = " / ".join(_ms(v) for v in (s.submit.p50_ms, s.submit.p95_ms, s.submit.p99_ms))
        lines.append(
            f"| {s.annotators} | {s.annotations_per_s:.1f} | {claim} | {submit} | {s.errors} "
            f"| {s.no_content} | {s.reconnects} | {s.per_annotator_min} - {s.per_annotator_max} |"
        )
    return lines


def _cpu_table(levels: list[dict]) -> list[str]:
    lines = [
        "| annotators | gunicorn cores | PostgreSQL cores | load generator cores | other processes "
        "| machine busy "
        "| gunicorn CPU ms / annotation | PostgreSQL CPU ms / annotation |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in levels:
        cpu, done = level["cpu"], max(level["summary"].submits_total, 1)
        wall = cpu["machine_capacity_s"] / cpu["cores"]
        busy = cpu["machine_busy_s"] / cpu["machine_capacity_s"]
        lines.append(
            f"| {level['summary'].annotators} | {cpu['gunicorn_s'] / wall:.2f} "
            f"| {cpu['postgres_s'] / wall:.2f} | {cpu['load_generator_s'] / wall:.2f} "
            f"| {cpu['others_s'] / wall:.2f} | {busy:.0%} of {cpu['cores']} cores "
            f"| {1000 * cpu['gunicorn_s'] / done:.1f} "
            f"| {1000 * cpu['postgres_s'] / done:.1f} |"
        )
    return lines


def _checks_table(levels: list[dict]) -> list[str]:
    lines = [
        "| annotators | items over overlap | duplicate (item, user) | annotations in DB "
        "| 201 submits seen | slot counters off | open slots left | verdict |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for level in levels:
        c = level["checks"]
        lines.append(
            f"| {level['summary'].annotators} | {c.overfilled_items} | {c.duplicate_assignments} "
            f"| {c.annotations} | {c.successful_submits} | {c.counters_off} "
            f"| {c.open_slots_left} | {'pass' if c.passed else '**FAIL**'} |"
        )
    return lines


def _targets_lines(rows: list[dict]) -> list[str]:
    lines = ["| target | wanted | measured | met? | by how much |", "|---|---|---|---|---|"]
    for row in rows:
        met = {True: "yes", False: "**no**", None: "not measured"}[row["met"]]
        lines.append(
            f"| {row['name']} | {row['target']} | {row['measured']} | {met} | {row['note']} |"
        )
    return lines


def _setup_lines(config, levels: list[dict]) -> list[str]:
    if config.calls:
        length = f"{config.calls} claim+submit cycles per annotator"
    else:
        length = f"{config.warmup:g} s warm-up (not measured) + {config.duration:g} s measured"
    seed_s = ", ".join(f"{lv['seed_s']:.1f} s" for lv in levels)
    return [
        "## Setup",
        "",
        f"- gunicorn: {config.gunicorn_workers} workers x {config.threads} threads "
        f"({config.worker_class}), DEBUG=0, DATABASE_CONN_MAX_AGE=60, REDIS_URL={config.redis_url}",
        f"- per level: a fresh project (rank mode, K={config.k}, overlap {config.overlap}) with "
        f"{config.items} items, then ANALYZE (seeding took {seed_s}); {length}",
        "- one thread per annotator, each with its own keep-alive `http.client` connection, "
        "looping claim -> submit with no think time; the load generator runs on the same "
        "machine as gunicorn and PostgreSQL",
        "- latency: from sending the request to reading the whole body, calls started in "
        "the measured window; errors, 204s and reconnects count the whole level",
        "- any answer other than 2xx is an error; 204 (nothing left) is counted apart",
        "",
    ]


def floor_summary(floor) -> dict | None:
    if floor is None:
        return None
    return {
        "connections": floor.connections,
        "seconds": floor.seconds,
        "requests": floor.requests,
        "requests_per_s": floor.per_second,
        "errors": floor.errors,
        "p50_ms": percentile(floor.latencies_ms, 50),
        "p95_ms": percentile(floor.latencies_ms, 95),
        "p99_ms": percentile(floor.latencies_ms, 99),
    }


def _floor_lines(floor) -> list[str]:
    f = floor_summary(floor)
    if f is None:
        return ["Skipped (--floor-seconds 0).", ""]
    return [
        f"GET /healthz (no authentication, one `SELECT 1`) from {f['connections']} keep-alive "
        f"connections for {f['seconds']:.0f} s, on the same gunicorn: **{f['requests_per_s']:.0f} "
        f"requests/s**, p50 / p95 / p99 {f['p50_ms']:.1f} / {f['p95_ms']:.1f} / "
        f"{f['p99_ms']:.1f} ms, {f['errors']} errors. An annotation takes two requests that "
        f"each do far more, so no configuration of this stack on this machine gets past "
        f"{f['requests_per_s'] / 2:.0f} annotations/s.",
        "",
    ]


def report_markdown(*, levels, date, command, config, machine, pgbench, floor) -> str:
    lines = [
        "# Annotation loop benchmark",
        "",
        f"Date: {date}",
        "",
        "```",
        command,
        "```",
        "",
        *machine_markdown(machine),
        f"PostgreSQL max_connections = {machine['max_connections']}.",
        "",
        *_setup_lines(config, levels),
        "## Results",
        "",
        *_results_table(levels),
        "",
        "## Targets",
        "",
        *_targets_lines(targets(levels, pgbench)),
        "",
        "## Yardstick: pgbench",
        "",
    ]
    if pgbench:
        lines += [
            f"`{pgbench.command}` (after `pgbench -i -s {config.pgbench_scale}`): "
            f"**{pgbench.tps:.0f} TPS**, average latency {pgbench.latency_ms:.2f} ms.",
            "",
        ]
    else:
        lines += ["Skipped (--skip-pgbench).", ""]
    lines += ["## Ceiling of the HTTP stack", "", *_floor_lines(floor)]
    lines += [
        "## Where the CPU went",
        "",
        *_cpu_table(levels),
        "",
        "PostgreSQL counts every `postgres` process on the machine, other sessions included.",
        "",
        "## Correctness after each level",
        "",
        *_checks_table(levels),
        "",
    ]
    samples = [
        f"- {level['summary'].annotators} annotators: `{sample}`"
        for level in levels
        for sample in level["summary"].error_samples
    ]
    if samples:
        lines += ["## Error samples", "", *samples, ""]
    return "\n".join(lines)


def report_json(*, levels, date, command, config, machine, pgbench, floor) -> dict:
    return jsonable(
        {
            "date": date,
            "command": command,
            "config": config,
            "machine": machine,
            "pgbench": pgbench,
            "floor": floor_summary(floor),
            "levels": [
                {
                    **level,
                    "summary": level["summary"].as_dict(),
                    "checks": {
                        **dataclasses.asdict(level["checks"]),
                        "passed": level["checks"].passed,
                    },
                }
                for level in levels
            ],
            "targets": targets(levels, pgbench),
        }
    )
