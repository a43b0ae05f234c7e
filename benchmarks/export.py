"""Dataset snapshot export at 100k and 1M annotations, against a COPY floor.

Seeds rank-mode projects (K=4, overlap 1: one annotation per item, about 5% of them
with a tie) by COPY, then for each size:

1. the floor: ``COPY (SELECT …) TO STDOUT`` of the same joined rows the pairwise
   export writes (one row per chosen/rejected pair: prompt, both texts, margin, ids,
   models, annotator, guideline version, time spent, shown order, created at), read
   to the end by this process;
2. the export as the Celery task runs it (``snapshot_export``), through
   ``manage.py export_snapshot`` in a child process so its peak RSS is its own: pairwise
   JSONL alone, then pairwise Parquet alone;
3. a floor run before, between and after the exports: each export's ratio uses the mean of
   the two floor runs around it (the exports' files are deleted once checked, so their
   write-back does not slow what is timed next).

Checks: each export wrote exactly as many pairs as the floor returned; every file's
sha256 in the manifest matches the file. Run ``--help`` for the options.
"""

import argparse
import dataclasses
import hashlib
import json
import os
import random
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make `benchmarks` and the apps importable

from benchmarks.app import app_env, django_boot, manage  # noqa: E402
from benchmarks.machine import machine_facts, machine_markdown  # noqa: E402
from benchmarks.pg import PgServer, database_drop, database_recreate, server_version  # noqa: E402
from benchmarks.texts import TextMaker  # noqa: E402

K = 4
ANNOTATORS = 50
TIE_SHARE = 0.05
RATIO_TARGET = 3.0
RSS_TARGET_MB = 500.0


def _opt(default, help_text: str):
    return dataclasses.field(default=default, metadata={"help": help_text})


@dataclass
class ExportConfig:
    sizes: str = _opt("100000,1000000", "annotations per project, comma-separated")
    seed: int = _opt(7, "seed of the texts and rankings")
    database_url: str = _opt(
        os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432"),
        "PostgreSQL server (no database name)",
    )
    database: str = _opt("preflab_bench_export", "the throwaway database")
    redis_url: str = _opt("redis://127.0.0.1:6379/15", "Redis for progress and cancel keys")
    keep: bool = _opt(False, "keep the database afterwards (and reuse it if seeded)")
    out: str = _opt(str(ROOT / "benchmarks" / "results"), "where the report goes")

    @property
    def size_list(self) -> list[int]:
        return [int(s) for s in self.sizes.split(",") if s.strip()]


def parse_args(argv=None) -> ExportConfig:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for f in dataclasses.fields(ExportConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in (bool, "bool"):
            parser.add_argument(flag, action="store_true", help=f.metadata["help"])
        else:
            parser.add_argument(flag, default=f.default, help=f.metadata["help"])
    ns = parser.parse_args(argv)
    values = vars(ns)
    values["seed"] = int(values["seed"])
    return ExportConfig(**values)


def say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


# --- seeding -------------------------------------------------------------------------------


class ConsensusOfOne:
    """The consensus of a single annotation, computed by the platform's own code once per
    ranking shape (K=4 gives a few dozen) and mapped onto each item's response ids."""

    def __init__(self):
        self.shapes: dict[str, tuple] = {}

    def __call__(self, ranking: list[list[int]], ids: list[int]) -> tuple:
        from annotation.quality.metrics.consensus import consensus

        index = {rid: n for n, rid in enumerate(ids)}
        shape = json.dumps([sorted(index[r] for r in tier) for tier in ranking])
        if shape not in self.shapes:
            fit = consensus([(json.loads(shape), 1.0)])
            self.shapes[shape] = (fit.method, fit.ranking, fit.scores, fit.pair_confidence)
        method, tiers, scores, confidence = self.shapes[shape]
        return (
            method,
            [[ids[n] for n in tier] for tier in tiers],
            {str(ids[n]): s for n, s in scores.items()},
            {f"{ids[a]},{ids[b]}": p for (a, b), p in confidence.items()},
        )


def ranking_draw(ids: list[int], rng: random.Random) -> list[list[int]]:
    """A random order, with two adjacent responses tied in TIE_SHARE of judgements."""
    order = rng.sample(ids, len(ids))
    tiers = [[rid] for rid in order]
    if rng.random() < TIE_SHARE:
        n = rng.randrange(len(tiers) - 1)
        tiers[n : n + 2] = [sorted(tiers[n] + tiers[n + 1])]
    return tiers


def _next_ids(cursor, tables: list[str]) -> dict[str, int]:
    out = {}
    for table in tables:
        cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
        out[table] = cursor.fetchone()[0]
    return out


def _copy(cursor, table: str, columns: str, rows) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def project_fill(project, users: list[int], size: int, config: ExportConfig) -> dict:
    """COPY ``size`` items with K responses, one annotation each and its stats row."""
    from django.db import connection, transaction

    from annotation import dedup

    rng, texts, fit = random.Random(config.seed + size), TextMaker(config.seed + size), None
    fit = ConsensusOfOne()
    guideline_id = project.guidelines.order_by("-version").values_list("pk", flat=True).first()
    now = datetime.now(UTC)
    start = now - timedelta(days=60)
    generation = json.dumps({"generation": {"temperature": 0.8, "top_p": 0.95}})
    tables = [
        "annotation_prompt",
        "annotation_response",
        "annotation_item",
        "annotation_itemresponse",
        "annotation_assignment",
        "annotation_annotation",
    ]
    rows = {t: [] for t in [*tables, "annotation_itemstats"]}
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        first = _next_ids(cursor, tables)
        for n in range(size):
            pid, iid = first["annotation_prompt"] + n, first["annotation_item"] + n
            messages = texts.conversation(multi_turn_share=0.2)
            created = start + timedelta(seconds=n * 5_000_000 / size)
            rows["annotation_prompt"].append(
                (pid, None, json.dumps(messages), "import", "{}", created, None, project.pk, "",
                 dedup.exact_key(messages), False, 0, "ready", "", "{}")
            )  # fmt: skip
            ids = []
            for j, text in enumerate(texts.responses(K, 200, 900)):
                rid = first["annotation_response"] + n * K + j
                ids.append(rid)
                rows["annotation_response"].append(
                    (rid, text, f"model-{j}", generation, created, None, pid, None, False,
                     "import", None, "{}")
                )  # fmt: skip
                rows["annotation_itemresponse"].append(
                    (first["annotation_itemresponse"] + n * K + j, j, iid, rid)
                )
            rows["annotation_item"].append(
                (iid, False, 1, 0, 0, 1, "{}", created, None, project.pk, pid, None, False)
            )
            shown = json.dumps(rng.sample(ids, K))
            user = users[n % len(users)]
            spent = int(rng.lognormvariate(10, 0.4))
            done = created + timedelta(seconds=3600)
            aid = first["annotation_assignment"] + n
            claimed = done - timedelta(milliseconds=spent)
            rows["annotation_assignment"].append(
                (aid, "submitted", claimed, done + timedelta(minutes=30), done, shown, "",
                 project.pk, user, iid)
            )  # fmt: skip
            ranking = ranking_draw(ids, rng)
            rows["annotation_annotation"].append(
                (first["annotation_annotation"] + n, aid, iid, user, project.pk, "rank",
                 "judgement", json.dumps(ranking), "{}", "{}", False, "", spent, guideline_id,
                 shown, 1, False, False, "active", "", "", done)
            )  # fmt: skip
            method, tiers, scores, confidence = fit(ranking, ids)
            rows["annotation_itemstats"].append(
                (iid, 1, 0, 0, None, None, None, json.dumps(tiers), method, json.dumps(scores),
                 json.dumps(confidence), "{}", done, project.pk)
            )  # fmt: skip
            if len(rows["annotation_prompt"]) == 20_000 or n == size - 1:
                for table, columns in COLUMNS.items():
                    _copy(cursor, table, columns, rows[table])
                    rows[table] = []
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    return {"size": size, "seconds": time.perf_counter() - started}


COLUMNS = {
    "annotation_prompt": "id, external_id, messages, source, metadata, created_at, author_id, "
    "project_id, category, dedup_key, mostly_pasted, open_write_slots, status, status_reason, "
    "writing",
    "annotation_response": "id, text, model_name, metadata, created_at, author_id, prompt_id, "
    "annotation_id, mostly_pasted, origin, rewrite_of_id, writing",
    "annotation_item": "id, restricted, round, priority, open_slots, submitted_count, metadata, "
    "created_at, batch_id, project_id, prompt_id, gold_ranking, is_gold",
    "annotation_itemresponse": "id, position, item_id, response_id",
    "annotation_assignment": "id, state, claimed_at, lease_expires_at, finished_at, "
    "display_order, skip_reason, project_id, user_id, item_id",
    "annotation_annotation": "id, assignment_id, item_id, user_id, project_id, mode, kind, "
    "ranking, ratings, rubric_scores, none_acceptable, rationale, time_spent_ms, guideline_id, "
    "display_order, revision, unsure, assisted, status, review_state, review_reason, created_at",
    "annotation_itemstats": "item_id, judgements, pairs_same, pairs_total, agreement, "
    "kendall_w, tau_b_mean, consensus, consensus_method, consensus_scores, pair_confidence, "
    "basis, updated_at, project_id",
}


def slug_of(size: int) -> str:
    return f"bench-export-{size}"


def seed(config: ExportConfig) -> dict:
    from django.contrib.auth import get_user_model

    from benchmarks.seed import annotators_create, project_seed, statistics_refresh
    from projects.models import Project

    usernames = sorted(annotators_create(ANNOTATORS))
    users = list(
        get_user_model()
        .objects.filter(username__in=usernames)
        .order_by("username")
        .values_list("pk", flat=True)
    )
    seeded = {}
    for size in config.size_list:
        if Project.objects.filter(slug=slug_of(size)).exists():
            say(f"{slug_of(size)} already seeded (--keep)")
            continue
        project = project_seed(
            slug=slug_of(size), usernames=usernames, items=0, k=K, overlap=1,
            texts=TextMaker(config.seed),
        )  # fmt: skip
        seeded[size] = project_fill(project, users, size, config)
        say(f"{size:,} annotations seeded in {seeded[size]['seconds']:.0f} s")
    statistics_refresh()  # ANALYZE, as autovacuum would have after a real import
    return seeded


# --- the floor -----------------------------------------------------------------------------

FLOOR_SQL = """
COPY (
  SELECT i.id, i.round, p.messages, rc.text, rr.text, tr.n - tc.n,
         rc.id, rr.id, rc.model_name, rr.model_name, rc.metadata, rr.metadata,
         a.user_id, g.version, a.time_spent_ms, a.display_order, a.created_at
  FROM annotation_annotation a
  JOIN annotation_item i ON i.id = a.item_id
  JOIN annotation_prompt p ON p.id = i.prompt_id
  LEFT JOIN projects_guideline g ON g.id = a.guideline_id
  CROSS JOIN LATERAL jsonb_array_elements(a.ranking) WITH ORDINALITY AS tc(tier, n)
  CROSS JOIN LATERAL jsonb_array_elements(a.ranking) WITH ORDINALITY AS tr(tier, n)
  CROSS JOIN LATERAL jsonb_array_elements_text(tc.tier) AS c(rid)
  CROSS JOIN LATERAL jsonb_array_elements_text(tr.tier) AS r(rid)
  JOIN annotation_response rc ON rc.id = c.rid::bigint
  JOIN annotation_response rr ON rr.id = r.rid::bigint
  WHERE a.project_id = {project} AND a.status = 'active' AND tc.n < tr.n
) TO STDOUT
"""


def floor_measure(server: PgServer, database: str, project_id: int) -> dict:
    """COPY of the pairwise rows, read to the end over a fresh connection."""
    import psycopg

    started = time.perf_counter()
    rows = size = 0
    with psycopg.connect(server.url(database)) as conn, conn.cursor() as cursor:
        with cursor.copy(FLOOR_SQL.format(project=int(project_id))) as copy:
            for block in copy:
                size += len(block)
                rows += bytes(block).count(b"\n")
    return {"seconds": time.perf_counter() - started, "rows": rows, "bytes": size}


# --- the export ------------------------------------------------------------------------------


def export_measure(env: dict, slug: str, file_type: str) -> dict:
    """``manage.py export_snapshot`` in a child process: wall time and its own peak RSS."""
    command = [
        sys.executable, str(ROOT / "manage.py"), "export_snapshot", slug,
        "--format", "pairwise", "--file-type", file_type, "--style", "text",
        "--aggregation", "per_annotator", "--splits", "train=0.9,test=0.1",
        "--name", f"bench {file_type}",
    ]  # fmt: skip
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True
        )
        stdout = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            err.seek(0)
            raise RuntimeError(f"{shlex.join(command)} failed:\n{stdout}\n{err.read().decode()}")
    return {
        "seconds": seconds,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # Linux reports kilobytes
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "command": shlex.join(["python", *command[1:]]),
        "stdout": stdout,
    }


def snapshot_check(slug: str) -> dict:
    """Rows and bytes of the newest snapshot of ``slug``; sha256 of each file re-hashed."""
    from django.core.files.storage import default_storage

    from training.datasets.models import DatasetSnapshot

    snapshot = DatasetSnapshot.objects.filter(project__slug=slug).order_by("-number").first()
    files, rows, size, mismatched = [], 0, 0, []
    for f in snapshot.files.filter(format="pairwise"):
        path = Path(default_storage.path(f"{snapshot.path}/{f.name}"))
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != f.sha256:
            mismatched.append(f.name)
        rows += f.rows
        size += f.size
        files.append({"name": f.name, "rows": f.rows, "size": f.size})
    return {"rows": rows, "bytes": size, "files": files, "sha256_mismatched": mismatched}


def _outputs_drop(slug: str) -> None:
    """Delete the measured snapshot's files: gigabytes of dirty pages would otherwise be
    written back while the next run is timed, and push the database out of the OS cache."""
    from django.core.files.storage import default_storage

    from training.datasets.models import DatasetSnapshot

    snapshot = DatasetSnapshot.objects.filter(project__slug=slug).order_by("-number").first()
    subprocess.run(["rm", "-rf", default_storage.path(snapshot.path)], check=True)
    subprocess.run(["sync"], check=False)


def size_measure(server, config, env, size: int) -> dict:
    """floor, JSONL, floor, Parquet, floor: each export is compared with the mean of the
    two floor runs around it, measured in the same state of the machine's caches."""
    from projects.models import Project

    project = Project.objects.get(slug=slug_of(size))
    out = {"size": size, "floor": [floor_measure(server, config.database, project.pk)]}
    say(f"{size:,}: floor {out['floor'][0]['seconds']:.1f} s, {out['floor'][0]['rows']:,} rows")
    for file_type in ("jsonl", "parquet"):
        run = export_measure(env, slug_of(size), file_type)
        run.update(snapshot_check(slug_of(size)))
        _outputs_drop(slug_of(size))
        out[file_type] = run
        say(
            f"{size:,}: {file_type} {run['seconds']:.1f} s, {run['rows']:,} rows, "
            f"peak RSS {run['peak_rss_mb']:.0f} MB"
        )
        out["floor"].append(floor_measure(server, config.database, project.pk))
        say(f"{size:,}: floor {out['floor'][-1]['seconds']:.1f} s")
        around = out["floor"][-2:]
        run["floor_s"] = sum(f["seconds"] for f in around) / 2
        run["ratio"] = run["seconds"] / run["floor_s"]
    return out


# --- report ------------------------------------------------------------------------------------


def checks(results: list[dict]) -> list[dict]:
    found = []
    for r in results:
        floor_rows = r["floor"][0]["rows"]
        for file_type in ("jsonl", "parquet"):
            run = r[file_type]
            found.append(
                {
                    "check": f"{r['size']:,} {file_type}: pairs written == floor rows",
                    "ok": run["rows"] == floor_rows,
                    "detail": f"{run['rows']:,} vs {floor_rows:,}",
                }
            )
            found.append(
                {
                    "check": f"{r['size']:,} {file_type}: manifest sha256 match the files",
                    "ok": not run["sha256_mismatched"],
                    "detail": ", ".join(run["sha256_mismatched"]) or "all match",
                }
            )
    return found


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def report_markdown(r: dict) -> str:
    lines = [
        "# Dataset snapshot export: pairwise JSONL and Parquet against a COPY floor",
        "",
        f"Measured {r['when']} with `{r['command']}`.",
        "",
        *machine_markdown(r["machine"]),
        "",
        "## Results",
        "",
        f"Targets: export within {RATIO_TARGET:.0f}x the COPY floor; "
        f"peak RSS of the exporting process under {RSS_TARGET_MB:.0f} MB at every size.",
        "",
        "| annotations | pairs | floor (COPY) | JSONL | x floor | peak RSS | Parquet | x floor "
        "| peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in r["sizes"]:
        j, p = s["jsonl"], s["parquet"]
        lines.append(
            f"| {s['size']:,} | {s['floor'][0]['rows']:,} | {j['floor_s']:.1f} / "
            f"{p['floor_s']:.1f} s ({_mb(s['floor'][0]['bytes'])}) | {j['seconds']:.1f} s "
            f"({_mb(j['bytes'])}) | "
            f"**{j['ratio']:.2f}** | {j['peak_rss_mb']:.0f} MB | {p['seconds']:.1f} s "
            f"({_mb(p['bytes'])}) | **{p['ratio']:.2f}** | {p['peak_rss_mb']:.0f} MB |"
        )
    lines += [
        "",
        "The floor column is the mean of the floor runs around the JSONL / the Parquet "
        "export; the floor runs in order "
        + ", ".join(
            f"{s['size']:,}: " + " / ".join(f"{f['seconds']:.1f} s" for f in s["floor"])
            for s in r["sizes"]
        )
        + ". The export times are wall time of the whole command (Django start, the count, "
        "the export, the manifest and the sha256 of every file); CPU seconds of the "
        "exporting process: "
        + ", ".join(
            f"{s['size']:,} JSONL {s['jsonl']['cpu_s']:.0f} s / Parquet "
            f"{s['parquet']['cpu_s']:.0f} s"
            for s in r["sizes"]
        )
        + ".",
        "",
        "## Checks",
        "",
        *[f"- {'ok' if c['ok'] else 'FAILED'}: {c['check']} ({c['detail']})" for c in r["checks"]],
        "",
        "## Commands",
        "",
        *[f"- `{s['jsonl']['command']}`" for s in r["sizes"][:1]],
        *[f"- `{s['parquet']['command']}`" for s in r["sizes"][:1]],
        "- the floor's SQL:",
        "",
        "```sql",
        FLOOR_SQL.strip().replace("{project}", "<project id>"),
        "```",
    ]
    if r["seeded"]:
        lines += [
            "",
            "Seeding (COPY, texts generated in this process): "
            + ", ".join(f"{k:,} in {v['seconds']:.0f} s" for k, v in r["seeded"].items())
            + ".",
        ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    config = parse_args(argv)
    server = PgServer.from_url(config.database_url)
    data_dir = tempfile.mkdtemp(prefix="preflab-bench-export-")
    env = app_env(
        database_url=server.url(config.database), data_dir=data_dir, redis_url=config.redis_url
    )
    fresh = not config.keep
    if fresh:
        database_recreate(server, config.database)
    else:
        with server.connect() as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [config.database]
            ).fetchone()
        if not exists:
            database_recreate(server, config.database)
    manage("migrate", "--noinput", env=env)
    django_boot(env)
    say("seeding")
    seeded = seed(config)
    results = [size_measure(server, config, env, size) for size in config.size_list]
    found = checks(results)
    report = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "benchmarks/export.py", *(argv or sys.argv[1:])]),
        "machine": machine_facts(postgres_version=server_version(server)),
        "config": dataclasses.asdict(config),
        "seeded": seeded,
        "sizes": results,
        "checks": found,
        "max_rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "export.md").write_text(report_markdown(report), encoding="utf-8")
    for s in report["sizes"]:
        for file_type in ("jsonl", "parquet"):
            s[file_type].pop("stdout", None)
    (out / "export.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    say(f"report: {out / 'export.md'}")
    if not config.keep:
        from django.db import connections

        connections.close_all()
        database_drop(server, config.database)
    subprocess.run(["rm", "-rf", data_dir], check=False)
    return 0 if all(c["ok"] for c in found) else 1


if __name__ == "__main__":
    sys.exit(main())
