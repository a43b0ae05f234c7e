"""The annotation-loop results as Markdown (for people) and JSON (for tools)."""

import dataclasses
import math

from benchmarks.jsonable import jsonable
from benchmarks.machine import machine_markdown
from benchmarks.stats import percentile

MODES = {
    "next": 'One request per annotation (submit with `"next": true`)',
    "pair": "Two requests per annotation (claim, then submit)",
}

TARGET_LEVEL = 32  # annotators at which throughput and CPU are judged
# Issue 22: claim and submit p95 under these at each level (two-request mode).
P95_TARGETS_MS = {8: 50.0, 32: 150.0}
LABEL_STUDIO_RATIO = 20.0  # PrefLab's annotations/s over Label Studio's at TARGET_LEVEL
CPU_MS_TARGET = 10.0  # gunicorn CPU per annotation at TARGET_LEVEL (one-request mode)


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}"


def _level(levels: list[dict] | None, n: int) -> dict | None:
    return next((level for level in levels or [] if level["summary"].annotators == n), None)


def _row(name: str, target: str, measured: str, met: bool | None, note: str = "") -> dict:
    return {"name": name, "target": target, "measured": measured, "met": met, "note": note}


def _latency_target(level: dict | None, call: str, n: int, limit: float, label: str) -> dict:
    p95 = getattr(level["summary"], call).p95_ms if level else float("nan")
    met = None if math.isnan(p95) else p95 < limit
    note = f"{p95 / limit:.1f}x the target" if met is False else f"{limit / p95:.1f}x under"
    return _row(
        f"{label} p95 at {n} annotators",
        f"< {limit:.0f} ms",
        f"{_ms(p95)} ms",
        met,
        note if met is not None else "",
    )


def _ratio_target(ours: dict | None, theirs: dict | None) -> dict:
    if not ours or not theirs or not theirs["summary"].annotations_per_s:
        return _row(
            f"annotations/s at {TARGET_LEVEL} annotators vs Label Studio",
            f">= {LABEL_STUDIO_RATIO:.0f}x",
            "n/a",
            None,
        )
    rate, ls_rate = ours["summary"].annotations_per_s, theirs["summary"].annotations_per_s
    ratio = rate / ls_rate
    return _row(
        f"annotations/s at {TARGET_LEVEL} annotators vs Label Studio",
        f">= {LABEL_STUDIO_RATIO:.0f}x",
        f"{rate:.1f}/s vs {ls_rate:.1f}/s = {ratio:.1f}x",
        ratio >= LABEL_STUDIO_RATIO,
    )


def cpu_ms_per_annotation(level: dict) -> float:
    return 1000 * level["cpu"]["gunicorn_s"] / max(level["summary"].submits_total, 1)


def _cpu_target(level: dict | None) -> dict:
    if level is None:
        return _row("gunicorn CPU per annotation", f"<= {CPU_MS_TARGET:.0f} ms", "n/a", None)
    ms = cpu_ms_per_annotation(level)
    return _row(
        f"gunicorn CPU per annotation at {TARGET_LEVEL} annotators (one request each)",
        f"<= {CPU_MS_TARGET:.0f} ms",
        f"{ms:.1f} ms",
        ms <= CPU_MS_TARGET,
    )


def targets(by_mode: dict[str, list[dict]], ls_levels: list[dict] | None) -> list[dict]:
    """Each target with what was measured and whether it is met (None: not measured)."""
    rows = []
    for n, limit in P95_TARGETS_MS.items():
        pair = _level(by_mode.get("pair"), n)
        rows += [
            _latency_target(pair, "claim", n, limit, "claim"),
            _latency_target(pair, "submit", n, limit, "submit"),
            _latency_target(_level(by_mode.get("next"), n), "submit", n, limit, "submit+next"),
        ]
    best = max(
        (level for levels in by_mode.values() if (level := _level(levels, TARGET_LEVEL))),
        key=lambda level: level["summary"].annotations_per_s,
        default=None,
    )
    rows.append(_ratio_target(best, _level(ls_levels, TARGET_LEVEL)))
    rows.append(_cpu_target(_level(by_mode.get("next"), TARGET_LEVEL)))
    return rows


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
        "looping with no think time (claim -> submit, or submit-and-next); the load generator "
        "runs on the same "
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
        f"{f['p99_ms']:.1f} ms, {f['errors']} errors. An annotation takes one request that "
        f"does far more, so no configuration of this stack on this machine gets past "
        f"{f['requests_per_s']:.0f} annotations/s.",
        "",
    ]


def _ls_lines(ls_levels: list[dict] | None) -> list[str]:
    if not ls_levels:
        return ["Not measured in this run (--no-label-studio, or its venv is missing).", ""]
    lines = [
        "| annotators | annotations/s | next p50 / p95 / p99 ms | annotation POST p50 / p95 "
        "/ p99 ms | errors | uWSGI CPU ms / annotation | PostgreSQL CPU ms / annotation "
        "| checks |",
        "|---:|---:|---|---|---:|---:|---:|---|",
    ]
    for level in ls_levels:
        s = level["summary"]
        claim = " / ".join(_ms(v) for v in (s.claim.p50_ms, s.claim.p95_ms, s.claim.p99_ms))
        submit = " / ".join(_ms(v) for v in (s.submit.p50_ms, s.submit.p95_ms, s.submit.p99_ms))
        lines.append(
            f"| {s.annotators} | {s.annotations_per_s:.1f} | {claim} | {submit} | {s.errors} "
            f"| {level['uwsgi_cpu_ms_per_annotation']:.1f} "
            f"| {level['postgres_cpu_ms_per_annotation']:.1f} "
            f"| {'pass' if level['checks'].passed else '**FAIL**'} |"
        )
    return [
        *lines,
        "",
        "Label Studio 1.23.2 in its own virtual environment, under upstream's uWSGI ini "
        "(benchmarks/label_studio.py), on the same PostgreSQL, right after PrefLab's levels: "
        "`GET /api/projects/{id}/next`, then `POST /api/tasks/{id}/annotations/`. Its "
        "community edition serves each task to one annotator (overlap 1); PrefLab's levels "
        "run overlap 3, which costs more per annotation.",
        "",
    ]


def report_markdown(*, by_mode, ls_levels, date, command, config, machine, pgbench, floor) -> str:
    levels = [level for mode_levels in by_mode.values() for level in mode_levels]
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
    ]
    for mode, mode_levels in by_mode.items():
        lines += [f"## {MODES[mode]}", "", *_results_table(mode_levels), ""]
    lines += [
        "## Label Studio 1.23.2, same sitting",
        "",
        *_ls_lines(ls_levels),
        "## Targets",
        "",
        *_targets_lines(targets(by_mode, ls_levels)),
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
    lines += ["## Where the CPU went", ""]
    for mode, mode_levels in by_mode.items():
        lines += [f"{MODES[mode]}:", "", *_cpu_table(mode_levels), ""]
    lines += [
        "PostgreSQL counts every `postgres` process on the machine, other sessions included.",
        "",
        "## Correctness after each level",
        "",
    ]
    for mode, mode_levels in by_mode.items():
        lines += [f"{MODES[mode]}:", "", *_checks_table(mode_levels), ""]
    samples = [
        f"- {level['summary'].annotators} annotators: `{sample}`"
        for level in levels
        for sample in level["summary"].error_samples
    ]
    if samples:
        lines += ["## Error samples", "", *samples, ""]
    return "\n".join(lines)


def _level_json(level: dict) -> dict:
    return {
        **level,
        "summary": level["summary"].as_dict(),
        "checks": {**dataclasses.asdict(level["checks"]), "passed": level["checks"].passed},
    }


def report_json(*, by_mode, ls_levels, date, command, config, machine, pgbench, floor) -> dict:
    return jsonable(
        {
            "date": date,
            "command": command,
            "config": config,
            "machine": machine,
            "pgbench": pgbench,
            "floor": floor_summary(floor),
            "levels": {
                mode: [_level_json(lv) for lv in levels] for mode, levels in by_mode.items()
            },
            "label_studio_levels": [_level_json(lv) for lv in ls_levels or []],
            "targets": targets(by_mode, ls_levels),
        }
    )
