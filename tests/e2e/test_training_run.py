"""Launch a reward-model run from the page and watch its loss curve appear."""

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import WORKER_SKIP_REASON, start_celery_worker, worker_can_share_database
from tests.training.run_helpers import project_with_listwise_snapshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_launch_a_run_from_the_form_and_see_its_curve(page: Page, live_server, log_in, tmp_path):
    if not worker_can_share_database():
        pytest.skip(WORKER_SKIP_REASON)
    project, snapshot, engineer = project_with_listwise_snapshot()
    worker = start_celery_worker(tmp_path / "worker.log", queues="gpu")
    try:
        log_in(engineer.username)
        page.goto(f"{live_server.url}/p/{project.slug}/runs/")
        page.locator("[data-launch-choice] [data-kind=reward]").click()
        form = page.locator("#run-form")
        form.get_by_label("Snapshot").select_option(str(snapshot.pk))
        form.get_by_label("Name").fill("first <b>run</b>")
        form.get_by_label("Epochs").fill("1")
        form.get_by_label("Batch size").fill("6")
        form.get_by_label("Longest sequence (tokens)").fill("48")
        form.get_by_role("button", name="Launch").click()
        expect(page.locator("h1")).to_contain_text("first <b>run</b>")  # escaped, as text
        curve = page.locator("#run-curves figure.chart").first
        expect(curve.locator(".chart-plot canvas")).to_be_visible(timeout=120_000)
        expect(page.locator("[data-state]").first).to_have_attribute(
            "data-state", "succeeded", timeout=120_000
        )
        expect(page.locator("#run-evaluation")).to_contain_text("Pair accuracy")
    finally:
        worker.terminate()
        worker.wait(timeout=15)
