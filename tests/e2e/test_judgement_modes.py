"""Pairwise and rate projects driven from the keyboard, checked against what was stored."""

import pytest
from playwright.sync_api import expect

from annotation.models import Annotation
from projects.models import Role
from tests.e2e.ranking_page import RankingPage
from tests.factories import add_member, make_items, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_ranking_page(page, live_server, log_in, slug: str) -> RankingPage:
    log_in("ann")
    page.goto(f"{live_server.url}/p/{slug}/annotate/")
    screen = RankingPage(page)
    screen.ready()
    return screen


def test_pairwise_choice_and_strength_from_keys(page, live_server, log_in, page_errors):
    # given a pairwise project that asks how much better, with ties allowed
    project = make_project(
        slug="pair", ranking_mode="pairwise", responses_per_item=2, pairwise_strength=True
    )
    make_items(project, 4)
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    screen = open_ranking_page(page, live_server, log_in, "pair")
    entered = {}

    # when B is chosen without a strength, Enter refuses and nothing is sent
    ids = screen.response_ids()
    waiting = screen.assignment_id()
    screen.press("b", "Enter")
    expect(screen.error).to_have_text("Say how much better (1, 2 or 3).")
    expect(screen.form).to_have_attribute("data-assignment", str(waiting))
    assert not Annotation.objects.filter(user=annotator).exists()
    # then a strength completes it
    screen.press("3")
    expect(screen.summary).to_have_text("B is better (much)")
    entered[screen.send()] = ([[ids["B"]], [ids["A"]]], 3, False)
    # and A slightly better, then a tie that is also marked none acceptable
    ids = screen.response_ids()
    screen.press("a", "1")
    expect(screen.summary).to_have_text("A is better (slightly)")
    entered[screen.send()] = ([[ids["A"]], [ids["B"]]], 1, False)
    ids = screen.response_ids()
    screen.press("t", "n")
    expect(screen.summary).to_have_text("About the same")
    expect(screen.form.locator("[data-none]")).to_be_checked()
    entered[screen.send()] = ([[ids["A"], ids["B"]]], None, True)

    # then each judgement is stored once, as entered
    assert page_errors == []
    stored = {a.assignment_id: a for a in Annotation.objects.filter(user=annotator)}
    assert set(stored) == set(entered)
    for assignment_id, (tiers, strength, none_acceptable) in entered.items():
        annotation = stored[assignment_id]
        assert annotation.mode == "pairwise"
        assert [set(tier) for tier in annotation.ranking] == [set(tier) for tier in tiers]
        assert annotation.strength == strength
        assert annotation.none_acceptable is none_acceptable
        assert annotation.time_spent_ms > 0


def test_rate_scores_the_focused_response(page, live_server, log_in, page_errors):
    # given a rate project with a 1-5 scale and three responses per item
    project = make_project(slug="rate", ranking_mode="rate", responses_per_item=3, rating_scale=5)
    make_items(project, 3)
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    screen = open_ranking_page(page, live_server, log_in, "rate")
    entered = {}

    # when a digit beyond the scale is pressed it is ignored; valid digits score the
    # focused response and move on to the next unscored one
    ids = screen.response_ids()
    screen.press("7")
    expect(screen.card("A").locator("[data-badge]")).to_have_text("")
    screen.press("5", "2", "4")
    for letter, badge in [("A", "5/5"), ("B", "2/5"), ("C", "4/5")]:
        expect(screen.card(letter).locator("[data-badge]")).to_have_text(badge)
    entered[screen.send()] = {ids["A"]: 5, ids["B"]: 2, ids["C"]: 4}
    # and an incomplete item is refused until every response has a score
    ids = screen.response_ids()
    screen.press("3", "3", "Enter")
    expect(screen.error).to_have_text("Score every response; missing: C.")
    screen.press("1")
    entered[screen.send()] = {ids["A"]: 3, ids["B"]: 3, ids["C"]: 1}

    # then the scores, and the tiers derived from them, are stored as entered
    assert page_errors == []
    stored = {a.assignment_id: a for a in Annotation.objects.filter(user=annotator)}
    assert set(stored) == set(entered)
    for assignment_id, scores in entered.items():
        annotation = stored[assignment_id]
        assert annotation.mode == "rate"
        assert annotation.ratings == {str(rid): score for rid, score in scores.items()}
        by_score = sorted(set(scores.values()), reverse=True)
        tiers = [{rid for rid, s in scores.items() if s == score} for score in by_score]
        assert [set(tier) for tier in annotation.ranking] == tiers
        assert annotation.time_spent_ms > 0
