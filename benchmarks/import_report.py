"""The import benchmark's results as Markdown (for people) and JSON (for tools)."""

from benchmarks.jsonable import jsonable
from benchmarks.machine import machine_markdown

TARGET_S = 60.0  # wall time of the first 100k-row import


def _runs_table(runs, jobs, cpu, rows: int) -> list[str]:
    lines = [
        "| run | wall s | rows/s | service s | peak RSS MB | importer CPU s | PostgreSQL CPU s "
        "| other processes CPU s | new items | already there |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = ("first import", "same file again")
    for name, run, job, used in zip(names, runs, jobs, cpu, strict=False):
        lines.append(
            f"| {name} | {run.seconds:.1f} | {rows / run.seconds:,.0f} | {job['service_s']:.1f} "
            f"| {run.peak_rss_mb:.0f} | {run.cpu_s:.1f} | {used['postgres_s']:.1f} "
            f"| {used['others_s']:.1f} | {job['created_items']:,} | {job['existing_items']:,} |"
        )
    return lines


def _checks(config, counts, jobs) -> list[str]:
    rows, k = config.rows, config.k
    first, again = counts
    checks = [
        (f"items after the first import == {rows:,}", first["items"] == rows, first["items"]),
        (f"item responses == {rows * k:,}", first["item_responses"] == rows * k,
         first["item_responses"]),
        (f"items after the re-import still == {rows:,}", again["items"] == rows, again["items"]),
        ("re-import created 0 items", jobs[-1]["created_items"] == 0, jobs[-1]["created_items"]),
        (f"re-import found {rows:,} already present", jobs[-1]["existing_items"] == rows,
         jobs[-1]["existing_items"]),
    ]  # fmt: skip
    lines = ["| check | result | value |", "|---|---|---:|"]
    for name, ok, value in checks:
        lines.append(f"| {name} | {'pass' if ok else '**FAIL**'} | {value:,} |")
    return lines


def _target_lines(first) -> list[str]:
    met = first.seconds < TARGET_S
    verdict = "met" if met else (
        f"**missed** by {first.seconds - TARGET_S:.1f} s ({first.seconds / TARGET_S:.1f}x)"
    )  # fmt: skip
    return [f"- first import wall time < {TARGET_S:.0f} s: {first.seconds:.1f} s, {verdict}"]


def _breakdown(parse_pass_s: float, first, job: dict, baseline) -> list[str]:
    inserts = job["service_s"] - 2 * parse_pass_s
    return [
        f"- Django start-up alone (`manage.py check`): {baseline.seconds:.1f} s, "
        f"peak RSS {baseline.peak_rss_mb:.0f} MB",
        f"- one parse + validate pass over the file, alone: {parse_pass_s:.1f} s; the import "
        f"makes two (validate, then insert), about {2 * parse_pass_s:.1f} s",
        f"- the service's own time (job started -> finished): {job['service_s']:.1f} s, so "
        f"about {inserts:.1f} s went to the inserts (bulk_create in one transaction), and "
        f"{first.seconds - job['service_s']:.1f} s to start-up and copying the file to storage",
    ]


def report_markdown(
    *, date, command, config, machine, generated, baseline, runs, counts, cpu, jobs, parse_pass_s
) -> str:
    first = runs[0]
    lines = [
        f"# Import benchmark: {config.rows:,} rows",
        "",
        f"Date: {date}",
        "",
        "```",
        command,
        "```",
        "",
        *machine_markdown(machine),
        "## Setup",
        "",
        f"- a generated JSONL file: {config.rows:,} rows, K={config.k} responses of 300-800 "
        f"characters each with a model name, {config.multi_turn_share:.0%} conversational "
        f"prompts (of those {config.hh_share:.0%} as HH-RLHF transcripts), explicit ids; "
        f"{generated['bytes'] / 1048576:.0f} MiB, written in {generated['seconds']:.1f} s",
        "- imported with `manage.py import_items` in a child process (DEBUG=0, progress to "
        f"Redis at {config.redis_url}): Django start-up, copying the file into storage, the "
        "validation pass, then the insert pass in one transaction",
        "- wall s: the whole child process; service s: the job's started_at -> finished_at; "
        "peak RSS: the child's own ru_maxrss (from wait4); PostgreSQL CPU: every `postgres` "
        "process on the machine; other processes: whatever else ran meanwhile (shared machine)",
        "",
        "## Results",
        "",
        *_runs_table(runs, jobs, cpu, config.rows),
        "",
        "## Target",
        "",
        *_target_lines(first),
        "",
        "## Where the time goes (first import)",
        "",
        *_breakdown(parse_pass_s, first, jobs[0], baseline),
        "",
        "## Checks",
        "",
        *_checks(config, counts, jobs),
        "",
        f"Database size after both imports: {counts[-1]['database_mb']:,} MiB.",
        "",
    ]
    return "\n".join(lines)


def report_json(**results) -> dict:
    first = results["runs"][0]
    plain = jsonable(results)
    for run in plain["runs"]:
        run["output"] = run["output"][-2000:]
    plain["baseline"]["output"] = plain["baseline"]["output"][-500:]
    plain["target"] = {"wall_s_below": TARGET_S, "met": first.seconds < TARGET_S}
    return plain
