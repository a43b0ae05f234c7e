"""An annotator's whole session on a rank project, checked against what the database stored."""

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Annotation, Assignment, AssignmentState
from projects.models import Guideline, GuidelineAck, Role
from tests.e2e.ranking_page import RankingPage
from tests.factories import add_member, make_items, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@dataclass(frozen=True)
class Entered:
    """What the annotator did on one item: the order shown and the tiers, as response ids."""

    display_order: list[int]
    tiers: list[list[int]]


def summary_of(tiers: list[str]) -> str:
    """The page's summary line for tiers written as letters, e.g. ["AB", "C"] -> "A = B > C"."""
    return " > ".join(" = ".join(tier) for tier in tiers)


def rank_with_keys(screen: RankingPage, keys: list[str], tiers: list[str]) -> tuple[int, Entered]:
    """Press the keys on the item on screen, check the summary, submit with Enter."""
    ids = screen.response_ids()
    screen.press(*keys)
    expect(screen.summary).to_have_text(summary_of(tiers))
    sent = screen.send("Enter", "submit")
    return sent, Entered(list(ids.values()), [[ids[letter] for letter in t] for t in tiers])


def rank_by_dragging(screen: RankingPage) -> tuple[int, Entered]:
    """Order the chips by drag and drop only: C before A, then A after D -> C > B > D > A."""
    ids = screen.response_ids()
    chip = {letter: screen.chip(rid) for letter, rid in ids.items()}
    # The drop side follows the pointer: a chip's left half inserts before it, the right
    # half after it (a quarter in, clear of the rounded ends, which do not take the pointer).
    box = chip["A"].bounding_box()
    chip["C"].drag_to(chip["A"], target_position={"x": box["width"] / 4, "y": box["height"] / 2})
    expect(screen.summary).to_have_text("C > A > B > D")
    box = chip["D"].bounding_box()
    chip["A"].drag_to(
        chip["D"], target_position={"x": box["width"] * 3 / 4, "y": box["height"] / 2}
    )
    expect(screen.summary).to_have_text("C > B > D > A")
    expect(screen.form.locator("[data-chip]")).to_have_text(["C", "B", "D", "A"])
    sent = screen.send("Enter", "submit")
    tiers = [[ids["C"]], [ids["B"]], [ids["D"]], [ids["A"]]]
    return sent, Entered(list(ids.values()), tiers)


def check_dialogs(page: Page, screen: RankingPage) -> None:
    """? and G open their dialogs, keys do nothing while one is open, Escape closes it."""
    for key, dialog_id, text in [
        ("?", "shortcuts-dialog", "Tie the focused response"),
        ("g", "guidelines-dialog", "Rank the best first."),
    ]:
        dialog = page.locator(f"#{dialog_id}")
        screen.press(key)
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text(text)
        screen.press("1")
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
    expect(screen.summary).to_have_text("Nothing ranked yet · unranked: A, B, C, D")


def acknowledge_guidelines(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/p/rank/annotate/")
    expect(page).to_have_url(re.compile(r"/p/rank/guidelines/\?next=/p/rank/annotate/$"))
    expect(page.locator("#guideline-body")).to_contain_text("Rank the best first.")
    page.locator("#acknowledge").click()
    expect(page).to_have_url(f"{base_url}/p/rank/annotate/")


def by_sets(tiers: list[list[int]]) -> list[set[int]]:
    """Tiers compared as sets: the order inside a tie carries no meaning."""
    return [set(tier) for tier in tiers]


def test_annotator_ranks_by_keyboard_and_drag_and_skips(page, live_server, log_in, page_errors):
    # given a rank project (K=4, ties allowed) with guidelines, six items, and an
    # annotator who has not acknowledged the guidelines yet
    project = make_project(slug="rank", responses_per_item=4, ties_allowed=True)
    make_items(project, 6)
    annotator = add_member(project, Role.ANNOTATOR, "ann", ack=False)
    screen = RankingPage(page)

    # when they log in, acknowledge, and work through five items
    log_in("ann")
    acknowledge_guidelines(page, live_server.url)
    screen.ready()
    check_dialogs(page, screen)
    screen.press("Enter")
    expect(screen.error).to_have_text("Rank every response; still unranked: A, B, C, D.")
    entered = dict(
        [
            # digits on the focused response; focus then jumps to the next unranked one
            rank_with_keys(screen, ["3", "1", "4", "2"], ["B", "D", "A", "C"]),
            # the same digit twice is a tie
            rank_with_keys(screen, ["1", "1", "2", "3"], ["AB", "C", "D"]),
            # arrows, J/K, T (tie with the one above) and U (untie)
            rank_with_keys(
                screen,
                ["2", "ArrowDown", "1", "t", "u", "k", "j", "j", "j", "T"],
                ["C", "A", "BD"],
            ),
            rank_by_dragging(screen),
        ]
    )
    skipped = screen.send("s", "skip")

    # then the page moved on and counted four judgements
    expect(page.locator("#progress-line")).to_contain_text("in all 4")
    expect(page.locator("#prefetch [data-empty]")).to_have_count(1)
    assert page_errors == []
    # and the database holds exactly what was entered, once each
    guideline = Guideline.objects.get(project=project, version=1)
    assert GuidelineAck.objects.filter(guideline=guideline, user=annotator).exists()
    annotations = {a.assignment_id: a for a in Annotation.objects.filter(project=project)}
    assert set(annotations) == set(entered)
    assert {a.user_id for a in annotations.values()} == {annotator.pk}
    assert len({a.item_id for a in annotations.values()}) == 4
    for assignment_id, what in entered.items():
        annotation = annotations[assignment_id]
        assert annotation.mode == "rank"
        assert by_sets(annotation.ranking) == by_sets(what.tiers)
        assert annotation.display_order == what.display_order
        assert annotation.display_order == annotation.assignment.display_order
        assert annotation.guideline == guideline
        assert annotation.time_spent_ms > 0
        assert annotation.assignment.state == AssignmentState.SUBMITTED
    tie_sizes = [[len(tier) for tier in annotations[a].ranking] for a in entered]
    assert tie_sizes == [[1, 1, 1, 1], [2, 1, 1], [1, 1, 2], [1, 1, 1, 1]]
    skips = Assignment.objects.filter(user=annotator, state=AssignmentState.SKIPPED)
    assert list(skips.values_list("pk", flat=True)) == [skipped]
    assert not Annotation.objects.filter(assignment_id=skipped).exists()
