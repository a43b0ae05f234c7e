"""The quality pages at 100k annotations, and what a submit pays to keep their figures current.

Seeds one rank-mode project (K=4, overlap 3) with about 100k annotations from 200
annotators by COPY, builds the stored aggregates with ``item_quality_refresh`` per item
and runs the background pass; then times the dashboard, its CSV and the review queue with
Django's test client, and real claim -> submit cycles through the services with
``item_quality_refresh`` timed inside each submit.

Run ``.venv/bin/python benchmarks/quality_dashboard.py --help`` for every option.
"""

import argparse
import cProfile
import dataclasses
import functools
import io
import json
import math
import os
import pstats
import random
import re
import shlex
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make `benchmarks` and the apps importable

from benchmarks.app import app_env, django_boot, manage  # noqa: E402
from benchmarks.jsonable import jsonable  # noqa: E402
from benchmarks.machine import machine_facts, machine_markdown  # noqa: E402
from benchmarks.pg import PgServer, database_drop, database_recreate, server_version  # noqa: E402
from benchmarks.stats import percentile  # noqa: E402
from benchmarks.texts import TextMaker  # noqa: E402

SLUG = "bench-quality"
REVIEWER = "bench-reviewer"  # a reviewer with no annotations of their own
PAGE_TARGET_MS = 300.0  # p95 of every quality page
REFRESH_TARGET_MS = 5.0  # metric update per submitted annotation
MODEL_EFFECT = (0.6, 0.2, 0.0, -0.4)  # latent quality of the response at source position j
TIE_SHARE = 0.05  # judgements that tie two adjacent responses
ROTATION = 31  # annotators taking turns in the submit phase (each item gets 3 in a row)
PROFILED_ITEMS = 15  # items whose every submit runs the refresh under cProfile


def _opt(default, help_text: str):
    return dataclasses.field(default=default, metadata={"help": help_text})


@dataclass
class QualityConfig:
    annotators: int = _opt(200, "accounts that annotate; the first --reviewers also review")
    reviewers: int = _opt(10, "annotators who also review (their own items leave the queue)")
    items: int = _opt(33_400, "seeded items, each judged by --overlap annotators")
    overlap: int = _opt(3, "the project's overlap: annotators per item")
    k: int = _opt(4, "responses per item")
    days: float = _opt(14.0, "the seeded annotations' created_at spans this many days to now")
    position_biased: int = _opt(6, "annotators who always rank the first-shown response top")
    fast_random: int = _opt(3, "annotators who click at random in a few seconds")
    skip_share: float = _opt(0.03, "share of items one more annotator claimed and skipped")
    fold_every: int = _opt(500, "items between folds of the quality deltas while seeding")
    backlog: int = _opt(5000, "the last items' deltas left for the background pass to fold")
    requests: int = _opt(60, "timed requests per page, after the warm-up")
    warmup: int = _opt(5, "untimed requests per page first")
    submits: int = _opt(600, "timed claim -> submit cycles on fresh items")
    submit_warmup: int = _opt(30, "untimed claim -> submit cycles first")
    seed: int = _opt(0, "random seed of texts, annotators and judgements")
    postgres: str = _opt("postgresql://postgres@127.0.0.1:5432", "PostgreSQL server URL")
    database: str = _opt("preflab_bench_quality", "benchmark database, dropped and re-created")
    redis_url: str = _opt("redis://127.0.0.1:6379/15", "REDIS_URL: the cache, not Celery")
    out: Path = _opt(ROOT / "benchmarks/results/quality_dashboard.md", "Markdown results file")
    json: Path | None = _opt(None, "raw numbers as JSON (default: --out with .json)")
    keep_database: bool = _opt(False, "leave the database for inspection")

    @property
    def fresh_items(self) -> int:
        """Unjudged items for the submit phase: 3 submits each, query counts, a margin."""
        cycles = self.submit_warmup + self.submits + self.overlap * (3 + PROFILED_ITEMS)
        return math.ceil(cycles / self.overlap) + 20


def parse_args(argv: list[str] | None = None) -> QualityConfig:
    p = argparse.ArgumentParser(
        description=(
            "Seed a project with --items x --overlap annotations (COPY), build the quality "
            "aggregates per item, run the background pass; time the quality dashboard, its "
            "CSV and the review queue in-process, then --submits claim -> submit cycles with "
            "item_quality_refresh timed inside each submit."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    for field in dataclasses.fields(QualityConfig):
        flag, help_text = "--" + field.name.replace("_", "-"), field.metadata["help"]
        if field.type is bool:
            p.add_argument(flag, action="store_true", help=help_text)
        else:
            kind = Path if field.name in ("out", "json") else type(field.default)
            p.add_argument(flag, type=kind, default=field.default, help=help_text)
    config = QualityConfig(**vars(p.parse_args(argv)))
    config.json = config.json or config.out.with_suffix(".json")
    return config


def say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def summary_ms(seconds: list[float]) -> dict:
    values = sorted(s * 1000 for s in seconds)
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_ms": percentile(values, 50),
        "p95_ms": percentile(values, 95),
        "p99_ms": percentile(values, 99),
        "mean_ms": sum(values) / len(values),
        "max_ms": values[-1],
    }


# --- seeding ------------------------------------------------------------------------------


@dataclass
class Annotator:
    user_id: int
    activity: float  # relative share of the items this annotator takes
    noise: float  # sd of their judgement noise, on the latent quality scale
    median_ms: float  # their typical time per item
    style: str  # "careful", "position" (first shown always top) or "random" (fast clicks)
    length_pull: float  # how strongly longer responses attract them (length bias)


def annotator_profiles(user_ids: list[int], config: QualityConfig, rng) -> list[Annotator]:
    people = []
    for n, user_id in enumerate(user_ids):
        style = "careful"
        if n >= len(user_ids) - config.fast_random:
            style = "random"
        elif n >= len(user_ids) - config.fast_random - config.position_biased:
            style = "position"
        people.append(
            Annotator(
                user_id=user_id,
                activity=rng.lognormvariate(0, 0.3),
                noise=rng.uniform(0.3, 1.2),
                median_ms=5000 if style == "random" else 40_000 * rng.lognormvariate(0, 0.35),
                style=style,
                length_pull=rng.choice((0.0, 0.0, 0.0, 0.5)),
            )
        )
    return people


def ranking_of(a: Annotator, display: list[int], quality: dict, zlen: dict, rng) -> list:
    """Tiers of response ids, best first, as this annotator would submit them."""
    if a.style == "random":
        scores = {rid: rng.random() for rid in display}
    else:
        scores = {
            rid: quality[rid] + a.length_pull * zlen[rid] + rng.gauss(0, a.noise) for rid in display
        }
    if a.style == "position":
        scores[display[0]] += 100.0
    tiers = [[rid] for rid in sorted(display, key=lambda rid: -scores[rid])]
    if len(tiers) > 2 and rng.random() < TIE_SHARE:
        i = rng.randrange(1, len(tiers) - 1)
        tiers[i] = tiers[i] + tiers.pop(i + 1)
    return tiers


def item_responses(project_id: int) -> list[tuple[int, list[int], list[int]]]:
    """(item id, response ids in source order, their lengths) for every item, by id."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ir.item_id, ir.response_id, length(r.text) FROM annotation_itemresponse ir "
            "JOIN annotation_item i ON i.id = ir.item_id "
            "JOIN annotation_response r ON r.id = ir.response_id "
            "WHERE i.project_id = %s ORDER BY ir.item_id, ir.position",
            [project_id],
        )
        grouped: dict[int, tuple[list, list]] = {}
        for item_id, rid, length in cursor.fetchall():
            ids, lengths = grouped.setdefault(item_id, ([], []))
            ids.append(rid)
            lengths.append(length)
    return [(item_id, ids, lengths) for item_id, (ids, lengths) in grouped.items()]


def latent_quality(items, rng) -> tuple[dict, dict]:
    """Each response's hidden quality (its model's effect plus noise) and z-scored length."""
    quality, zlen = {}, {}
    for _, ids, lengths in items:
        mean = sum(lengths) / len(lengths)
        sd = (sum((n - mean) ** 2 for n in lengths) / len(lengths)) ** 0.5 or 1.0
        for j, (rid, n) in enumerate(zip(ids, lengths, strict=True)):
            quality[rid] = MODEL_EFFECT[j % len(MODEL_EFFECT)] + rng.gauss(0, 1)
            zlen[rid] = (n - mean) / sd
    return quality, zlen


def _pick(people: list[Annotator], weights: list[float], count: int, rng, taken=()) -> list:
    chosen: list[Annotator] = []
    while len(chosen) < count:
        a = rng.choices(people, cum_weights=weights)[0]
        if a not in chosen and a.user_id not in taken:
            chosen.append(a)
    return chosen


def judgement_rows(project, people, items, quality, zlen, config, rng):
    """Assignment and annotation rows as COPY writes them: `overlap` judgements per item,
    created in item order over `days` (claims go oldest item first), plus some skips."""
    guideline_id = project.guidelines.order_by("-version").values_list("pk", flat=True).first()
    cum, total = [], 0.0
    for a in people:
        total += a.activity
        cum.append(total)
    now = datetime.now(UTC)
    start, span = now - timedelta(days=config.days), config.days * 86400 - 9 * 3600
    assignments, annotations = [], []
    for n, (item_id, ids, _) in enumerate(items):
        base = start + timedelta(seconds=span * n / len(items))
        judges = _pick(people, cum, config.overlap, rng)
        for a in judges:
            display = rng.sample(ids, len(ids))
            spent = max(800, int(a.median_ms * rng.lognormvariate(0, 0.45)))
            created = base + timedelta(seconds=rng.uniform(0, 8 * 3600))
            claimed = created - timedelta(milliseconds=spent)
            aid = len(assignments) + 1
            order = json.dumps(display)
            assignments.append(
                (aid, item_id, a.user_id, project.pk, "submitted", claimed,
                 claimed + timedelta(minutes=30), created, order, "")
            )  # fmt: skip
            roll = rng.random()
            review = ("pending", "unsure") if roll < 0.01 else ("", "")
            if 0.01 <= roll < 0.01 + project.review_rate:
                review = ("pending", "sampled")
            annotations.append(
                (len(annotations) + 1, aid, item_id, a.user_id, project.pk, "rank", "judgement",
                 json.dumps(ranking_of(a, display, quality, zlen, rng)), "{}", "{}", False, "",
                 spent, guideline_id, order, 1, review[1] == "unsure", False, "active", *review,
                 created)
            )  # fmt: skip
        if rng.random() < config.skip_share:
            (a,) = _pick(people, cum, 1, rng, taken={j.user_id for j in judges})
            claimed = base + timedelta(seconds=rng.uniform(0, 8 * 3600))
            assignments.append(
                (len(assignments) + 1, item_id, a.user_id, project.pk, "skipped", claimed,
                 claimed + timedelta(minutes=30), claimed + timedelta(seconds=20),
                 json.dumps(rng.sample(ids, len(ids))), "")
            )  # fmt: skip
    return assignments, annotations


ASSIGNMENT_COLUMNS = (
    "id, item_id, user_id, project_id, state, claimed_at, lease_expires_at, finished_at, "
    "display_order, skip_reason"
)
ANNOTATION_COLUMNS = (
    "id, assignment_id, item_id, user_id, project_id, mode, kind, ranking, ratings, "
    "rubric_scores, none_acceptable, rationale, time_spent_ms, guideline_id, display_order, "
    "revision, unsure, assisted, status, review_state, review_reason, created_at"
)


def judgements_copy(project, assignments: list, annotations: list, seeded_ids: list) -> None:
    """COPY the rows in, mark their items full, move the id sequences past them."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for table, columns, rows in (
            ("annotation_assignment", ASSIGNMENT_COLUMNS, assignments),
            ("annotation_annotation", ANNOTATION_COLUMNS, annotations),
        ):
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [len(rows)]
            )
        cursor.execute(
            "UPDATE annotation_item i SET submitted_count = s.n, open_slots = 0 FROM "
            "(SELECT item_id, count(*) AS n FROM annotation_annotation GROUP BY item_id) s "
            "WHERE s.item_id = i.id AND i.id = ANY(%s)",
            [seeded_ids],
        )


def people_seed(config: QualityConfig):
    """Annotators (the first few reviewers too), a reviewer with no work, the project."""
    from django.contrib.auth import get_user_model

    from benchmarks.seed import MANAGER, annotators_create, project_seed
    from projects.models import Role
    from projects.services import membership_set

    usernames = sorted(annotators_create(config.annotators))
    project = project_seed(
        slug=SLUG, usernames=usernames, items=config.items + config.fresh_items,
        k=config.k, overlap=config.overlap, texts=TextMaker(config.seed),
    )  # fmt: skip
    for username in usernames[: config.reviewers]:
        membership_set(project=project, username=username, role=Role.REVIEWER)
    User = get_user_model()
    User.objects.create(username=REVIEWER)
    membership_set(project=project, username=REVIEWER, role=Role.REVIEWER)
    users = list(User.objects.filter(username__in=usernames).order_by("username"))
    return project, users, User.objects.get(username=MANAGER), User.objects.get(username=REVIEWER)


def aggregates_build(item_ids: list[int], project_id: int, config: QualityConfig) -> dict:
    """item_quality_refresh for every item, each in its own transaction with its row locked
    as a submit holds it (seconds of each call). The waiting deltas are folded every
    `fold_every` items, as the background pass and the dashboard would fold them in a
    live project, except for the last `backlog` items': those wait for the pass."""
    from django.db import transaction

    from annotation.models import Item
    from annotation.quality.services.item_quality import item_quality_refresh

    seconds, folds = [], []
    steady = len(item_ids) - config.backlog
    for n, item_id in enumerate(item_ids, 1):
        with transaction.atomic():
            Item.objects.select_for_update().filter(pk=item_id).values_list("pk").first()
            started = time.perf_counter()
            item_quality_refresh(item_id=item_id)
            seconds.append(time.perf_counter() - started)
        if n <= steady and (n % config.fold_every == 0 or n == steady):
            folds.append(fold_now(project_id))
        if n % 5000 == 0 or n == len(item_ids):
            say(f"  {n:,} items refreshed, p50 {summary_ms(seconds)['p50_ms']:.2f} ms per call")
    folds = [fold for fold in folds if fold and fold["deltas"]]
    return {
        "refresh": summary_ms(seconds),
        "folds": len(folds),
        "fold_per_delta": summary_ms([f["seconds"] / f["deltas"] for f in folds]),
        "fold": summary_ms([f["seconds"] for f in folds]),
        "fold_deltas_mean": sum(f["deltas"] for f in folds) / len(folds) if folds else None,
    }


PASS_PARTS = (  # what project_quality_refresh calls, by their names in its module
    "quality_deltas_fold",
    "annotator_stats_refresh",
    "items_quality_refresh",
    "quality_summary_refresh",
)


def background_pass(project_id: int) -> dict:
    """project_quality_refresh once, with every call of its parts timed (their names are
    wrapped in its module for the call; a part the module does not have is left out)."""
    from annotation.quality.services import item_quality
    from annotation.quality.services import refresh as quality_refresh

    made: list[tuple[str, float, object]] = []  # (part, seconds, result) in call order
    originals = {n: getattr(quality_refresh, n) for n in PASS_PARTS if hasattr(quality_refresh, n)}
    originals_item = item_quality.item_quality_refresh

    def timed(name, original):
        def call(**kwargs):
            started = time.perf_counter()
            result = original(**kwargs)
            made.append((name, time.perf_counter() - started, result))
            return result

        return call

    for name, original in originals.items():
        setattr(quality_refresh, name, timed(name, original))
    # each item of the re-weighting, alone
    item_quality.item_quality_refresh = timed("item_quality_refresh", originals_item)
    try:
        started = time.perf_counter()
        outcome = quality_refresh.project_quality_refresh(project_id=project_id)
        seconds = time.perf_counter() - started
    finally:
        for name, original in originals.items():
            setattr(quality_refresh, name, original)
        item_quality.item_quality_refresh = originals_item
    return {
        **outcome,
        "seconds": seconds,
        "parts": [
            {"part": name, "seconds": sec, "result": res if isinstance(res, int) else None}
            for name, sec, res in made if name != "item_quality_refresh"
        ],
        "per_item": summary_ms([sec for name, sec, _ in made if name == "item_quality_refresh"]),
    }  # fmt: skip


def fold_now(project_id: int) -> dict | None:
    """Fold the project's waiting quality deltas, timed; None where the code has no log."""
    try:
        from annotation.quality.services.fold import quality_deltas_fold
    except ImportError:
        return None
    started = time.perf_counter()
    folded = quality_deltas_fold(project_id=project_id)
    return {"deltas": folded, "seconds": time.perf_counter() - started}


def pending_deltas() -> int | None:
    if _scalar("SELECT to_regclass('annotation_qualitydelta') IS NULL"):
        return None
    return _scalar("SELECT count(*) FROM annotation_qualitydelta")


def next_pass_estimate(project) -> dict:
    """What the next background pass would re-weight: its annotator step, rolled back."""
    from django.db import transaction

    from annotation.models import Annotation
    from annotation.quality.models import AnnotatorStats
    from annotation.quality.services.annotator_quality import annotator_stats_refresh
    from annotation.quality.services.refresh import WEIGHT_STEP

    def weights() -> dict:
        return dict(AnnotatorStats.objects.filter(project=project).values_list("user_id", "weight"))

    fold_now(project.pk)  # the pass folds before its annotator step too
    with transaction.atomic():
        before, started = weights(), time.perf_counter()
        annotator_stats_refresh(project=project)
        seconds, after = time.perf_counter() - started, weights()
        moved = [u for u, w in after.items() if abs(w - before.get(u, 1.0)) > WEIGHT_STEP]
        items = (
            Annotation.objects.filter(project=project, user_id__in=moved)
            .values("item_id")
            .distinct()
            .count()
        )
        transaction.set_rollback(True)
    return {"annotators_s": seconds, "moved_annotators": len(moved), "items": items}


REWARD_NOISE = 0.8  # sd of the reward model's error around a response's hidden quality


def reward_model_attach(project, quality: dict, people: list, rng) -> dict:
    """A reward model that scores every response (its hidden quality plus noise), attached
    to the project, and a third of the annotators' work marked assisted: the dashboard's
    agreement-with-the-model section then has what it has on a real loop project."""
    from annotation.models import Annotation
    from training.loop.models import ResponseScore
    from training.runs.models import ModelArtifact

    started = time.perf_counter()
    artifact = ModelArtifact.objects.create(
        project=project, kind="reward", name="bench-rm", path="/bench/rm"
    )
    ResponseScore.objects.bulk_create(
        (ResponseScore(response_id=rid, artifact=artifact, score=q + rng.gauss(0, REWARD_NOISE))
         for rid, q in quality.items()),
        batch_size=5000,
    )  # fmt: skip
    project.reward_model = artifact
    project.save(update_fields=["reward_model"])
    assisted_users = [a.user_id for a in people[::3]]
    assisted = Annotation.objects.filter(project=project, user_id__in=assisted_users).update(
        assisted=True
    )
    return {"scores": len(quality), "assisted": assisted, "annotators_assisted": len(
        assisted_users), "seconds": time.perf_counter() - started}  # fmt: skip


def reward_agreement_time(project) -> dict:
    """The dashboard's agreement-with-the-model series alone (part of the summary refresh)."""
    from annotation.quality.services.reward_agreement import reward_agreement_series

    started = time.perf_counter()
    series = reward_agreement_series(project)
    return {"seconds": time.perf_counter() - started, "pairs": series["pairs"],
            "rate": series["rate"], "blind": series["blind"]["rate"],
            "assisted": series["assisted"]["rate"]}  # fmt: skip


def seed(config: QualityConfig) -> dict:
    from benchmarks.seed import statistics_refresh

    rng, timings = random.Random(config.seed), {}
    started = time.perf_counter()
    project, users, manager, reviewer = people_seed(config)
    items = item_responses(project.pk)
    timings["items_s"] = time.perf_counter() - started
    say(f"{len(users)} annotators, {len(items):,} items in {timings['items_s']:.0f} s")
    mark = time.perf_counter()
    quality, zlen = latent_quality(items, rng)
    people = annotator_profiles([u.pk for u in users], config, rng)
    seeded = items[: config.items]
    assignments, annotations = judgement_rows(project, people, seeded, quality, zlen, config, rng)
    judgements_copy(project, assignments, annotations, [item_id for item_id, _, _ in seeded])
    reward = reward_model_attach(project, quality, people, rng)
    statistics_refresh()
    timings["copy_s"] = time.perf_counter() - mark
    say(f"{len(annotations):,} annotations copied in {timings['copy_s']:.0f} s")
    mark = time.perf_counter()
    build = aggregates_build([item_id for item_id, _, _ in seeded], project.pk, config)
    statistics_refresh()
    timings["aggregates_s"] = time.perf_counter() - mark
    say(f"aggregates built in {timings['aggregates_s']:.0f} s")
    background = background_pass(project.pk)
    say(f"background pass: {background['seconds']:.0f} s, {background['reweighted_items']:,} items")
    project.refresh_from_db()
    reward["series"] = reward_agreement_time(project)
    timings["total_s"] = time.perf_counter() - started
    return {
        "project": project, "users": users, "manager": manager, "reviewer": reviewer,
        "people": people, "quality": quality, "timings": timings, "background": background,
        "build": build, "reward": reward,
        "rows": {"assignments": len(assignments), "annotations": len(annotations)},
    }  # fmt: skip


# --- pages --------------------------------------------------------------------------------


class QueryTimer:
    """An execute_wrapper that keeps each statement, its parameters and its seconds."""

    def __init__(self):
        self.calls: list[tuple[str, object, float]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.calls.append((sql, params, time.perf_counter() - started))


def _get(client, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: {response.status_code}\n{body[:2000]!r}")
    return seconds, len(body)


def _explain(sql: str, params) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def page_measure(client, url: str, config: QualityConfig) -> dict:
    """Warm up, time `requests` GETs, then one more with its SQL counted, timed, explained."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(config.warmup):
        _get(client, url)
    times = [_get(client, url)[0] for _ in range(config.requests)]
    timer = QueryTimer()
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
        _, size = _get(client, url)
    slowest = max(timer.calls, key=lambda call: call[2])
    return {
        "url": url,
        **summary_ms(times),
        "sql_statements": len(captured.captured_queries),
        "sql_ms": 1000 * sum(call[2] for call in timer.calls),
        "kb": size / 1024,
        "slowest_sql": slowest[0],
        "slowest_sql_ms": 1000 * slowest[2],
        "slowest_plan": _explain(slowest[0], slowest[1]),
    }


def _layer(filename: str) -> str:
    if "/django/template" in filename or "/template_partials/" in filename:
        return "Django templates"
    if "/psycopg/" in filename:
        return "psycopg, waiting on PostgreSQL included"
    if "/django/db/" in filename:
        return "Django ORM"
    if "/django/" in filename:
        return "Django (request, middleware, utils)"
    if filename.endswith("common/charts.py"):
        return "PrefLab charts (SVG)"
    if "/annotation/metrics/" in filename:
        return "PrefLab metrics (agreement, consensus)"
    if filename.startswith(str(ROOT)) and "/.venv/" not in filename:
        return "PrefLab's other code"
    return "Python standard library and builtins"


def profile_summary(profiler: cProfile.Profile, calls: int, top: int = 25) -> dict:
    """Own time by layer, and the top functions by cumulative time."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    layers: dict[str, float] = {}
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():
        layers[_layer(filename)] = layers.get(_layer(filename), 0.0) + own
    own_code = re.escape(str(ROOT)) + r"/(?!\.venv/|benchmarks/)"
    stats.sort_stats("cumulative").print_stats(own_code, top)
    return {
        "calls": calls,
        "layers_s": dict(sorted(layers.items(), key=lambda kv: -kv[1])),
        "top": out.getvalue().strip(),
    }


def page_profile(client, url: str, requests: int = 20) -> dict:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        _get(client, url)
    profiler.disable()
    return {"url": url, **profile_summary(profiler, requests)}


def clients_login(seeded: dict) -> dict:
    """A logged-in test client per role the pages need."""
    from django.test import Client

    clients = {}
    roles = ("manager", seeded["manager"]), ("reviewer", seeded["reviewer"])
    for role, user in (*roles, ("reviewer who annotates", seeded["users"][0])):
        clients[role] = Client()
        clients[role].force_login(user)
    return clients


DASHBOARD = f"/p/{SLUG}/quality/"


def pages_measure(clients: dict, config: QualityConfig) -> dict:
    base = f"/p/{SLUG}"
    pages = (
        ("dashboard, default sort (weight)", "manager", f"{base}/quality/"),
        ("dashboard, agreement with peers, desc", "manager",
         f"{base}/quality/?sort=loo_agreement&dir=desc"),
        ("dashboard, median time", "manager", f"{base}/quality/?sort=median_time_s"),
        ("dashboard, username", "manager", f"{base}/quality/?sort=username"),
        ("annotator CSV", "manager", f"{base}/quality/annotators.csv"),
        ("review queue (reviewer without own work)", "reviewer", f"{base}/review/"),
        ("review queue (reviewer who annotates)", "reviewer who annotates", f"{base}/review/"),
    )  # fmt: skip
    results = {}
    for name, role, url in pages:
        results[name] = page_measure(clients[role], url, config)
        say(f"{name}: p95 {results[name]['p95_ms']:.1f} ms")
    profile = page_profile(clients["manager"], DASHBOARD)
    return {"pages": results, "profile": profile}


# --- incremental cost ---------------------------------------------------------------------


class RefreshTimer:
    """Stands in for item_quality_refresh inside a submit (quality's receiver of
    annotation_submitted calls it in the submit's transaction) and measures each call:
    its seconds, the seconds spent executing SQL, and when asked its statements or a profile."""

    def __init__(self, original):
        self.original = original
        self.capture = False  # count the statements as CaptureQueriesContext does
        self.profiler: cProfile.Profile | None = None
        self.last: dict = {}

    def __call__(self, *, item_id: int):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        sql = QueryTimer()
        with ExitStack() as stack:
            captured = (
                stack.enter_context(CaptureQueriesContext(connection)) if self.capture else None
            )
            stack.enter_context(connection.execute_wrapper(sql))
            started = time.perf_counter()
            if self.profiler is not None:
                stats = self.profiler.runcall(self.original, item_id=item_id)
            else:
                stats = self.original(item_id=item_id)
            seconds = time.perf_counter() - started
        self.last = {
            "seconds": seconds,
            "sql_s": sum(call[2] for call in sql.calls),
            "judgements": stats.judgements,
            "queries": len(captured.captured_queries) if captured else None,
            "sql": [q["sql"] for q in captured.captured_queries] if captured else None,
        }
        return stats


def _cycle(project, user, quality: dict, rng) -> tuple[float, float]:
    from annotation.services.claiming import assignment_claim
    from annotation.services.submission import annotation_submit

    started = time.perf_counter()
    assignment = assignment_claim(user=user, project=project)
    claimed = time.perf_counter()
    if assignment is None:
        raise RuntimeError("the submit phase ran out of fresh items; raise fresh_items")
    order = sorted(assignment.display_order, key=lambda rid: -quality[rid] - rng.gauss(0, 0.8))
    payload = {"ranking": [[rid] for rid in order], "time_spent_ms": rng.randint(15_000, 90_000)}
    annotation_submit(
        assignment_id=assignment.pk, user=user, payload=payload, client_token=uuid.uuid4().hex
    )
    return claimed - started, time.perf_counter() - claimed


def submits_measure(seeded: dict, config: QualityConfig, after_burst) -> dict:
    """Claim -> submit cycles on fresh items, annotators taking turns so each item gets
    its 1st, 2nd and 3rd judgement in a row; the refresh is timed inside each submit.
    ``after_burst()`` runs after the timed cycles, before those that count and profile."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotation.quality import receivers

    rng = random.Random(config.seed + 1)
    rotation = seeded["users"][config.reviewers : config.reviewers + ROTATION]
    project, quality = seeded["project"], seeded["quality"]
    timer = RefreshTimer(receivers.item_quality_refresh)
    receivers.item_quality_refresh = timer
    cycles, counted = [], []
    try:
        for n in range(config.submit_warmup + config.submits):
            claim_s, submit_s = _cycle(project, rotation[n % len(rotation)], quality, rng)
            if n >= config.submit_warmup:
                cycles.append({"claim_s": claim_s, "submit_s": submit_s, **timer.last})
        burst = after_burst()
        timer.capture = True
        for n in range(3 * config.overlap):  # three whole items: 1st, 2nd, 3rd judgements
            user = rotation[(config.submit_warmup + config.submits + n) % len(rotation)]
            with CaptureQueriesContext(connection) as captured:
                _cycle(project, user, quality, rng)
            counted.append({"cycle_queries": len(captured.captured_queries), **timer.last})
        timer.capture, timer.profiler = False, cProfile.Profile()
        for n in range(PROFILED_ITEMS * config.overlap):
            _cycle(project, rotation[n % len(rotation)], quality, rng)
    finally:
        receivers.item_quality_refresh = timer.original
    profile = profile_summary(timer.profiler, PROFILED_ITEMS * config.overlap)
    return {"cycles": cycles, "counted": counted, "profile": profile, "burst": burst}


def submits_summary(measured: dict) -> dict:
    cycles = measured["cycles"]
    ratios = sorted(c["seconds"] / c["submit_s"] for c in cycles)
    by_judgements = {}
    for j in sorted({c["judgements"] for c in cycles}):
        mine = [c for c in cycles if c["judgements"] == j]
        by_judgements[j] = {
            "refresh": summary_ms([c["seconds"] for c in mine]),
            "submit": summary_ms([c["submit_s"] for c in mine]),
            "refresh_queries": next(
                (c["queries"] for c in measured["counted"] if c["judgements"] == j), None
            ),
        }
    return {
        "claim": summary_ms([c["claim_s"] for c in cycles]),
        "submit": summary_ms([c["submit_s"] for c in cycles]),
        "refresh": summary_ms([c["seconds"] for c in cycles]),
        "refresh_sql": summary_ms([c["sql_s"] for c in cycles]),
        "submit_without_refresh": summary_ms([c["submit_s"] - c["seconds"] for c in cycles]),
        "refresh_share_p50": percentile(ratios, 50),
        "refresh_share_total": sum(c["seconds"] for c in cycles)
        / sum(c["submit_s"] for c in cycles),
        "by_judgements": by_judgements,
        "counted": [{k: v for k, v in c.items() if k != "sql"} for c in measured["counted"]],
        "refresh_sql_text": [
            f"-- {n}\n{sql}" for n, sql in enumerate(measured["counted"][-1]["sql"], 1)
        ],
        "profile": measured["profile"],
        "burst": measured["burst"],
    }


# --- checks and sizes ---------------------------------------------------------------------

CHECKS = (
    ("ItemStats rows == items with a counted judgement",
     "SELECT count(*) FROM annotation_itemstats",
     "SELECT count(DISTINCT item_id) FROM annotation_annotation WHERE status = 'active'"),
    ("sum of annotator judgements == counted annotations",
     "SELECT coalesce(sum(judgements), 0) FROM annotation_annotatorstats",
     "SELECT count(*) FROM annotation_annotation WHERE status = 'active'"),
    ("sum of shard items_multi == items with 2+ judgements",
     "SELECT coalesce(sum(items_multi), 0) FROM annotation_projectstatsshard",
     "SELECT count(*) FROM annotation_itemstats WHERE judgements >= 2"),
    ("sum of pair items == annotator pairs within items",
     "SELECT coalesce(sum(items), 0) FROM annotation_annotatorpairstats",
     "SELECT coalesce(sum(judgements * (judgements - 1) / 2), 0) FROM annotation_itemstats"),
)  # fmt: skip

SIZES = {
    "annotations": "SELECT count(*) FROM annotation_annotation",
    "annotators": "SELECT count(DISTINCT user_id) FROM annotation_annotation",
    "items": "SELECT count(*) FROM annotation_item",
    "items_judged": "SELECT count(DISTINCT item_id) FROM annotation_annotation",
    "item_stats_rows": "SELECT count(*) FROM annotation_itemstats",
    "annotator_stats_rows": "SELECT count(*) FROM annotation_annotatorstats",
    "pair_rows": "SELECT count(*) FROM annotation_annotatorpairstats",
    "shard_rows": "SELECT count(*) FROM annotation_projectstatsshard",
    "review_pending": "SELECT count(*) FROM annotation_annotation WHERE review_state = 'pending'",
    "skipped_assignments": "SELECT count(*) FROM annotation_assignment WHERE state = 'skipped'",
    "database_mb": "SELECT pg_database_size(current_database()) / 1048576",
}


def _scalar(sql: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
        return int(cursor.fetchone()[0])


def checks_run() -> list[dict]:
    results = []
    for name, stored_sql, expected_sql in CHECKS:
        stored, expected = _scalar(stored_sql), _scalar(expected_sql)
        results.append(
            {"check": name, "stored": stored, "expected": expected, "ok": stored == expected}
        )
    return results


# --- report -------------------------------------------------------------------------------


def _verdict(value: float, target: float) -> str:
    return "met" if value < target else f"**missed** ({value / target:.1f}x the target)"


def _pages_lines(pages: dict) -> list[str]:
    lines = [
        "| page | SQL statements | SQL ms (one request) | p50 ms | p95 ms | max ms | KiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, p in pages.items():
        lines.append(
            f"| {name} | {p['sql_statements']} | {p['sql_ms']:.1f} | {p['p50_ms']:.1f} "
            f"| {p['p95_ms']:.1f} | {p['max_ms']:.1f} | {p['kb']:.0f} |"
        )
    return lines


def _submit_lines(s: dict) -> list[str]:
    lines = [
        "| part | p50 ms | p95 ms | mean ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    rows = (("claim (context)", s["claim"]), ("whole submit", s["submit"]),
            ("item_quality_refresh inside it", s["refresh"]),
            ("submit minus the refresh", s["submit_without_refresh"]))  # fmt: skip
    for name, t in rows:
        lines.append(
            f"| {name} | {t['p50_ms']:.2f} | {t['p95_ms']:.2f} | {t['mean_ms']:.2f} "
            f"| {t['max_ms']:.2f} |"
        )
    lines += ["", "| item's judgements after the submit | submits | refresh p50 ms "
              "| refresh p95 ms | submit p50 ms | SQL statements of the refresh |",
              "|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for j, b in s["by_judgements"].items():
        lines.append(
            f"| {j} | {b['refresh']['n']} | {b['refresh']['p50_ms']:.2f} "
            f"| {b['refresh']['p95_ms']:.2f} | {b['submit']['p50_ms']:.2f} "
            f"| {b['refresh_queries']} |"
        )
    return lines


def _cpu_line(name: str, used: dict) -> str:
    capacity = used["machine_capacity_s"] or 1.0
    return (
        f"- while timing {name}: this process {used['load_generator_s']:.0f} s of CPU, "
        f"PostgreSQL {used['postgres_s']:.0f} s, other processes {used['others_s']:.0f} s "
        f"({used['others_s'] / capacity:.0%} of the machine's {capacity:.0f} core-seconds)"
    )


PART_LABELS = {
    "quality_deltas_fold": "folding the waiting quality deltas (`quality_deltas_fold`)",
    "annotator_stats_refresh": "annotator figures and weights (`annotator_stats_refresh`)",
    "items_quality_refresh": "re-weighting items (`items_quality_refresh`: a lock, "
    "`item_quality_refresh` and a commit each)",
    "quality_summary_refresh": "dashboard series (`quality_summary_refresh`)",
}


def _background_lines(b: dict, later: dict) -> list[str]:
    lines = ["| part | result | seconds |", "|---|---:|---:|"]
    timed = 0.0
    for call in b["parts"]:
        result = "" if call["result"] is None else f"{call['result']:,}"
        label = PART_LABELS.get(call["part"], call["part"])
        lines.append(f"| {label} | {result} | {call['seconds']:.1f} |")
        timed += call["seconds"]
    item = b["per_item"]
    return [
        *lines,
        f"| the rest (weight reads, the moved annotators' items) | | {b['seconds'] - timed:.1f} |",
        f"| **whole pass** | {b['reweighted_items']:,} items re-weighted "
        f"| **{b['seconds']:.1f}** |",
        "",
        f"Each re-weighted item's `item_quality_refresh` alone ({item['n']:,} calls, one "
        f"process): p50 {item.get('p50_ms', 0):.2f} ms, p95 {item.get('p95_ms', 0):.2f} ms.", "",
        f"A pass right after the run would re-weight {later['items']:,} items: "
        f"{later['moved_annotators']} annotators' weights would move by more than the step "
        f"(measured by running its annotator step, {later['annotators_s']:.1f} s, and rolling "
        "back).",
    ]  # fmt: skip


def _fold_lines(r: dict) -> list[str]:
    burst, folds = r["submits"]["burst"], r["folds"]
    after = folds.get("after_submits")
    if after is None:
        return []
    return [
        "Deferred part: a submit appends its delta to a log that `quality_deltas_fold` adds "
        "to the annotator, pair and project rows later (the background pass and every "
        "reader of those sums fold first). Right after the timed submits, with "
        f"{burst['pending_deltas']:,} deltas waiting, one default dashboard view took "
        f"{burst['ms']:.0f} ms (it folded them); the fold of the "
        f"{after['deltas']:,} deltas of the cycles after it took {after['seconds'] * 1000:.0f} "
        "ms. The background pass's folds are in its table above.",
        "",
    ]


def _profile_lines(title: str, profile: dict) -> list[str]:
    layers = profile["layers_s"]
    total = sum(layers.values()) or 1.0
    lines = [title, "", "| layer | seconds | share |", "|---|---:|---:|"]
    lines += [f"| {k} | {v:.2f} | {v / total:.0%} |" for k, v in layers.items()]
    return lines + ["", "```", profile["top"], "```", ""]


def _targets_lines(r: dict) -> list[str]:
    pages, refresh = r["pages"]["pages"], r["submits"]["refresh"]["p95_ms"]
    worst_page = max(pages, key=lambda name: pages[name]["p95_ms"])
    worst = pages[worst_page]["p95_ms"]
    lines = [
        "## Targets", "",
        "| target | measured | verdict |", "|---|---:|---|",
        f"| every quality page p95 < {PAGE_TARGET_MS:.0f} ms | {worst:.1f} ms ({worst_page}) "
        f"| {_verdict(worst, PAGE_TARGET_MS)} |",
        f"| metric update per submitted annotation < {REFRESH_TARGET_MS:.0f} ms (p95 of "
        f"item_quality_refresh inside submits) | {refresh:.2f} ms "
        f"| {_verdict(refresh, REFRESH_TARGET_MS)} |",
    ]  # fmt: skip
    if r["build"]["folds"]:
        fold = r["build"]["fold_per_delta"]["p50_ms"]
        total = refresh + fold
        lines.append(
            f"| the same plus its deferred share of the fold (p50 per delta, folds of "
            f"~{r['config'].fold_every} deltas) | {refresh:.2f} + {fold:.2f} = {total:.2f} ms "
            f"| {_verdict(total, REFRESH_TARGET_MS)} |"
        )
    return [
        *lines, "",
        "Absolute times depend on this machine and on whatever else ran on it (above); the "
        "refresh is timed inside the same submits it is compared with.", "",
    ]  # fmt: skip


def _build_fold_lines(build: dict, c: QualityConfig) -> list[str]:
    if not build["folds"]:
        return []
    per = build["fold_per_delta"]
    return [
        f"- while seeding, the waiting quality deltas were folded every {c.fold_every} items "
        f"({build['folds']} folds of {build['fold_deltas_mean']:.0f} deltas on average: "
        f"p50 {build['fold']['p50_ms']:.0f} ms per fold, {per['p50_ms']:.2f} ms per delta), "
        f"except the last {c.backlog:,} items', left for the background pass's first fold"
    ]


def _reward_lines(reward: dict) -> list[str]:
    series = reward["series"]
    return [
        f"- a reward model attached: all {reward['scores']:,} responses scored (hidden "
        f"quality plus N(0, {REWARD_NOISE})), and the {reward['assisted']:,} annotations of "
        f"{reward['annotators_assisted']} annotators (a third) marked assisted, in "
        f"{reward['seconds']:.0f} s; its agreement series (`reward_agreement_series`, part "
        f"of the dashboard series) alone takes {series['seconds']:.1f} s over "
        f"{series['pairs']:,} ordered pairs (agreement {series['rate']:.3f}; blind "
        f"{series['blind']:.3f}, assisted {series['assisted']:.3f}: the same simulated "
        "people, so the two should match)"
    ]


def _dataset_lines(r: dict) -> list[str]:
    c, sizes, t, build = r["config"], r["sizes"], r["timings"], r["build"]
    refresh = build["refresh"]
    return [
        "## Data set", "",
        f"- one rank-mode project, K={c.k}, overlap {c.overlap}; {sizes['annotations']:,} "
        f"annotations from {sizes['annotators']} annotators on {sizes['items_judged']:,} of "
        f"{sizes['items']:,} items; {sizes['skipped_assignments']:,} skipped assignments; "
        f"{sizes['review_pending']:,} annotations waiting for review",
        f"- stored aggregates: {sizes['item_stats_rows']:,} ItemStats rows, "
        f"{sizes['annotator_stats_rows']} AnnotatorStats rows, {sizes['pair_rows']:,} "
        f"AnnotatorPairStats rows, {sizes['shard_rows']} ProjectStatsShard rows; database "
        f"{sizes['database_mb']:,} MiB",
        f"- judgements: hidden quality per response (model effect {MODEL_EFFECT} by source "
        "position, plus N(0,1)), each annotator adds their own noise (sd 0.3-1.2); "
        f"{c.position_biased} annotators always rank the first-shown response top, "
        f"{c.fast_random} click at random in ~5 s, a quarter lean to longer responses; "
        f"{TIE_SHARE:.0%} tie two responses; times lognormal around a per-annotator median "
        f"(~40 s); created_at spread over {c.days:g} days in item order",
        f"- seeding took {t['total_s']:.0f} s: items through `benchmarks/seed.py` "
        f"{t['items_s']:.0f} s, COPY of assignments and annotations {t['copy_s']:.0f} s, "
        f"`item_quality_refresh` for every judged item {t['aggregates_s']:.0f} s (one "
        "process, each item in its own transaction with its row locked; per call p50 "
        f"{refresh['p50_ms']:.2f} ms, p95 {refresh['p95_ms']:.2f} ms, all {c.overlap} "
        f"judgements at once), then one background pass {r['background']['seconds']:.0f} s",
        *_build_fold_lines(build, c),
        *_reward_lines(r["reward"]), "",
        "## Background pass (`project_quality_refresh`), first after seeding", "",
        *_background_lines(r["background"], r["next_pass"]), "",
    ]  # fmt: skip


def _measured_lines(r: dict) -> list[str]:
    c, s = r["config"], r["submits"]
    return [
        "## Pages", "",
        f"Django's test client, in-process (no network, no gunicorn), DEBUG=0, one request at "
        f"a time: {c.warmup} untimed then {c.requests} timed requests per page. SQL statements "
        "(BEGIN/COMMIT included, as `CaptureQueriesContext` counts them) and their summed "
        "execution time come from one extra request.", "",
        *_pages_lines(r["pages"]["pages"]), "",
        "## Incremental cost per submitted annotation", "",
        f"{s['submit']['n']} claim -> submit cycles through `assignment_claim` and "
        f"`annotation_submit` (after {c.submit_warmup} untimed) on fresh items of the seeded "
        f"project, {ROTATION} annotators taking turns so every item gets its 1st, 2nd and 3rd "
        "judgement in a row. `item_quality_refresh` is timed inside each submit (its name in "
        "`annotation.quality.receivers`, whose receiver of `annotation_submitted` calls it in "
        "the submit's transaction, wrapped by this script only); submit times include the "
        "transaction's COMMIT.", "",
        *_submit_lines(s), "",
        f"Side by side: the refresh is {s['refresh_share_p50']:.0%} of a submit (median of "
        f"per-submit ratios; {s['refresh_share_total']:.0%} of all submit time). Of the "
        f"refresh, executing SQL took p50 {s['refresh_sql']['p50_ms']:.2f} ms; the rest is "
        "Python (ORM and metrics).", "",
        *_fold_lines(r),
        "SQL of one refresh, the submit that brought an item to its last judgement:", "",
        "```sql", *s["refresh_sql_text"], "```", "",
    ]  # fmt: skip


def _where_lines(r: dict) -> list[str]:
    s, pages = r["submits"], r["pages"]["pages"]
    lines = [
        "## Where the time goes", "",
        *_profile_lines(
            f"`item_quality_refresh` under cProfile, {s['profile']['calls']} submits (own time "
            "by layer, then PrefLab's functions by cumulative time):", s["profile"]),
        *_profile_lines(
            f"The default dashboard under cProfile, {r['pages']['profile']['calls']} requests:",
            r["pages"]["profile"]),
        "Slowest SQL statement of each page, with its plan:", "",
    ]  # fmt: skip
    for name, p in pages.items():
        lines += [f"### {name}: {p['slowest_sql_ms']:.1f} ms", "", "```sql", p["slowest_sql"]]
        lines += ["```", "", "```", p["slowest_plan"], "```", ""]
    return lines


def report_markdown(r: dict) -> str:
    lines = [
        f"# Quality dashboard at {r['sizes']['annotations']:,} annotations", "",
        f"Date: {r['date']}", "", "```", r["command"], "```", "",
        *machine_markdown(r["machine"]),
        _cpu_line("the pages", r["cpu"]["pages"]), _cpu_line("the submits", r["cpu"]["submits"]),
        "", *_targets_lines(r), *_dataset_lines(r), *_measured_lines(r), *_where_lines(r),
        "## Checks", "", "| check | stored | expected | result |", "|---|---:|---:|---|",
    ]  # fmt: skip
    for ch in r["checks"]:
        ok = "pass" if ch["ok"] else "**FAIL**"
        lines.append(f"| {ch['check']} | {ch['stored']:,} | {ch['expected']:,} | {ok} |")
    return "\n".join([*lines, ""])


def report_json(r: dict) -> dict:
    plain = jsonable(r)
    pages = r["pages"]["pages"]
    plain["targets"] = {
        "page_p95_ms_below": PAGE_TARGET_MS,
        "pages_met": all(p["p95_ms"] < PAGE_TARGET_MS for p in pages.values()),
        "refresh_p95_ms_below": REFRESH_TARGET_MS,
        "refresh_met": r["submits"]["refresh"]["p95_ms"] < REFRESH_TARGET_MS,
    }
    if r["build"]["folds"]:
        total = r["submits"]["refresh"]["p95_ms"] + r["build"]["fold_per_delta"]["p50_ms"]
        plain["targets"]["refresh_plus_fold_ms"] = total
        plain["targets"]["refresh_plus_fold_met"] = total < REFRESH_TARGET_MS
    return plain


# --- main ---------------------------------------------------------------------------------


def dashboard_after_burst(client) -> dict:
    """One dashboard view with the burst's deltas still waiting: it folds them first."""
    pending = pending_deltas()
    seconds, _ = _get(client, DASHBOARD)
    return {"pending_deltas": pending, "ms": seconds * 1000}


def measure(config: QualityConfig) -> dict:
    from benchmarks.cpu import cpu_snapshot, cpu_used

    seeded = seed(config)
    project_id = seeded["project"].pk
    folds = {"after_seeding": fold_now(project_id)}  # normally nothing left by the pass
    clients = clients_login(seeded)
    say("timing pages")
    before = cpu_snapshot()
    pages = pages_measure(clients, config)
    middle = cpu_snapshot()
    say(f"timing {config.submits} claim -> submit cycles")
    burst = functools.partial(dashboard_after_burst, clients["manager"])
    submits = submits_summary(submits_measure(seeded, config, burst))
    after = cpu_snapshot()
    say(f"refresh inside submit: p50 {submits['refresh']['p50_ms']:.2f} ms")
    folds["after_submits"] = fold_now(project_id)
    return {
        "timings": seeded["timings"],
        "background": seeded["background"],
        "build": seeded["build"],
        "reward": seeded["reward"],
        "folds": folds,
        "pages": pages,
        "submits": submits,
        "cpu": {"pages": cpu_used(before, middle), "submits": cpu_used(middle, after)},
        "next_pass": next_pass_estimate(seeded["project"]),
        "sizes": {name: _scalar(sql) for name, sql in SIZES.items()},
        "checks": checks_run(),
    }


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    command = shlex.join([os.path.relpath(sys.executable, ROOT), *sys.argv])
    server = PgServer.from_url(config.postgres)
    facts = machine_facts(postgres_version=server_version(server))
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with tempfile.TemporaryDirectory(prefix="preflab-quality-") as data_dir:
        env = app_env(
            database_url=server.url(config.database), data_dir=data_dir, redis_url=config.redis_url
        )
        # Submits queue a background refresh (at most one per 30 s); an in-process broker
        # drops it at exit instead of leaving it in Redis for some worker to find.
        env["CELERY_BROKER_URL"] = "memory://localhost/"
        database_recreate(server, config.database)
        try:
            manage("migrate", "--noinput", env=env)
            django_boot(env)
            measured = measure(config)
        finally:
            from django.db import connections

            connections.close_all()
            if not config.keep_database:
                database_drop(server, config.database)
    results = {"date": date, "command": command, "config": config, "machine": facts, **measured}
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text(report_markdown(results))
    config.json.write_text(json.dumps(report_json(results), indent=2) + "\n")
    say(f"wrote {config.out} and {config.json}")
    return 0 if all(check["ok"] for check in measured["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
