"""Every manager and engineer page, at a desktop and a phone width: no sideways scrolling of
the page, no accessibility violation of serious or critical impact (axe-core), and a
full-page screenshot of each for a look by eye (issue 21).

The project is built once for the module and served by the module's own live server: the
pages only read it, and building it for each of the ~45 tests would double the runtime
(pytest-django's ``live_server`` makes every test transactional, emptying the database after
each). The module empties the database when it is done, as a transactional test would.

The screenshots go to ``PREFLAB_SCREENSHOT_DIR`` (default: ``preflab-screenshots`` under the
system's temporary folder), outside the repository, so CI can keep them as an artifact.
axe-core is vendored for the tests only (tests/e2e/vendor/README.md); it is injected as an
init script, which the page's Content-Security-Policy does not apply to, so the pages are
checked under their real policy.
"""

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from annotation.importing.models import ImportJob
from annotation.models import Item
from common.jobs import JobState
from projects.models import Guideline
from tests.walk_worlds import STATES, World
from training.datasets.models import DatasetSnapshot
from training.runs.models import ModelArtifact, RunMetric, TrainingRun

# django_db: pytest-django creates the test database only for a session with marked tests.
# Each test's transaction is rolled back after it; the pages read the committed world
# through the live server's own connection.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# A laptop, a phone and a wide desktop screen: width -> height.
SCREENS = {1366: 768, 390: 844, 1920: 1080}
BLOCKING = ("serious", "critical")
SLUG = "quality"


def _screenshot_dir() -> Path:
    default = Path(tempfile.gettempdir()) / "preflab-screenshots"
    folder = Path(os.environ.get("PREFLAB_SCREENSHOT_DIR") or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- the world: one project with every kind of row a manager or engineer page shows -----


def _training_row(step: int) -> dict:
    """What the trainer logs at a step of 60: a noisy falling loss, a decaying rate."""
    noise = 0.015 * ((step * 7) % 5 - 2)
    return {
        "step": step,
        "loss": 0.69 - 0.28 * step / 60 + noise,
        "accuracy": 0.5 + 0.24 * step / 60,
        "lr": 2e-5 * (1 - step / 60),
    }


def _finished_run(world: World) -> TrainingRun:
    """A reward run as a real one ends: curves over many steps, a held-out evaluation with
    calibration and margins, and the model it produced."""
    project = world.project
    snapshot = DatasetSnapshot.objects.filter(project=project, state="succeeded").first()
    run = TrainingRun.objects.create(
        project=project, kind="reward", name="rm-lora-2e-5", snapshot=snapshot,
        state=JobState.SUCCEEDED, step=60, total_steps=60, base_model="Qwen/Qwen2.5-0.5B",
        hyperparameters={"loss": "kwise", "lr": 2e-5, "strategy": "lora", "epochs": 2},
        summary={"eval": {
            "pairwise_accuracy": 0.74, "n_pairs": 120, "ece": 0.06,
            "calibration": [{"predicted": p / 10, "observed": p / 10 + 0.03, "pairs": 12}
                            for p in range(5, 10)],
            "margin_histogram": [{"from": m / 2, "to": m / 2 + 0.5, "count": 20 - 3 * m}
                                 for m in range(6)],
        }},
        log_tail="step 60/60 loss 0.41\nsaved the model",
        created_by=world.people["engineer"],
    )  # fmt: skip
    RunMetric.objects.bulk_create(
        RunMetric(run=run, step=step, values=_training_row(step)) for step in range(1, 61)
    )
    ModelArtifact.objects.create(
        project=project, kind="reward", name="rm-lora-2e-5", path="/nonexistent/rm-lora",
        snapshot=snapshot, run=run, base_model=run.base_model,
        metrics={"pairwise_accuracy": 0.74},
    )  # fmt: skip
    return run


def _world() -> tuple[World, dict[str, str]]:
    """The fullest project of the route walk, plus a finished run; the ids pages need."""
    world = STATES["annotated"](SLUG)
    run = _finished_run(world)
    project = world.project
    first_run = TrainingRun.objects.filter(project=project).order_by("pk").first()
    snapshot = DatasetSnapshot.objects.filter(project=project, state="succeeded").first()
    reviewed = Item.objects.filter(project=project, annotations__isnull=False).order_by("pk")
    ids = {
        "run": run.pk,
        "other_run": first_run.pk,
        "snapshot": snapshot.number,
        "item": reviewed.values_list("pk", flat=True).first(),
        "import": ImportJob.objects.filter(project=project).values_list("pk", flat=True)[0],
        "version": Guideline.objects.filter(project=project).order_by("-version")[0].version,
    }
    return world, ids


P = f"/p/{SLUG}"
# page id -> (the role that uses it, its path from the world's ids)
PAGES: dict[str, tuple[str, Callable[[dict], str]]] = {
    "project-list": ("manager", lambda ids: "/"),
    "project-new": ("manager", lambda ids: "/projects/new/"),
    "project": ("manager", lambda ids: f"{P}/"),
    "settings": ("manager", lambda ids: f"{P}/settings/"),
    "members": ("manager", lambda ids: f"{P}/members/"),
    "labels": ("manager", lambda ids: f"{P}/labels/"),
    "guidelines": ("manager", lambda ids: f"{P}/guidelines/"),
    "guidelines-edit": ("manager", lambda ids: f"{P}/guidelines/edit/"),
    "guidelines-version": ("manager", lambda ids: f"{P}/guidelines/v{ids['version']}/"),
    "imports": ("manager", lambda ids: f"{P}/imports/"),
    "import": ("manager", lambda ids: f"{P}/imports/{ids['import']}/"),
    "batches": ("manager", lambda ids: f"{P}/batches/"),
    "quality": ("manager", lambda ids: f"{P}/quality/"),
    "review-queue": ("manager", lambda ids: f"{P}/review/"),
    "review-item": ("manager", lambda ids: f"{P}/review/items/{ids['item']}/"),
    "written-prompts": ("manager", lambda ids: f"{P}/prompts/"),
    "snapshots": ("engineer", lambda ids: f"{P}/snapshots/"),
    "snapshot": ("engineer", lambda ids: f"{P}/snapshots/{ids['snapshot']}/"),
    "runs": ("engineer", lambda ids: f"{P}/runs/"),
    "run": ("engineer", lambda ids: f"{P}/runs/{ids['run']}/"),
    "run-compare": (
        "engineer",
        lambda ids: f"{P}/runs/compare/?run={ids['run']}&run={ids['other_run']}",
    ),
    "loop": ("engineer", lambda ids: f"{P}/loop/"),
}


# --- looking at a page -----------------------------------------------------------------


@dataclass
class Site:
    """The live server's address, the ids its pages are opened with, and who can log in."""

    url: str
    ids: dict[str, object]
    sessions: dict[str, str]  # role -> session cookie value


def _session(user) -> str:
    """A session made on the server for the browser: the login form has its own tests."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    """The fullest project, committed, and a live server showing it, for the whole module."""
    with django_db_blocker.unblock():
        server = LiveServer("localhost")
        server._live_server_modified_settings.enable()
        try:
            world, ids = _world()
            sessions = {role: _session(world.people[role]) for role in ("manager", "engineer")}
            yield Site(server.url, ids, sessions)
        finally:
            server._live_server_modified_settings.disable()
            server.stop()
            call_command("flush", interactive=False, verbosity=0)


def _log_in(page: Page, site: Site, role: str) -> None:
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": site.sessions[role], "url": site.url}
    page.context.add_cookies([cookie])


def _open(page: Page, url: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": SCREENS[width]})
    page.add_init_script(path=str(AXE))
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"
    page.wait_for_load_state("networkidle")


# Elements whose right edge is past the viewport and which no ancestor scrolls or clips
# sideways: what makes the page itself scroll. Widest first.
_STICKING_OUT = """() => {
    const edge = window.innerWidth;
    const held = (e) => {
        for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
            if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)) {
                return true;
            }
        }
        return false;
    };
    const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + Array.from(e.classList).map((c) => '.' + c).join('');
    const path = (e) => {
        const parts = [];
        for (let a = e; a && a !== document.body && parts.length < 4; a = a.parentElement) {
            parts.unshift(name(a));
        }
        return parts.join(' > ');
    };
    return Array.from(document.body.querySelectorAll('*'))
        .map((e) => [e, e.getBoundingClientRect()])
        .filter(([e, r]) => r.right > edge + 1 && r.width > 0 && !held(e))
        .sort((a, b) => b[1].width - a[1].width)
        .slice(0, 3)
        .map(([e, r]) => `${path(e)} (${Math.round(r.width)} px wide, right edge at `
            + `${Math.round(r.right)} px): "${(e.textContent || '').trim().slice(0, 60)}"`);
}"""


def _overflow(page: Page) -> str | None:
    """None if the page fits the viewport's width; else how wide it is and what sticks out."""
    wide, edge = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if wide <= edge:
        return None
    culprits = page.evaluate(_STICKING_OUT)
    return f"the page is {wide} px wide in a {edge} px viewport; widest first:\n  " + (
        "\n  ".join(culprits) or "(no single element found)"
    )


def _violations(page: Page) -> list[str]:
    """axe-core's violations of serious or critical impact: rule, help, first targets."""
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} [{len(v['nodes'])} nodes] at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in found
        if v["impact"] in BLOCKING
    ]


# --- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize("width", list(SCREENS))
@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_fits_the_screen_and_passes_axe(page: Page, site: Site, name, width):
    # given the fullest project, and the member whose work the page is
    role, path = PAGES[name]
    _log_in(page, site, role)
    # when they open it at this width
    _open(page, site.url + path(site.ids), width)
    page.screenshot(path=str(_screenshot_dir() / f"{name}-{width}.png"), full_page=True)
    # then the page does not scroll sideways, and axe finds nothing serious
    problems = []
    if too_wide := _overflow(page):
        problems.append(f"horizontal overflow: {too_wide}")
    if violations := _violations(page):
        problems.append("accessibility:\n  " + "\n  ".join(violations))
    assert not problems, f"{path(site.ids)} at {width} px:\n" + "\n".join(problems)


def test_the_runs_page_shows_the_launch_choice_on_its_first_screen(page: Page, site: Site):
    # given an engineer on a project with runs already
    _log_in(page, site, "engineer")
    # when they open the runs page on a 1366 x 768 screen
    _open(page, f"{site.url}{P}/runs/", 1366)
    # then the choice of which kind of run to launch starts within that first screen
    choice = page.locator("[data-launch-choice]").first
    assert choice.count() == 1, "the runs page marks no launch choice (data-launch-choice)"
    box = choice.bounding_box()
    assert box is not None, "the launch choice is not displayed"
    assert 0 <= box["y"] < SCREENS[1366], f"the launch choice starts at {box['y']:.0f} px"
