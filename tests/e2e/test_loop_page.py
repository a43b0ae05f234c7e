"""Start a round from the loop page, watch its progress bar move, cancel it.

The round's responses come from an OpenAI-compatible endpoint served in the test by a real
tiny model, slowed down per request so that a person (here: the browser) has time to see
the bar and press Cancel; a real Celery worker runs the job."""

import re

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Item, Prompt
from common.jobs import JobState
from projects.models import Role
from tests.conftest import WORKER_SKIP_REASON, start_celery_worker, worker_can_share_database
from tests.factories import add_member, make_items, make_project
from tests.training import endpoint_fixtures
from training.loop.models import GenerationJob
from training.loop.services.generators import generator_save

# The fixtures this module uses, by name.
slow_endpoint = endpoint_fixtures.slow_endpoint
warm_policy = endpoint_fixtures.warm_policy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PROMPTS = 64  # four chunks of 16


def test_start_a_round_watch_its_progress_and_cancel_it(
    page: Page,
    live_server,
    log_in,
    page_errors,
    slow_endpoint,
    tmp_path,
):
    if not worker_can_share_database():
        pytest.skip(WORKER_SKIP_REASON)
    project = make_project(slug="loop-e2e", responses_per_item=2)
    make_items(project, 2)
    engineer = add_member(project, Role.ENGINEER, "eng")
    Prompt.objects.bulk_create(
        Prompt(project=project, external_id=f"new{n}",
               messages=[{"role": "user", "content": f"Tell me about thing {n}."}])
        for n in range(PROMPTS)
    )  # fmt: skip
    generator_save(project=project, name="served <tiny>", kind="openai", base_url=slow_endpoint,
                   model_name="tiny-served", max_new_tokens=6, max_retries=1,
                   timeout_s=30)  # fmt: skip
    worker = start_celery_worker(tmp_path / "worker.log", queues="default")
    try:
        log_in(engineer.username)
        page.goto(f"{live_server.url}/p/{project.slug}/loop/")
        form = page.locator("#round-form")
        form.get_by_label("Prompt source").select_option("new")
        form.get_by_label(re.compile(r"^Prompts:?( \*)?$")).fill(str(PROMPTS))
        form.get_by_label("served <tiny>").check()  # the name is shown as text, escaped
        form.get_by_role("button", name="Start round 2").click()

        bar = page.get_by_label("generation of round 2")
        expect(bar).to_be_visible()
        # htmx re-reads the table every 2 s; the bar moves with every prompt answered. Past
        # 25 % the first chunk of 16 is answered, so a cancel keeps it whole.
        expect(bar).to_have_attribute("value", re.compile(r"^(2[5-9]|[3-9][0-9])$"),
                                      timeout=60_000)  # fmt: skip
        page.locator("tr[data-round='2']").get_by_role("button", name="Cancel").click()
        state = page.locator("tr[data-round='2'] [data-state]")
        expect(state).to_have_attribute("data-state", "cancelled", timeout=60_000)
        expect(page.locator("tr[data-round='2']")).to_contain_text("Cancelled")
    finally:
        worker.terminate()
        worker.wait(timeout=15)

    job = GenerationJob.objects.get(round__project=project)
    assert job.state == JobState.CANCELLED
    assert 16 <= job.prompts_done < PROMPTS
    round_items = Item.objects.filter(project=project, round=2)
    # Whole chunks only, every item with both responses: nothing half-written.
    assert round_items.count() == job.prompts_done
    assert all(item.responses.count() == 2 for item in round_items)
    assert {r.model_name for item in round_items for r in item.responses.all()} == {"tiny-served"}
    assert page_errors == []


def test_cancel_says_cancelling_at_once_without_leaving_the_page(
    page: Page, live_server, log_in, page_errors
):
    # given a round whose generation runs (a command runs it: the cancel asks it to stop)
    from django.utils import timezone

    from training.loop.models import Generator, Round

    project = make_project(slug="loop-cancel", responses_per_item=2)
    engineer = add_member(project, Role.ENGINEER, "eng")
    generator = Generator.objects.create(project=project, name="g", kind="local", model_path="/m")
    job = GenerationJob.objects.create(
        project=project, round=Round.objects.create(project=project, number=2, prompt_source="new"),
        item_round=2, prompt_ids=[1, 2, 3, 4], state=JobState.RUNNING, heartbeat_at=timezone.now(),
    )  # fmt: skip
    job.generators.set([generator])
    log_in(engineer.username)
    page.goto(f"{live_server.url}/p/{project.slug}/loop/")
    page.evaluate("window.sameDocument = true")  # gone if the click loads a new page
    row = page.locator("tr[data-round='2']")

    # when the engineer presses Cancel
    with page.expect_response(lambda r: r.url.endswith(f"/jobs/{job.pk}/cancel/")) as answer:
        row.get_by_role("button", name="Cancel").click()

    # then the row says Cancelling… from the POST's own answer, in the same document
    assert answer.value.request.headers.get("hx-request") == "true"
    expect(row.locator("[data-state='cancelling']")).to_have_text("Cancelling…")
    expect(row.get_by_role("button", name="Cancel")).to_have_count(0)
    assert page.evaluate("window.sameDocument") is True
    assert page_errors == []
