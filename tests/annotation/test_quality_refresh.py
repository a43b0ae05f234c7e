"""The background quality pass: speed, skips, cycles, weights, and the dashboard series."""

import os
import threading

import pytest
from django.db import connection

from annotation.models import Annotation, Item, ItemResponse, Prompt, Response
from annotation.quality.models import AnnotatorStats, ProjectQualitySummary, QualityAlert
from annotation.quality.services.refresh import project_quality_refresh
from annotation.services.claiming import assignment_claim, assignment_skip
from annotation.services.submission import annotation_submit
from common.pass_lock import pass_lock
from projects.models import Role
from tests.annotation.quality_helpers import annotate_all, by_id, first_shown_first
from tests.factories import add_member, make_items, make_project


def test_speed_skips_and_weight(db):
    # given a careful annotator (20 s per item) and a hasty one (1 s) who skips a lot
    project = make_project(slug="speed", responses_per_item=2, overlap=2, review_rate=0.0)
    make_items(project, 30)
    careful = add_member(project, Role.ANNOTATOR, "careful")
    hasty = add_member(project, Role.ANNOTATOR, "hasty")
    annotate_all(project, careful, by_id, payload_extra={"time_spent_ms": 20_000})
    for _ in range(10):
        lease = assignment_claim(user=hasty, project=project)
        assignment_skip(assignment_id=lease.pk, user=hasty)
    annotate_all(project, hasty, first_shown_first, payload_extra={"time_spent_ms": 1_000})

    # when the background pass runs
    project_quality_refresh(project_id=project.pk)

    # then the hasty one is flagged, alerted, and weighs less
    fast = AnnotatorStats.objects.get(project=project, user=hasty)
    slow = AnnotatorStats.objects.get(project=project, user=careful)
    assert (fast.median_time_ms, slow.median_time_ms) == (1_000, 20_000)
    assert fast.speed_flag and not slow.speed_flag
    assert fast.skips == 10 and fast.skip_rate == pytest.approx(10 / 30)
    assert slow.skip_rate == 0
    assert fast.weight < slow.weight
    assert QualityAlert.objects.filter(user=hasty, kind="speed", resolved_at=None).exists()
    assert [entry["n"] for entry in slow.trend] == [30]


def _items_on_one_prompt(project, pairs):
    """Pairwise items on one prompt, one per (x, y) pair of named responses."""
    prompt = Prompt.objects.create(project=project, messages=[{"role": "user", "content": "Q?"}])
    responses = {name: Response.objects.create(prompt=prompt, text=name) for name in "abc"}
    for x, y in pairs:
        item = Item.objects.create(project=project, prompt=prompt, open_slots=project.overlap)
        ItemResponse.objects.create(item=item, response=responses[x], position=0)
        ItemResponse.objects.create(item=item, response=responses[y], position=1)
    return responses


def test_preference_cycles_across_items_sharing_responses(db):
    # given three pairwise items over a, b, c of one prompt
    project = make_project(
        slug="cycles", ranking_mode="pairwise", pairwise_strength=False, review_rate=0.0
    )
    responses = _items_on_one_prompt(project, [("a", "b"), ("b", "c"), ("c", "a")])
    fickle = add_member(project, Role.ANNOTATOR, "fickle")
    prefer = {frozenset("ab"): "a", frozenset("bc"): "b", frozenset("ca"): "c"}  # a>b>c>a
    names = {r.pk: n for n, r in responses.items()}

    # when the annotator chooses a > b, b > c and c > a
    for _ in range(3):
        lease = assignment_claim(user=fickle, project=project)
        pair = frozenset(names[r] for r in lease.display_order)
        annotation_submit(
            assignment_id=lease.pk, user=fickle, payload={"choice": responses[prefer[pair]].pk}
        )
    project_quality_refresh(project_id=project.pk)

    # then the one decided triad is a cycle
    stats = AnnotatorStats.objects.get(project=project, user=fickle)
    assert (stats.cyclic_triads, stats.complete_triads, stats.cycle_rate) == (1, 1, 1.0)


def test_summary_has_progress_throughput_agreement_and_win_rates(db):
    # given model m1 always ranked first by two annotators, on 10 items of K=2
    project = make_project(slug="summary", responses_per_item=2, overlap=2, review_rate=0.0)
    make_items(project, 12)
    model_of = dict(Response.objects.values_list("pk", "model_name"))
    m0_first = lambda display: [[r] for r in sorted(display, key=lambda r: model_of[r])]  # noqa: E731
    for name in ("s1", "s2"):
        annotate_all(project, add_member(project, Role.ANNOTATOR, name), m0_first, limit=10)

    summary = project_quality_refresh(project_id=project.pk) and ProjectQualitySummary.objects.get(
        project=project
    )

    series = summary.series
    assert series["annotations"] == [20]
    assert series["agreement"] == [1.0]
    assert sum(n for _, n in series["agreement_bins"]) == 10
    assert series["rounds"] == [{"round": 1, "complete": 10, "in_progress": 0, "open": 2}]
    best, worst = series["wins"]
    assert (best["model"], best["rate"], best["games"]) == ("m0", 1.0, 20)
    assert 0.8 < best["low"] < 1.0 and best["high"] == 1.0
    assert (worst["model"], worst["rate"]) == ("m1", 0.0)
    assert Annotation.objects.count() == 20


def _hold_in_another_thread(name: str, entered, release) -> threading.Thread:
    """Hold ``pass_lock(name)`` from another thread (another database connection, as a
    second worker would) until ``release`` is set."""

    def hold() -> None:
        try:
            with pass_lock(name) as held:
                assert held
                entered.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert entered.wait(10)
    return thread


def test_a_second_pass_over_a_project_skips_while_one_runs(db):
    # given a project with judgements, whose pass lock another worker holds
    project = make_project(slug="locked", responses_per_item=2, overlap=2, review_rate=0.0)
    make_items(project, 3)
    annotate_all(project, add_member(project, Role.ANNOTATOR, "ann"), by_id)
    entered, release = threading.Event(), threading.Event()
    thread = _hold_in_another_thread(f"quality-refresh:{project.pk}", entered, release)
    try:
        # when a pass starts, it does nothing and says so
        assert project_quality_refresh(project_id=project.pk)["skipped"] is True
        assert not ProjectQualitySummary.objects.filter(project=project).exists()
        # and another project's pass is not held up
        other = make_project(slug="free", responses_per_item=2, overlap=2)
        assert "skipped" not in project_quality_refresh(project_id=other.pk)
    finally:
        release.set()
        thread.join()
    # then once the holder is done, the next pass runs
    outcome = project_quality_refresh(project_id=project.pk)
    assert "skipped" not in outcome and outcome["annotators"] == 1
    assert ProjectQualitySummary.objects.filter(project=project).exists()


def test_a_killed_holder_releases_the_pass_lock(db):
    """Whatever the database, a worker killed while holding the lock does not keep it."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import _test_database_url

    script = (
        "import django, sys, time; django.setup()\n"
        "from common.pass_lock import pass_lock\n"
        "with pass_lock('quality-refresh:killed') as held:\n"
        "    print('held' if held else 'busy', flush=True); time.sleep(60)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = _test_database_url()
    holder = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pass_lock("quality-refresh:killed") as held:
            assert not held  # the other process has it
    finally:
        holder.kill()
        holder.wait(timeout=10)
    with pass_lock("quality-refresh:killed") as held:
        assert held  # released with the killed process
