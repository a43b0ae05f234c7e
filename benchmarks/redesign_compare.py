"""The redesign of issue 20 measured side by side: the same benchmarks, before and after.

    .venv/bin/python benchmarks/redesign_compare.py             # the full run (about 15 minutes)
    .venv/bin/python benchmarks/redesign_compare.py --rounds 5  # steadier (about 25 minutes)
    .venv/bin/python benchmarks/redesign_compare.py --rounds 1 --profile-cycles 30 \
        --profile-items 300 --loop-duration 8 --loop-warmup 4 --loop-items 300 \
        --export-size 2000 --reward-examples 64 --reward-steps 4   # a smoke run (5 minutes)

A round of the default sizes took 4.6 minutes at a load average of about 5 on the 2-core
machine (2026-12-07); a busier machine stretches it.

Checks out the code before the redesign (``--before``, 32dcf8c) and after it (``--after``,
HEAD) as two git worktrees in a temporary folder, and runs each tree's own benchmark
scripts with this venv's Python (the dependencies did not change but for import-linter),
in that tree, with ``PYTHONPATH`` set to it so every process (manage.py, gunicorn, the
trainer) imports that tree's code:

1. ``benchmarks/request_profile.py``: one claim and one submit in-process (SQL statements,
   p50 ms of each call);
2. ``benchmarks/annotate_loop.py``: N annotators looping claim -> submit over HTTP against
   gunicorn (annotations/s, p95 of each call, errors, the database checks);
3. ``benchmarks/export.py``: a pairwise JSONL and a Parquet snapshot through
   ``manage.py export_snapshot`` (wall seconds, and each against its COPY floor);
4. ``python -m training.ml.reward train`` on the first HH pairs of ``../shared/data``
   (seconds per step and sequences per second from its metrics stream, the first step left
   out; wall seconds of the command).

The runs are interleaved: each round runs every benchmark once per tree, the two trees
back to back, and the order of the trees flips every round (before-after, after-before, …)
so that load drifting on a shared machine hits both sides alike. Per figure the report gives
each side's median over the rounds, the ratio after / before of the medians with the range
of the per-round ratios, and a verdict. Uncommitted changes of the working tree are in
neither side. Every option is documented by ``--help``.
"""

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make `benchmarks` importable

from benchmarks.machine import machine_facts, machine_markdown  # noqa: E402
from benchmarks.pg import PgServer, database_drop, server_version  # noqa: E402

BENCHES = ("profile", "loop", "export", "reward")
SIDES = ("before", "after")
REDIS_DB = {"before": 10, "after": 11}
HH_TRAIN = ROOT.parent / "shared" / "data" / "hh_sample_train.jsonl"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    a = p.add_argument
    a("--before", default="32dcf8c", help="git ref of the code before the redesign")
    a("--after", default="HEAD", help="git ref of the code after it")
    a("--rounds", type=int, default=3, help="runs of every benchmark per tree, interleaved")
    a("--python", default=sys.executable, help="the interpreter both trees run with")
    for bench in BENCHES:
        a(f"--skip-{bench}", action="store_true", help=f"leave the {bench} benchmark out")
    a("--profile-cycles", type=int, default=100, help="request_profile.py --cycles")
    a("--profile-items", type=int, default=1000, help="request_profile.py --items")
    a("--loop-annotators", type=int, default=8, help="annotate_loop.py --annotators (one level)")
    a("--loop-duration", type=float, default=20.0, help="annotate_loop.py --duration (s)")
    a("--loop-warmup", type=float, default=5.0, help="annotate_loop.py --warmup (s)")
    a("--loop-items", type=int, default=1500, help="annotate_loop.py --items")
    a("--export-size", type=int, default=10000, help="export.py --sizes (annotations)")
    a("--reward-examples", type=int, default=200, help="HH pairs in the reward training file")
    a("--reward-steps", type=int, default=8, help="training steps (--max-steps)")
    a("--reward-batch-size", type=int, default=8, help="sequences per step (--batch-size)")
    a("--reward-max-length", type=int, default=128, help="tokens per sequence (--max-length)")
    a("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server")
    a("--database-prefix", default="preflab_cmp", help="databases are PREFIX_SIDE_BENCH")
    a("--timeout", type=float, default=1200.0, help="seconds one benchmark run may take")
    a("--note", default="", help="a line printed at the top of the report (e.g. 'smoke run')")
    a("--out", type=Path, default=ROOT / "benchmarks" / "results" / "redesign_compare.md")
    a("--keep", action="store_true", help="keep the worktrees and the runs' logs")
    return p.parse_args(argv)


def say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --- the two trees ---------------------------------------------------------------------------


@dataclass
class Tree:
    side: str  # "before" or "after"
    ref: str
    commit: str
    subject: str
    path: Path


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def worktrees_add(args: argparse.Namespace, work: Path) -> list[Tree]:
    trees = []
    for side, ref in (("before", args.before), ("after", args.after)):
        commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
        path = work / side
        _git("worktree", "add", "--detach", "--quiet", str(path), commit)
        subject = _git("log", "-1", "--format=%s", commit)
        trees.append(Tree(side, ref, commit, subject, path))
        say(f"{side}: {ref} = {commit[:10]} at {path}")
    return trees


def worktrees_remove(trees: list[Tree]) -> None:
    for tree in trees:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(tree.path)], cwd=ROOT, check=False
        )
    subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)


def tree_env(tree: Tree) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    env.update(PYTHONPATH=str(tree.path), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


def tree_check(args, tree: Tree, work: Path) -> None:
    """Fail in seconds, not after the first benchmark: the tree's code imports from the tree,
    and Django's system checks pass (on SQLite in a folder of its own)."""
    env = tree_env(tree)
    env["PREFLAB_DATA_DIR"] = str(work / f"check-{tree.side}")
    probe = "import annotation, config; print(annotation.__file__)"
    found = subprocess.run(
        [args.python, "-c", probe], cwd=tree.path, env=env, capture_output=True, text=True
    )
    if found.returncode or not found.stdout.strip().startswith(str(tree.path)):
        raise SystemExit(f"{tree.side}: imports {found.stdout.strip()!r}\n{found.stderr}")
    checked = subprocess.run(
        [args.python, "manage.py", "check"], cwd=tree.path, env=env, capture_output=True, text=True
    )
    if checked.returncode:
        raise SystemExit(
            f"{tree.side} ({tree.ref} = {tree.commit[:10]}): manage.py check fails, so no "
            f"benchmark can run on it:\n{checked.stderr[-3000:]}"
        )


# --- one run of one benchmark ------------------------------------------------------------------


@dataclass
class Run:
    bench: str
    side: str
    round: int
    load: float  # 1-minute load average when it started
    seconds: float = 0.0
    figures: dict = field(default_factory=dict)
    checks_ok: bool = True
    error: str = ""


def _child(args, tree: Tree, argv: list[str], log: Path) -> float:
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(
            [args.python, *argv], cwd=tree.path, env=tree_env(tree), stdout=out,
            stderr=subprocess.STDOUT, timeout=args.timeout,
        )  # fmt: skip
    if done.returncode:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise RuntimeError(f"exit status {done.returncode}:\n{tail}")
    return time.perf_counter() - started


def _database(args, side: str, bench: str) -> str:
    return f"{args.database_prefix}_{side}_{bench}"


def _redis(args, side: str) -> str:
    return f"redis://127.0.0.1:6379/{REDIS_DB.get(side, 'N')}"


_PROFILE_ROW = re.compile(r"^\| (claim|submit) \| (\d+) \| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \|$")


def profile_argv(args, side: str, out: Path) -> list[str]:
    return [
        "benchmarks/request_profile.py", "--cycles", str(args.profile_cycles),
        "--items", str(args.profile_items), "--postgres", args.postgres,
        "--database", _database(args, side, "profile"), "--redis-url", _redis(args, side),
        "--out", str(out / "request_profile.md"),
    ]  # fmt: skip


def profile_read(out: Path) -> tuple[dict, bool]:
    figures = {}
    for line in (out / "request_profile.md").read_text().splitlines():
        if found := _PROFILE_ROW.match(line):
            call, statements, p50 = found.group(1), int(found.group(2)), float(found.group(3))
            figures[f"{call}_sql"] = statements
            figures[f"{call}_p50_ms"] = p50
            figures[f"{call}_mean_ms"] = float(found.group(5))
    return figures, len(figures) == 6


def loop_argv(args, side: str, out: Path) -> list[str]:
    return [
        "benchmarks/annotate_loop.py", "--annotators", str(args.loop_annotators),
        "--duration", str(args.loop_duration), "--warmup", str(args.loop_warmup),
        "--items", str(args.loop_items), "--skip-pgbench", "--floor-seconds", "0",
        "--postgres", args.postgres, "--database", _database(args, side, "loop"),
        "--redis-url", _redis(args, side), "--out", str(out / "annotate_loop.md"),
    ]  # fmt: skip


def loop_read(out: Path) -> tuple[dict, bool]:
    level = json.loads((out / "annotate_loop.json").read_text())["levels"][0]
    s = level["summary"]
    figures = {
        "annotations_per_s": s["annotations_per_s"],
        "claim_p95_ms": s["claim"]["p95_ms"],
        "submit_p95_ms": s["submit"]["p95_ms"],
        "errors": s["errors"],
    }
    measured = {k: v for k, v in figures.items() if v is not None}  # None: no call measured
    passed = level["checks"]["passed"] and not s["errors"] and not s["no_content"]
    return measured, bool(passed) and len(measured) == len(figures)


def export_argv(args, side: str, out: Path) -> list[str]:
    return [
        "benchmarks/export.py", "--sizes", str(args.export_size),
        "--database-url", args.postgres, "--database", _database(args, side, "export"),
        "--redis-url", _redis(args, side), "--out", str(out),
    ]  # fmt: skip


def export_read(out: Path) -> tuple[dict, bool]:
    report = json.loads((out / "export.json").read_text())
    size = report["sizes"][0]
    figures = {}
    for file_type in ("jsonl", "parquet"):
        figures[f"{file_type}_s"] = size[file_type]["seconds"]
        figures[f"{file_type}_x_floor"] = size[file_type]["ratio"]
    return figures, all(c["ok"] for c in report["checks"])


def reward_data(args, work: Path) -> Path:
    """The first HH pairs as TRL-style prompt/chosen/rejected rows: one file for both trees."""
    lines = HH_TRAIN.read_text().splitlines()[: args.reward_examples]
    path = work / "reward-train.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def reward_argv(args, side: str, out: Path, data: Path) -> list[str]:
    return [
        "-m", "training.ml.reward", "train", "--data", str(data), "--out", str(out / "reward"),
        "--epochs", "1", "--max-steps", str(args.reward_steps),
        "--batch-size", str(args.reward_batch_size), "--max-length", str(args.reward_max_length),
        "--save-every", "0", "--log-every", "1", "--seed", "0",
    ]  # fmt: skip


def reward_read(out: Path) -> tuple[dict, bool]:
    lines = [json.loads(x) for x in (out / "reward" / "metrics.jsonl").read_text().splitlines()]
    steps = [x for x in lines if "loss" in x and "event" not in x]
    timed = steps[1:]  # the first step pays for warming up: left out
    seconds = timed[-1]["time"] - steps[0]["time"]
    figures = {
        "s_per_step": seconds / (timed[-1]["step"] - steps[0]["step"]),
        "seqs_per_s": statistics.median(x["seqs_per_s"] for x in timed),
    }
    finished = any(x.get("event") == "finished" for x in lines)
    return figures, finished and len(timed) >= 1


def run_one(args, tree: Tree, bench: str, rnd: int, work: Path, data: Path) -> Run:
    out = work / "runs" / f"{rnd}-{bench}-{tree.side}"
    out.mkdir(parents=True)
    run = Run(bench, tree.side, rnd, load=os.getloadavg()[0])
    argv = {
        "profile": lambda: profile_argv(args, tree.side, out),
        "loop": lambda: loop_argv(args, tree.side, out),
        "export": lambda: export_argv(args, tree.side, out),
        "reward": lambda: reward_argv(args, tree.side, out, data),
    }[bench]()
    read = {"profile": profile_read, "loop": loop_read, "export": export_read}.get(bench)
    try:
        run.seconds = _child(args, tree, argv, out / "log.txt")
        run.figures, run.checks_ok = (read or reward_read)(out)
        if bench == "reward":
            run.figures["wall_s"] = run.seconds
    except (RuntimeError, subprocess.TimeoutExpired, OSError, LookupError, ValueError) as exc:
        run.error, run.checks_ok = str(exc), False
    state = "FAILED" if run.error else ("checks fail" if not run.checks_ok else "ok")
    shown = ", ".join(f"{k} {v:.3g}" for k, v in run.figures.items())
    say(f"round {rnd} {bench} {tree.side}: {state} in {run.seconds:.0f} s; {shown}")
    return run


def rounds_run(args, trees: list[Tree], work: Path) -> list[Run]:
    benches = [b for b in BENCHES if not getattr(args, f"skip_{b}")]
    data = reward_data(args, work)
    runs = []
    for rnd in range(1, args.rounds + 1):
        order = trees if rnd % 2 else trees[::-1]  # before-after, then after-before, ...
        for bench in benches:
            for tree in order:
                runs.append(run_one(args, tree, bench, rnd, work, data))
    return runs


# --- the report -----------------------------------------------------------------------------

# bench, figure, what it is, "lower" / "higher" is better, or "same" for counts
FIGURES = [
    ("profile", "claim_p50_ms", "claim, p50 ms (in-process)", "lower"),
    ("profile", "submit_p50_ms", "submit, p50 ms (in-process)", "lower"),
    ("profile", "claim_sql", "claim, SQL statements", "same"),
    ("profile", "submit_sql", "submit, SQL statements", "same"),
    ("loop", "annotations_per_s", "annotations/s over HTTP", "higher"),
    ("loop", "claim_p95_ms", "claim, p95 ms over HTTP", "lower"),
    ("loop", "submit_p95_ms", "submit, p95 ms over HTTP", "lower"),
    ("loop", "errors", "errors (non-2xx answers)", "same"),
    ("export", "jsonl_s", "pairwise JSONL, wall s", "lower"),
    ("export", "parquet_s", "pairwise Parquet, wall s", "lower"),
    ("export", "jsonl_x_floor", "JSONL x its COPY floor", "lower"),
    ("export", "parquet_x_floor", "Parquet x its COPY floor", "lower"),
    ("reward", "s_per_step", "seconds per step", "lower"),
    ("reward", "seqs_per_s", "sequences per second", "higher"),
    ("reward", "wall_s", "wall s of the command (model load included)", "lower"),
]
NO_SLOWER = 1.03  # a median ratio this close to 1 reads as "no slower"


def _values(runs: list[Run], bench: str, key: str, side: str) -> dict[int, float]:
    return {
        r.round: r.figures[key]
        for r in runs
        if r.bench == bench and r.side == side and not r.error and key in r.figures
    }


def _change(better: str, ratio: float) -> str:
    if better == "lower":
        return f"{abs(ratio - 1):.0%} {'slower' if ratio > 1 else 'faster'}"
    return f"{abs(1 - ratio):.0%} {'lower' if ratio < 1 else 'higher'}"


def verdict(better: str, ratio: float, paired: list[float]) -> str:
    if better == "same":
        return "same in every round" if set(paired) == {1.0} else "**differs**"
    worse = ratio if better == "lower" else 1 / ratio  # > 1: the after side is worse
    worse_rounds = [p if better == "lower" else 1 / p for p in paired]
    if len(paired) < 2:
        return f"{_change(better, ratio)}: one pair of runs, no verdict"
    if worse <= NO_SLOWER:
        if worse < 1 / NO_SLOWER and all(w < 1 for w in worse_rounds):
            return f"no slower ({_change(better, ratio)}, better in every round)"
        return "no slower"
    if all(w > 1 for w in worse_rounds):
        return f"**{_change(better, ratio)}, worse in every round**"
    return f"{_change(better, ratio)} on the medians, not in every round: within the noise"


def summary_rows(runs: list[Run]) -> list[str]:
    rows = [
        "| benchmark | figure | before: median (min - max) | after: median (min - max) "
        "| after / before (per-round range) | verdict |",
        "|---|---|---:|---:|---:|---|",
    ]
    for bench, key, label, better in FIGURES:
        before, after = (_values(runs, bench, key, side) for side in SIDES)
        if not before or not after:
            continue
        b, a = statistics.median(before.values()), statistics.median(after.values())
        both = sorted(set(before) & set(after))
        paired = [after[n] / before[n] if before[n] else float(after[n] == 0) for n in both]
        ratio = a / b if b else float(a == 0)
        rows.append(
            f"| {bench} | {label} | {b:.3g} ({min(before.values()):.3g} - "
            f"{max(before.values()):.3g}) | {a:.3g} ({min(after.values()):.3g} - "
            f"{max(after.values()):.3g}) | **{ratio:.2f}** ({min(paired):.2f} - "
            f"{max(paired):.2f}) | {verdict(better, ratio, paired)} |"
        )
    return rows


def rounds_rows(runs: list[Run]) -> list[str]:
    rows = [
        "| round | benchmark | side | load | s | figures | checks |",
        "|---:|---|---|---:|---:|---|---|",
    ]
    for r in runs:
        shown = ", ".join(f"{k} {v:.3g}" for k, v in r.figures.items()) or r.error.splitlines()[0]
        state = "FAILED" if r.error else ("ok" if r.checks_ok else "**fail**")
        rows.append(
            f"| {r.round} | {r.bench} | {r.side} | {r.load:.1f} | {r.seconds:.0f} | {shown} "
            f"| {state} |"
        )
    return rows


def report(args, trees, runs, facts, command, started, loads_end) -> str:
    loads = [r.load for r in runs] or [os.getloadavg()[0]]
    benches = [b for b in BENCHES if not getattr(args, f"skip_{b}")]
    argv = {
        "profile": profile_argv(args, "SIDE", Path("OUT")),
        "loop": loop_argv(args, "SIDE", Path("OUT")),
        "export": export_argv(args, "SIDE", Path("OUT")),
        "reward": reward_argv(args, "SIDE", Path("OUT"), Path("WORK/reward-train.jsonl")),
    }
    lines = [
        "# The redesign (issue 20), before and after, measured side by side",
        "",
        *([f"**{args.note}**", ""] if args.note else []),
        f"Measured {started} with",
        "",
        "```",
        command,
        "```",
        "",
        *[f"- {t.side}: `{t.ref}` = `{t.commit[:10]}` ({t.subject})" for t in trees],
        "",
        f"Measured side by side in one sitting on this shared {facts['nproc']}-core machine: "
        f"{args.rounds} round(s), each running every benchmark once per tree, the trees back "
        "to back and their order flipped every round (before-after, after-before, ...). Other "
        "engineers' work shared the cores: the 1-minute load average when each run started was "
        f"{min(loads):.1f} - {max(loads):.1f} (median {statistics.median(loads):.1f}; "
        f"{loads_end} at the end). On {facts['nproc']} cores a load above "
        f"{facts['nproc']} means every figure here is slower than on a quiet machine; read the "
        "ratios, not the absolute figures, and the per-round range of each ratio as the noise.",
        "",
        "Each tree ran its own copy of the benchmark scripts with the same interpreter "
        f"(`{os.path.relpath(args.python, ROOT)}`), in the tree and with `PYTHONPATH` set to "
        "it; databases `" + _database(args, "SIDE", "BENCH") + "`, Redis database "
        f"{REDIS_DB['before']} (before) and {REDIS_DB['after']} (after); the annotate loop's "
        "gunicorn binds a free port the OS picks. Uncommitted changes of the working tree are "
        "in neither side.",
        "",
        *machine_markdown(facts),
        "## Results",
        "",
        *summary_rows(runs),
        "",
        f"Verdicts: a median ratio within {NO_SLOWER - 1:.0%} of 1 (or better) is 'no "
        "slower'; a worse median ratio is a slowdown only when every round agrees (one round "
        "gives no verdict).",
        "",
        "## Every run",
        "",
        *rounds_rows(runs),
        "",
        "## The commands of each run (SIDE = before / after, run in that tree)",
        "",
        *[f"- {b}: `python {shlex.join(argv[b])}`" for b in benches],
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join([os.path.relpath(sys.executable, ROOT), *sys.argv])
    server = PgServer.from_url(args.postgres)
    facts = machine_facts(postgres_version=server_version(server))
    facts["git"] += " (the checkout that ran this script; the measured trees are named above)"
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    work = Path(tempfile.mkdtemp(prefix="preflab-redesign-compare-"))
    trees: list[Tree] = []
    try:
        trees = worktrees_add(args, work)
        for tree in trees:
            tree_check(args, tree, work)
        runs = rounds_run(args, trees, work)
    finally:
        for side in SIDES:
            for bench in BENCHES:  # left behind only if a run was killed
                database_drop(server, _database(args, side, bench))
                database_drop(server, _database(args, side, bench) + "_pgbench")
        if not args.keep:
            worktrees_remove(trees)
            subprocess.run(["rm", "-rf", str(work)], check=False)
    loads_end = " ".join(f"{v:.2f}" for v in os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(args, trees, runs, facts, command, started, loads_end))
    say(f"wrote {args.out}" + (f"; runs kept in {work}" if args.keep else ""))
    return 0 if all(r.checks_ok and not r.error for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
