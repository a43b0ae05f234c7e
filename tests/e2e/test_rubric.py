"""Rubric scoring from the keyboard: a dimension's key, then digits per response."""

import pytest
from playwright.sync_api import expect

from annotation.models import Annotation
from projects.labels.services import rating_dimension_save
from projects.models import Role
from tests.e2e.ranking_page import RankingPage
from tests.factories import add_member, make_items, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_rank_and_score_two_dimensions_by_keyboard(page, live_server, log_in, page_errors):
    # given a K=2 rank project with two rubric dimensions
    project = make_project(slug="rubric", responses_per_item=2, ties_allowed=False)
    helpful = rating_dimension_save(project=project, name="helpful", scale=7, hotkey="h")
    harmless = rating_dimension_save(project=project, name="harmless", scale=3, hotkey="x")
    make_items(project, 3)
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    log_in("ann")
    page.goto(f"{live_server.url}/p/rubric/annotate/")
    screen = RankingPage(page)
    screen.ready()
    ids = screen.response_ids()

    # when the annotator ranks, then tries to submit without the rubric
    screen.press("1", "2", "Enter")
    expect(screen.error).to_contain_text("Score every response on the rubric")
    # and scores helpful 6 and 2, harmless 3 and 1, back to ranking with Esc
    screen.press("h")
    expect(screen.form.locator("[data-rubric-mode]")).to_contain_text("Scoring helpful (1–7)")
    screen.press("ArrowUp", "6", "2", "x", "ArrowUp", "3", "1", "Escape")
    expect(screen.form.locator("[data-rubric-mode]")).to_contain_text("press a dimension's key")
    sent = screen.send()

    # then the ranking and the rubric are stored as entered
    assert page_errors == []
    annotation = Annotation.objects.get(user=annotator, assignment_id=sent)
    assert annotation.ranking == [[ids["A"]], [ids["B"]]]
    assert annotation.rubric_scores == {
        str(helpful.pk): {str(ids["A"]): 6, str(ids["B"]): 2},
        str(harmless.pk): {str(ids["A"]): 3, str(ids["B"]): 1},
    }
