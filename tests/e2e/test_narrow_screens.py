"""Phones: every main page of every role fits a 390 px wide screen (no sideways scrolling;
wide tables scroll inside their card), and the dashboard's tables fit a desktop.

Set PREFLAB_SCREENSHOTS to a folder to keep a screenshot of each page for a look by eye.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from annotation.quality.selectors.review import next_review_item_id
from annotation.quality.services.refresh import project_quality_refresh
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from common.jobs import JobState
from projects.labels.services import tag_label_save
from projects.models import Project, Role
from tests.annotation.quality_helpers import annotate_all, by_id, first_shown_first
from tests.factories import PASSWORD, add_member, make_items, make_project
from training.datasets.services.snapshots import snapshot_create, snapshot_export
from training.runs.models import TrainingRun

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# Text that cannot wrap at a space: a long link, a long word, a path.
UNBROKEN = "https://example.com/" + "a-very-long-path-segment" * 8
LOG = "\x1b[32mINFO\x1b[0m " + "x" * 3000 + "\n" + ("step 1/10 loss 0.69 " * 200)


def _texts(n: int, j: int) -> str:
    return f"Answer {j} to question {n}. See {UNBROKEN} for more." if j == 0 else f"Answer {j}."


def _world() -> dict[str, list[str]]:
    """A project with work in every state and a member of each role; role -> page paths."""
    project = make_project(slug="phone", responses_per_item=3, overlap=2, review_rate=1.0)
    make_project(slug="words", manager=project.created_by, prompt_writing=True,
                 response_source="queue", prompt_target=5)  # fmt: skip
    make_items(project, 12, texts=_texts)
    alice = add_member(project, Role.ANNOTATOR, "alice")
    bob = add_member(project, Role.ANNOTATOR, "bob")
    ann = add_member(project, Role.ANNOTATOR, "ann")
    add_member(Project.objects.get(slug="words"), Role.ANNOTATOR, "ann")
    add_member(project, Role.REVIEWER, "rev")
    engineer = add_member(project, Role.ENGINEER, "eng")
    label = tag_label_save(project=project, name="factual error", colour="#e11d48", hotkey="f")
    # ann tags a span in her first item; alice and bob rank, bob only half of the items
    lease = assignment_claim(user=ann, project=project)
    first = lease.display_order[0]
    mine, _ = annotation_submit(assignment_id=lease.pk, user=ann, payload={
        "ranking": [[rid] for rid in lease.display_order],
        "spans": [{"response": first, "start": 0, "end": 8, "label": label.pk}],
    })  # fmt: skip
    annotate_all(project, alice, by_id)
    annotate_all(project, bob, first_shown_first, limit=6)
    project_quality_refresh(project_id=project.pk)
    options = {"formats": ["listwise", "pairwise"], "file_types": ["jsonl"],
               "splits": {"train": 0.75, "test": 0.25}}  # fmt: skip
    snapshot, _ = snapshot_create(project=project, user=engineer, options=options, enqueue=False)
    snapshot = snapshot_export(snapshot_id=snapshot.pk)
    runs = [
        TrainingRun.objects.create(
            project=project,
            kind="reward",
            snapshot=snapshot,
            state=JobState.RUNNING,
            worker="embedded@vm",
            log_tail=LOG,
            step=3,
            total_steps=10,
            hyperparameters={"loss": "kwise", "lr": lr, "strategy": "lora", "epochs": 1},
        )  # fmt: skip
        for lr in (1e-5, 2e-5)
    ]
    p = "/p/phone"
    return {
        "ann": [
            "/",
            f"{p}/",
            f"{p}/annotate/",
            f"{p}/guidelines/",
            f"{p}/history/",
            f"{p}/history/{mine.pk}/",
            "/p/words/write/",
        ],  # fmt: skip
        "rev": [
            f"{p}/review/",
            f"{p}/review/items/{next_review_item_id(project=project, reviewer=_user('rev'))}/",
        ],
        project.created_by.username: [
            f"{p}/",
            f"{p}/quality/",
            f"{p}/settings/",
            f"{p}/members/",
            f"{p}/labels/",
            f"{p}/imports/",
            f"{p}/batches/",
            f"{p}/guidelines/edit/",
            f"{p}/prompts/",
        ],
        "eng": [
            f"{p}/snapshots/",
            f"{p}/snapshots/{snapshot.number}/",
            f"{p}/runs/",
            f"{p}/runs/{runs[0].pk}/",
            f"{p}/runs/compare/?run={runs[0].pk}&run={runs[1].pk}",
            f"{p}/loop/",
        ],
    }


def _user(username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def _log_in(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".usernav")).to_contain_text(username)


def _too_wide(page: Page, url: str, width: int, name: str) -> str | None:
    """Open url; None if it fits, else what sticks out."""
    page.goto(url)
    page.wait_for_load_state("load")
    shots = os.environ.get("PREFLAB_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{shots}/{name}.png", full_page=True)
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll <= width:
        return None
    culprits = page.evaluate(
        """(width) => Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right > width + 1)
            .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= width + 1)
            .slice(0, 4).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))""",
        width,
    )
    return f"{url}: {scroll} px wide ({', '.join(map(str, culprits))})"


def test_no_page_of_any_role_scrolls_sideways_on_a_phone(page, live_server, page_errors):
    # given a project with work in every state, and one member of each role
    pages = _world()
    page.set_viewport_size(PHONE)
    problems = []
    # when each opens their main pages on a 390 px screen (and the login page, logged out)
    problems.append(_too_wide(page, f"{live_server.url}/accounts/login/", 390, "login"))
    for username, paths in pages.items():
        _log_in(page, live_server.url, username)
        for path in paths:
            name = f"{username}{path}".strip("/").replace("/", "_").replace("?", "_")
            problems.append(_too_wide(page, live_server.url + path, 390, name))
    # then nothing is wider than the screen
    assert [p for p in problems if p] == [], "\n".join(p for p in problems if p)
    assert page_errors == []


def test_the_history_detail_highlights_span_tags_on_a_phone(page, live_server, page_errors):
    pages = _world()
    page.set_viewport_size(PHONE)
    _log_in(page, live_server.url, "ann")
    page.goto(live_server.url + pages["ann"][5])
    mark = page.locator("article.response mark.span-mark")
    expect(mark).to_have_count(1)
    expect(mark).to_have_text(re.compile(r"^Answer \d$"))  # text[0:8] of the tagged response
    expect(mark).to_have_attribute("title", "factual error")
    assert page_errors == []


def test_the_dashboard_and_the_run_page_fit_a_desktop(page, live_server, page_errors):
    pages = _world()
    page.set_viewport_size(DESKTOP)
    _log_in(page, live_server.url, Project.objects.get(slug="phone").created_by.username)
    assert _too_wide(page, f"{live_server.url}/p/phone/quality/", 1280, "desktop_quality") is None
    # the annotator table fits whole: no column cut off at its scrolling holder's edge
    holder = page.locator("[data-annotator-table]").locator("xpath=..")
    assert holder.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    _log_in(page, live_server.url, "eng")
    run_page = pages["eng"][3]
    assert _too_wide(page, live_server.url + run_page, 1280, "desktop_run") is None
    log = page.locator("#run-log")
    assert log.evaluate("e => e.scrollWidth <= e.clientWidth + 1")  # wrapped, not cut off
    expect(log).not_to_contain_text("\x1b")
    assert page_errors == []
