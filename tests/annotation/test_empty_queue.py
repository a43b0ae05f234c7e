"""What the ranking page says when it has no item for the annotator, and the counts it
shares with the project page."""

import pytest

from annotation.models import Item
from annotation.selectors import annotator_progress, project_counts
from projects.models import Role
from tests.factories import add_member, judgement_stored, make_items, make_project

pytestmark = pytest.mark.django_db


def test_a_project_without_items_says_a_manager_imports_them(client, project, manager, annotator):
    # given a brand-new project with no items
    client.force_login(annotator)
    # when the annotator opens the ranking page
    page = client.get(f"/p/{project.slug}/annotate/").content.decode()
    # then it says why it is empty, not "Thank you"
    assert "No items yet" in page and "A manager imports them" in page
    assert "Thank you" not in page
    assert f"/p/{project.slug}/imports/" not in page
    # and a manager gets the way to import them
    client.force_login(manager)
    page = client.get(f"/p/{project.slug}/annotate/").content.decode()
    assert f'href="/p/{project.slug}/imports/">Import items' in page


def test_items_only_others_may_take_are_said_so(client, project, annotator):
    # given the one item, already ranked by this annotator, still waiting for a second
    (item,) = make_items(project, 1)
    judgement_stored(item, annotator, [r.pk for r in item.responses.all()])
    Item.objects.filter(pk=item.pk).update(open_slots=1, submitted_count=1)
    client.force_login(annotator)
    # when they open the ranking page
    page = client.get(f"/p/{project.slug}/annotate/").content.decode()
    # then it says the item waits for others, and why
    assert "1 item still waits for other annotators" in page
    assert "each item reaches an annotator only once" in page
    assert "Thank you" not in page


def test_a_writing_project_points_to_writing_when_nothing_is_left_to_rank(client, db):
    # given a prompt-writing project with no items yet
    project = make_project(slug="wr", prompt_writing=True, response_source="writer")
    client.force_login(add_member(project, Role.ANNOTATOR, "writer1"))
    # when the annotator opens the ranking page and the home page
    annotate = client.get("/p/wr/annotate/").content.decode()
    home = client.get("/").content.decode()
    # then both lead to the writing page first
    assert 'class="button primary" href="/p/wr/write/">Write a prompt' in annotate
    assert "Write prompts, then rank others'" in home
    assert 'class="button primary" href="/p/wr/write/">Write prompts' in home
    assert "Start annotating" not in home


def test_the_ranking_page_and_project_page_count_the_same_waiting_items(project, annotator):
    # given two open items, one of them complete already (the overlap was lowered)
    first, _ = make_items(project, 2)
    Item.objects.filter(pk=first.pk).update(submitted_count=project.overlap, open_slots=1)
    # when both pages count the items waiting
    left = annotator_progress(user=annotator, project=project).items_left
    waiting = project_counts(project).items_waiting
    # then they agree: the complete item is not waiting
    assert left == waiting == 1


def test_project_loop_and_quality_pages_count_complete_items_alike(client, project, manager):
    from annotation.quality.services.summary import _rounds
    from training.loop.selectors import round_stats

    # given a complete item left open by a lowered overlap, a complete gold item, an open one
    lowered, gold, _ = make_items(project, 3)
    Item.objects.filter(pk=lowered.pk).update(submitted_count=project.overlap, open_slots=1)
    Item.objects.filter(pk=gold.pk).update(
        is_gold=True, submitted_count=project.overlap, open_slots=0
    )
    # when each page counts them
    counts = project_counts(project)
    (loop_round,) = round_stats(project)
    (quality_round,) = _rounds(project)
    # then the project page counts the gold item and says so; the others leave it out alike
    assert (counts.items, counts.items_gold, counts.items_complete) == (3, 1, 2)
    assert (loop_round.items, loop_round.items_complete) == (2, 1)
    assert (quality_round["complete"], quality_round["in_progress"], quality_round["open"]) == (
        1, 0, 1
    )  # fmt: skip
    client.force_login(manager)
    assert "in all (1 gold)" in client.get(f"/p/{project.slug}/").content.decode()
