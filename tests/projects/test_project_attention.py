"""The project page opens with what needs the user: items waiting for their review, failed
and unfinished runs; an annotator with nothing to do sees that said."""

import re

import pytest

from annotation.quality.models import AlertKind, QualityAlert
from common.jobs import JobState
from projects.models import Role
from tests.annotation.quality_helpers import annotate_all, by_id
from tests.factories import add_member, make_items, make_project
from training.runs.models import TrainingRun

pytestmark = pytest.mark.django_db


def _attention(html: str) -> str:
    return html[html.index("data-attention") : html.index('<div class="stats"')]


def test_a_manager_sees_reviews_waiting_and_failed_or_running_runs(client):
    # given a project whose annotations all go to review, and a failed and a running run
    project = make_project(slug="att", responses_per_item=2, review_rate=1.0)
    make_items(project, 3)
    annotate_all(project, add_member(project, Role.ANNOTATOR, "ann"), by_id)
    TrainingRun.objects.create(project=project, kind="reward", state=JobState.FAILED,
                               error="CUDA out of memory")  # fmt: skip
    TrainingRun.objects.create(project=project, kind="reward", state=JobState.SUCCEEDED)
    TrainingRun.objects.create(project=project, kind="reward", state=JobState.RUNNING,
                               step=3, total_steps=10)  # fmt: skip
    QualityAlert.objects.create(project=project, user=project.created_by, kind=AlertKind.GOLD_LOW,
                                message="gold score 0.40 below 0.70")  # fmt: skip
    client.force_login(project.created_by)

    # when the manager opens the project page
    attention = _attention(client.get("/p/att/").content.decode())

    # then the review queue, the alert and the two runs are listed, the finished run is not
    assert "gold score 0.40 below 0.70" in attention
    assert re.search(r"<strong>3</strong> items wait for your review", attention)
    assert attention.count("data-run-attention") == 2
    assert "CUDA out of memory" in attention and "step 3 of 10" in attention


def test_an_annotator_with_nothing_waiting_sees_nothing_listed(client):
    # given an annotator who acknowledged the guidelines, in a project with items to do
    project = make_project(slug="calm", responses_per_item=2, guidelines=False)
    make_items(project, 2)
    client.force_login(add_member(project, Role.ANNOTATOR, "ann"))

    # when they open the project page
    attention = _attention(client.get("/p/calm/").content.decode())

    # then nothing is listed, runs and reviews are not theirs to see, and the page says so
    assert "<li" not in attention and "data-run-attention" not in attention
    assert "Nothing needs your attention now." in attention
