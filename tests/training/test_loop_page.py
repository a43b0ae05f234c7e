"""The loop page's rounds table: a Cancel answers at once with the row it left."""

import pytest
from django.utils import timezone

from common.jobs import JobState
from projects.models import Role
from tests.factories import add_member, make_project
from training.loop.models import GenerationJob, Generator, Round


@pytest.fixture
def generating(db):
    """Round 2 of a project, its generation job running (a command runs it: no Celery task,
    so a cancel asks the runner to stop rather than stopping it there and then)."""
    project = make_project(slug="loop-page", responses_per_item=2)
    engineer = add_member(project, Role.ENGINEER, "eng")
    generator = Generator.objects.create(project=project, name="g", kind="local", model_path="/m")
    loop_round = Round.objects.create(project=project, number=2, prompt_source="new")
    job = GenerationJob.objects.create(
        project=project, round=loop_round, item_round=2, prompt_ids=[1, 2, 3, 4],
        state=JobState.RUNNING, heartbeat_at=timezone.now(),
    )  # fmt: skip
    job.generators.set([generator])
    return project, engineer, job


def test_a_cancel_from_the_table_answers_with_the_row_cancelling(generating, client):
    # given the engineer on the loop page, the round generating
    project, engineer, job = generating
    client.force_login(engineer)
    url = f"/p/{project.slug}/loop/jobs/{job.pk}/cancel/"
    before = client.get(f"/p/{project.slug}/loop/").content.decode()
    assert f'hx-post="{url}"' in before and 'hx-target="#rounds"' in before

    # when they press Cancel (htmx posts the form)
    answer = client.post(url, headers={"HX-Request": "true"})

    # then the answer is the rounds table, the row saying Cancelling… with no Cancel left
    assert answer.status_code == 200
    row = answer.content.decode().split('data-round="2"')[1].split("</tr>")[0]
    assert answer.content.decode().startswith('<div id="rounds"')
    assert 'data-state="cancelling"' in row and "Cancelling…" in row
    assert ">Cancel</button>" not in row
    job.refresh_from_db()
    assert job.cancel_requested and job.state == JobState.RUNNING


def test_without_htmx_the_cancel_returns_to_the_page_showing_cancelling(generating, client):
    project, engineer, job = generating
    client.force_login(engineer)
    page = client.post(f"/p/{project.slug}/loop/jobs/{job.pk}/cancel/", follow=True)
    row = page.content.decode().split('data-round="2"')[1].split("</tr>")[0]
    assert "Cancelling…" in row and ">Cancel</button>" not in row
