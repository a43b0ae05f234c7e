"""Per-level figures of the think-time ramp, and its Markdown and JSON reports."""

import math
from dataclasses import asdict, dataclass

from benchmarks.jsonable import jsonable
from benchmarks.machine import machine_markdown
from benchmarks.stats import percentile
from benchmarks.think_load import Call, Level, Recorder


@dataclass(frozen=True)
class Latency:
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


def _latency(calls: list[Call]) -> Latency:
    ms = sorted(c.seconds * 1000 for c in calls)
    return Latency(
        len(ms),
        percentile(ms, 50),
        percentile(ms, 95),
        percentile(ms, 99),
        ms[-1] if ms else float("nan"),
    )


@dataclass(frozen=True)
class LevelStats:
    annotators: int
    window_s: float
    requests_per_s: float  # every request started in the window
    annotations_per_s: float  # 201 submits answered in the window
    submit: Latency  # submit(+next), started in the window: the loop's one request
    claim: Latency  # claims started in the window (new arrivals and fallbacks only)
    errors: int  # non-2xx or no answer, from the level's ramp-in to the window's end
    reconnects: int  # calls in the window that had to open a new connection
    cpu: dict  # CPU seconds per party over the window (benchmarks/cpu.py, plus our DB)
    load_average: str  # at the window's end

    def cores(self, key: str) -> float:
        """Average cores a party kept busy over the window."""
        return self.cpu[key] / self.window_s


def level_stats(rec: Recorder, level: Level) -> LevelStats:
    begin, end = level.window
    inside = [c for c in rec.calls if begin <= c.start < end]
    level_calls = [c for c in rec.calls if level.ramp_start <= c.start < end]
    answered = sum(
        1
        for c in rec.calls
        if c.kind == "submit" and c.status == 201 and begin <= c.start + c.seconds < end
    )
    return LevelStats(
        annotators=level.annotators,
        window_s=end - begin,
        requests_per_s=len(inside) / (end - begin),
        annotations_per_s=answered / (end - begin),
        submit=_latency([c for c in inside if c.kind == "submit"]),
        claim=_latency([c for c in inside if c.kind == "claim"]),
        errors=sum(1 for c in level_calls if not 200 <= c.status < 300),
        reconnects=sum(1 for c in inside if c.reconnected),
        cpu=level.measured["cpu"],
        load_average=level.measured["load_average"],
    )


def served(levels: list[LevelStats], p95_limit_ms: float) -> LevelStats | None:
    """The last level, in order, before the first one over the limit or with errors."""
    last = None
    for level in levels:
        if level.errors or not level.submit.p95_ms <= p95_limit_ms:
            break
        last = level
    return last


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _results_table(levels: list[LevelStats], limit_ms: float) -> list[str]:
    lines = [
        "| annotators | requests/s | annotations/s | submit(+next) p50 / p95 / p99 / max ms "
        "| claims in window (p95 ms) | errors | reconnects | load avg at end |",
        "|---:|---:|---:|---|---|---:|---:|---|",
    ]
    for s in levels:
        sub = s.submit
        p95 = _ms(sub.p95_ms)
        p95 = f"**{p95}**" if not sub.p95_ms <= limit_ms else p95
        claims = f"{s.claim.count} ({_ms(s.claim.p95_ms)})" if s.claim.count else "0"
        lines.append(
            f"| {s.annotators} | {s.requests_per_s:.1f} | {s.annotations_per_s:.1f} "
            f"| {_ms(sub.p50_ms)} / {p95} / {_ms(sub.p99_ms)} / {_ms(sub.max_ms)} | {claims} "
            f"| {s.errors} | {s.reconnects} | {s.load_average} |"
        )
    return lines


def _cpu_table(levels: list[LevelStats]) -> list[str]:
    lines = [
        "| annotators | gunicorn cores | PostgreSQL cores (our database's backends / all) "
        "| load generator cores | other processes cores | machine busy "
        "| gunicorn + our PostgreSQL CPU ms / annotation |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in levels:
        cpu = s.cpu
        per = (
            1000
            * (cpu["gunicorn_s"] + cpu["postgres_ours_s"])
            / max(s.annotations_per_s * s.window_s, 1)
        )
        lines.append(
            f"| {s.annotators} | {s.cores('gunicorn_s'):.2f} "
            f"| {s.cores('postgres_ours_s'):.2f} / {s.cores('postgres_s'):.2f} "
            f"| {s.cores('load_generator_s'):.3f} | {s.cores('others_s'):.2f} "
            f"| {cpu['machine_busy_s'] / cpu['machine_capacity_s']:.0%} of {cpu['cores']} "
            f"| {per:.1f} |"
        )
    return lines


def report_markdown(*, levels: list[LevelStats], run: dict) -> str:
    config, rec = run["config"], run["recorder"]
    best = served(levels, config.p95_limit_ms)
    mean_think = (config.think_min + config.think_max) / 2
    if best is None:
        verdict = f"no level stayed under p95 {config.p95_limit_ms:g} ms without errors"
    else:
        cycle_s = mean_think + best.submit.p50_ms / 1000
        verdict = (
            f"**{best.annotators} annotators** (submit p95 {_ms(best.submit.p95_ms)} ms, "
            f"{best.annotations_per_s:.1f} annotations/s, 0 errors; "
            f"{best.annotations_per_s:.1f}/s x {cycle_s:.2f} s mean cycle = "
            f"{best.annotations_per_s * cycle_s:.0f})"
        )
    stop = levels[-1]
    why = f"{stop.errors} errors" if stop.errors else f"submit p95 {_ms(stop.submit.p95_ms)} ms"
    stopped = (
        f"the ramp stopped at {stop.annotators} annotators ({why})"
        if best is not stop
        else f"the ramp ended at its last planned level, {stop.annotators}, still under the limit"
    )
    lines = [
        "# Annotators with think time: how many one 2-core machine serves",
        "",
        f"Date: {run['date']}",
        "",
        "```",
        run["command"],
        "```",
        "",
        f"Annotators one machine serves, at p95 <= {config.p95_limit_ms:g} ms and no errors: "
        f"{verdict}; {stopped}.",
        "",
        *_ceiling_lines(best, mean_think, config.p95_limit_ms),
        "How to read this: think time is what makes one machine serve N annotators. Each "
        f"one sends a request every {config.think_min:g}-{config.think_max:g} s (mean "
        f"{mean_think:g} s), so N ~= capacity (annotations/s) x mean cycle time (think + "
        "latency): the server works on a few requests at a time while the rest think.",
        "",
        *machine_markdown(run["machine"]),
        "Uncommitted changes in the tree gunicorn ran (other engineers' work in progress): "
        + (", ".join(f"`{f}`" for f in run["uncommitted"]) or "none")
        + ".",
        "",
        *_setup_lines(run),
        "## Results",
        "",
        *_results_table(levels, config.p95_limit_ms),
        "",
        "## Where the CPU went",
        "",
        "Average cores busy over each measured window (the machine has "
        f"{levels[0].cpu['cores']}). PostgreSQL: the backends serving our database, then "
        "every postgres process (other people's databases and the shared background "
        "writers included). The last column is the server's cost of one annotation.",
        "",
        *_cpu_table(levels),
        "",
        *_end_lines(run, rec),
    ]
    return "\n".join(lines) + "\n"


def _ceiling_lines(best: LevelStats | None, mean_think: float, limit_ms: float) -> list[str]:
    """What the served level's CPU cost per annotation allows on a machine of our own."""
    if best is None or not best.annotations_per_s:
        return []
    done = best.annotations_per_s * best.window_s
    cores = best.cpu["cores"]
    # Our backends alone miss PostgreSQL's WAL writer, checkpointer and autovacuum; every
    # postgres process counts other people's databases too. The truth lies between.
    low_ms = 1000 * (best.cpu["gunicorn_s"] + best.cpu["postgres_ours_s"]) / done
    high_ms = 1000 * (best.cpu["gunicorn_s"] + best.cpu["postgres_s"]) / done
    low_n, high_n = (1000 * cores / ms * mean_think for ms in (high_ms, low_ms))
    return [
        f"CPU ceiling, an estimate, not a measurement: at {best.annotators} annotators one "
        f"annotation cost {low_ms:.1f} ms of CPU in gunicorn and our database's backends, "
        f"{high_ms:.1f} ms counting every postgres process; {cores} cores with nothing else "
        f"on them would run out at about {low_n:.0f}-{high_n:.0f} annotators at "
        f"{mean_think:g} s per item. The p95 passes {limit_ms:g} ms well before that "
        "(requests queue behind each other long before the CPU is 100% busy).",
        "",
    ]


def _setup_lines(run: dict) -> list[str]:
    config = run["config"]
    gunicorn = run["gunicorn"]
    return [
        "## Setup",
        "",
        f"- gunicorn as the Dockerfile runs it: {config.gunicorn_workers} workers x "
        f"{config.threads} threads ({config.worker_class}), DEBUG=0, "
        f"DATABASE_CONN_MAX_AGE=60; plus `{gunicorn['extra_args']}` (through "
        "`GUNICORN_CMD_ARGS`). " + gunicorn["why"],
        f"- open files: soft limit raised to {run['nofile']} for the load generator and "
        "gunicorn (each annotator is one socket at each end)",
        f"- one project, rank mode, K={config.k}, overlap {config.overlap}, "
        f"{run['items']} items ({run['seed_s']:.0f} s to seed, then ANALYZE), "
        f"{run['members']} annotator members with API tokens; levels share it: the ramp "
        "adds annotators, earlier ones keep working",
        f"- each annotator: one keep-alive HTTP/1.1 connection (asyncio streams, one "
        "process for all), `Authorization: Token`; claim once, then think "
        f"uniform({config.think_min:g}, {config.think_max:g}) s -> `POST "
        "/api/v1/assignments/<id>/submit/` with the ranking, a `client_token` and "
        '`"next": true`, whose 201 carries the next item: one request per annotation. '
        + run["next_note"],
        f"- each level: its new annotators arrive evenly over {config.ramp_in:g} s "
        f"(ramp-in, not measured), then {config.duration:g} s measured; stop when submit "
        f"p95 > {config.p95_limit_ms:g} ms or any error",
        "- latency: from sending the request (opening a connection first when the server "
        "had closed it) to reading the whole body; requests/s and latency count requests "
        "started in the window, annotations/s the 201s answered in it; errors count "
        "from the level's ramp-in on",
        "- the load generator, gunicorn and PostgreSQL share the machine; so does other "
        "people's work (the load averages and the 'other processes' column)",
        "",
    ]


def _end_lines(run: dict, rec: Recorder) -> list[str]:
    checks = run["checks"]
    lines = [
        "## Checks and odd things",
        "",
        f"- database after the run: {checks.overfilled_items} items over their overlap, "
        f"{checks.duplicate_assignments} duplicate (item, annotator) leases, "
        f"{checks.counters_off} items whose slot counters disagree with their assignments; "
        f"{checks.annotations} annotations stored, {checks.successful_submits} 201 submits "
        f"seen and {rec.submits_cut} submits cut off in flight when the run ended "
        f"({'consistent' if run['checks_pass'] else '**inconsistent**'})",
        f"- {rec.started} annotators started; {rec.ran_dry} ran out of items "
        "(204 or `next: null`); "
        f"{rec.next_missing} submit answers had no `next` key (a claim request followed); "
        f"{rec.next_refused} carried `next_refused`",
    ]
    if rec.error_samples:
        lines += ["- first errors:", "", "```", *rec.error_samples, "```"]
    return [*lines, ""]


def report_json(*, levels: list[LevelStats], run: dict) -> dict:
    config, rec = run["config"], run["recorder"]
    best = served(levels, config.p95_limit_ms)
    return jsonable(
        {
            "date": run["date"],
            "command": run["command"],
            "config": config,
            "machine": run["machine"],
            "gunicorn": run["gunicorn"],
            "items": run["items"],
            "uncommitted": run["uncommitted"],
            "served_annotators": best.annotators if best else None,
            "levels": [asdict(level) for level in levels],
            "checks": {**asdict(run["checks"]), "consistent": run["checks_pass"]},
            "recorder": {
                "started": rec.started,
                "ran_dry": rec.ran_dry,
                "next_missing": rec.next_missing,
                "next_refused": rec.next_refused,
                "submits_cut": rec.submits_cut,
                "error_samples": rec.error_samples,
            },
        }
    )
