"""Quality pages: the dashboard and its CSV, the review queue and review actions, gold."""

import csv
import io

import pytest
from django.test import Client

from annotation.models import Annotation, AnnotationStatus, Item, Prompt
from annotation.quality.models import Review
from annotation.quality.selectors.dashboard import annotator_table
from annotation.quality.selectors.own import own_quality
from annotation.quality.services.gold import item_gold_mark
from annotation.quality.services.refresh import project_quality_refresh
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from projects.models import Role
from tests.annotation.quality_helpers import (
    annotate_all,
    by_id,
    first_shown_first,
    quality_worker_pass,
)
from tests.factories import add_member, make_items, make_project


@pytest.fixture
def annotated(db):
    project = make_project(slug="qv", responses_per_item=3, overlap=2, review_rate=1.0)
    make_items(project, 8)
    Prompt.objects.filter(project=project).update(
        messages=[{"role": "user", "content": "<script>alert(1)</script> which?"}]
    )
    one = add_member(project, Role.ANNOTATOR, "one")
    two = add_member(project, Role.ANNOTATOR, "two")
    annotate_all(project, one, by_id)
    annotate_all(project, two, first_shown_first)
    project_quality_refresh(project_id=project.pk)
    reviewer = add_member(project, Role.REVIEWER, "rev")
    engineer = add_member(project, Role.ENGINEER, "eng")
    return project, one, two, reviewer, engineer


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_dashboard_draws_its_charts_and_table(annotated):
    project, *_ = annotated
    html = _client(project.created_by).get(f"/p/{project.slug}/quality/").content.decode()
    for kind in (
        '"kind": "line"',
        '"kind": "bar"',
        '"stacked": true',
        '"intervals": [[',
        "chart-sparkline",
    ):
        assert kind in html, kind
    assert 'data-user="one"' in html and 'data-user="two"' in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_dashboard_table_sorts_by_any_figure(annotated):
    project, *_ = annotated
    client = _client(project.created_by)
    ascending = client.get(f"/p/{project.slug}/quality/?sort=username&dir=asc").content.decode()
    descending = client.get(f"/p/{project.slug}/quality/?sort=username&dir=desc").content.decode()
    assert ascending.index('data-user="one"') < ascending.index('data-user="two"')
    assert descending.index('data-user="two"') < descending.index('data-user="one"')


def test_annotator_csv_has_every_annotator_and_figure(annotated):
    project, *_ = annotated
    response = _client(project.created_by).get(f"/p/{project.slug}/quality/annotators.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["username", "role", "paused", "judgements"]
    assert [r[0] for r in rows[1:]] == ["one", "two"]
    assert {r[3] for r in rows[1:]} == {"8"}


@pytest.mark.parametrize(
    ("who", "dashboard", "review"),
    [("one", 403, 403), ("rev", 403, 200), ("eng", 200, 403), ("outsider", 404, 404)],
)
def test_quality_pages_check_roles(annotated, django_user_model, who, dashboard, review):
    project, *_ = annotated
    user = (
        django_user_model.objects.create(username="outsider")
        if who == "outsider"
        else django_user_model.objects.get(username=who)
    )
    client = _client(user)
    assert client.get(f"/p/{project.slug}/quality/").status_code == dashboard
    assert client.get(f"/p/{project.slug}/quality/annotators.csv").status_code == dashboard
    assert client.get(f"/p/{project.slug}/review/").status_code == review


def test_review_actions_from_the_page(annotated):
    project, one, two, reviewer, _ = annotated
    client = _client(reviewer)
    queue = client.get(f"/p/{project.slug}/review/").content.decode()
    assert "&lt;script&gt;" in queue
    item = Item.objects.filter(project=project).first()
    page = client.get(f"/p/{project.slug}/review/items/{item.pk}/").content.decode()
    assert "one" in page and "two" in page and "guidelines v1" in page
    first, second = Annotation.objects.filter(item=item).order_by("user__username")
    base = f"/p/{project.slug}/review/items/{item.pk}/annotations"

    client.post(f"{base}/{first.pk}/accept/")
    client.post(f"{base}/{second.pk}/reject/", {"comment": "first-shown bias"})

    assert list(Review.objects.order_by("pk").values_list("verdict", flat=True)) == [
        "accepted",
        "rejected",
    ]
    second.refresh_from_db()
    assert second.status == AnnotationStatus.REJECTED


def test_review_correction_and_gold_from_the_page(annotated):
    project, _, two, reviewer, _ = annotated
    item = Item.objects.filter(project=project).last()
    ids = list(item.item_responses.values_list("response_id", flat=True))
    ranks = {f"rank-{rid}": str(i + 1) for i, rid in enumerate(ids)}
    theirs = Annotation.objects.get(item=item, user=two)

    _client(reviewer).post(
        f"/p/{project.slug}/review/items/{item.pk}/annotations/{theirs.pk}/correct/", ranks
    )
    _client(project.created_by).post(f"/p/{project.slug}/review/items/{item.pk}/gold/", ranks)

    assert Annotation.objects.get(item=item, user=reviewer).ranking == [[r] for r in ids]
    item.refresh_from_db()
    assert item.is_gold and item.gold_ranking == [[r] for r in ids]
    # a reviewer is not a manager: no gold for them
    assert (
        _client(reviewer).post(f"/p/{project.slug}/review/items/{item.pk}/gold/unmark/").status_code
        == 403
    )


def test_an_incomplete_correction_keeps_what_was_typed_and_says_why_by_its_form(annotated):
    # given: a reviewer who typed a comment and ranked only A of three
    project, one, _, reviewer, _ = annotated
    item = Item.objects.filter(project=project).first()
    theirs = Annotation.objects.get(item=item, user=one)
    a, b, _ = item.item_responses.order_by("position").values_list("response_id", flat=True)

    # when they click Correct
    response = _client(reviewer).post(
        f"/p/{project.slug}/review/items/{item.pk}/annotations/{theirs.pk}/correct/",
        {"comment": "B is <wrong>", f"rank-{a}": "1", "then": "next"},
    )

    # then: nothing is stored; the page is back with the comment, A's rank and the error in
    # words on that annotation's form (not at the top), focus on the first unranked response
    assert response.status_code == 400 and not Review.objects.exists()
    page = response.content.decode()
    form = page.split(f'data-annotation="{theirs.pk}"')[1].split("</form>")[0]
    assert "Give every response a rank: B and C have none." in form
    assert "rank-" not in form.split("data-review-error>")[1].split("</p>")[0]
    assert ">B is &lt;wrong&gt;</textarea>" in form
    assert f'<select name="rank-{a}"><option value="">–</option><option selected>1</option>' in form
    assert f'<select name="rank-{b}" autofocus>' in form
    assert page.count("data-review-error") == 1 and 'class="messages"' not in page


def test_annotators_see_review_comments_in_their_history(annotated):
    project, one, _, reviewer, _ = annotated
    theirs = Annotation.objects.filter(user=one).first()
    _client(reviewer).post(
        f"/p/{project.slug}/review/items/{theirs.item_id}/annotations/{theirs.pk}/reject/",
        {"comment": "Read rule <3> again"},
    )
    html = _client(one).get(f"/p/{project.slug}/history/").content.decode()
    assert "Read rule &lt;3&gt; again" in html
    assert "rejected in review" in html


def test_unsure_checkbox_sends_the_annotation_to_review(db):
    project = make_project(slug="unsure", responses_per_item=2, review_rate=0.0)
    make_items(project, 1)
    person = add_member(project, Role.ANNOTATOR, "u")
    client = _client(person)
    page = client.get(f"/p/{project.slug}/annotate/").content.decode()
    assert "data-unsure" in page
    lease = person.assignments.get()
    a, b = lease.display_order
    client.post(
        f"/p/{project.slug}/annotate/{lease.pk}/submit/",
        {f"rank-{a}": "1", f"rank-{b}": "2", "unsure": "on"},
    )
    annotation = Annotation.objects.get(user=person)
    assert (annotation.unsure, annotation.review_state) == (True, "pending")


def test_an_annotators_own_page_shows_their_figures_but_never_gold(db):
    # given an annotator who has just answered a gold item
    project = make_project(slug="owngold", responses_per_item=2, gold_rate=0.5, review_rate=0.0)
    (item,) = make_items(project, 1)
    ids = list(item.item_responses.values_list("response_id", flat=True))
    item_gold_mark(project=project, item_id=item.pk, ranking=by_id(ids))
    person = add_member(project, Role.ANNOTATOR, "watcher")
    lease = next(
        lease
        for _ in range(100)
        if (lease := assignment_claim(user=person, project=project)) is not None
    )
    annotation_submit(
        assignment_id=lease.pk, user=person, payload={"ranking": by_id(lease.display_order)}
    )
    quality_worker_pass(project)

    # when they read their own figures, through the selector the page and API share
    own = own_quality(project=project, user=person)
    page = _client(person).get(f"/p/{project.slug}/quality/me/")

    # then the gold figures are blanked, though the managers' table has them
    assert (own.figures.gold_score, own.figures.gold_items) == (None, 0)
    (row,) = annotator_table(project)
    assert (row.gold_score, row.gold_items) == (1.0, 1)
    html = page.content.decode()
    assert page.status_code == 200 and "data-own-figures" in html
    assert "gold" not in html.split("data-own-figures")[1].split("</div>\n</div>")[0].lower()
    # and the history page leads there
    history = _client(person).get(f"/p/{project.slug}/history/").content.decode()
    assert f"/p/{project.slug}/quality/me/" in history


def test_a_reject_without_a_comment_says_so_at_the_comment_box(annotated):
    # given: a reviewer on an item with an annotation to review
    project, one, _, reviewer, _ = annotated
    item = Item.objects.filter(project=project).first()
    theirs = Annotation.objects.get(item=item, user=one)

    # when they click Reject with an empty comment
    response = _client(reviewer).post(
        f"/p/{project.slug}/review/items/{item.pk}/annotations/{theirs.pk}/reject/",
        {"comment": "", "then": "next"},
    )

    # then: nothing is stored; the message, in words without the field's raw name, sits at
    # that annotation's comment box, which points at it and takes the focus
    assert response.status_code == 400 and not Review.objects.exists()
    page = response.content.decode()
    form = page.split(f'data-annotation="{theirs.pk}"')[1].split("</form>")[0]
    box = form.split('<div class="field has-error">')[1].split("</div>")[0]
    assert (
        f'id="review-comment-{theirs.pk}-error" role="alert" data-review-error>Say what is wrong'
        in box
    )
    assert (
        f'aria-describedby="review-comment-{theirs.pk}-help review-comment-{theirs.pk}-error"'
        in box
    )
    assert 'aria-invalid="true"' in box and " autofocus" in box
    assert "comment:" not in page and page.count("data-review-error") == 1


def test_the_review_page_says_a_reject_needs_a_comment_and_has_no_primary_verdict(annotated):
    # given: a reviewer on an item with two annotations to review
    project, _, _, reviewer, _ = annotated
    item = Item.objects.filter(project=project).first()

    # when they open it
    page = _client(reviewer).get(f"/p/{project.slug}/review/items/{item.pk}/").content.decode()

    # then: each comment box says it is needed to reject, and no verdict button is primary
    assert page.count("required to reject") == page.count('name="comment"') >= 2
    verdicts = page.split("<h2>Annotations</h2>")[1].split("<h2>Gold</h2>")[0]
    assert 'class="primary"' not in verdicts
