"""The review item page shows what the reviewer judges as annotators saw it, and true facts."""

import pytest
from django.test import Client

from annotation.models import Annotation, Item, Prompt
from projects.models import Role
from tests.annotation.quality_helpers import annotate_all, first_shown_first
from tests.factories import add_member, make_items, make_project


@pytest.fixture
def one_annotated(db):
    """K=3, everything sampled for review, one annotator did every item."""
    project = make_project(slug="rp", responses_per_item=3, overlap=1, review_rate=1.0)
    make_items(project, 2)
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    annotate_all(project, annotator, first_shown_first)
    return project, annotator


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_review_page_formats_markdown_as_the_ranking_page_does(one_annotated):
    # given: an item whose prompt holds markup and whose response is markdown
    project, _ = one_annotated
    reviewer = add_member(project, Role.REVIEWER, "rev")
    item = Item.objects.filter(project=project).first()
    Prompt.objects.filter(pk=item.prompt_id).update(
        messages=[{"role": "user", "content": "What is *f′(x)*? <script>alert(1)</script>"}]
    )
    response = item.item_responses.order_by("position").first().response
    response.text = "**f′(x) = 2x**\n\n- u′ = 2x\n- v′ = cos(x)\n\n<img src=x onerror=alert(1)>"
    response.save(update_fields=["text"])

    # when
    page = _client(reviewer).get(f"/p/{project.slug}/review/items/{item.pk}/").content.decode()

    # then: formatted, and raw HTML in user text stays text, as on the ranking page
    assert "<em>f′(x)</em>" in page
    assert "<strong>f′(x) = 2x</strong>" in page and "<li>u′ = 2x</li>" in page
    assert "**f′(x)" not in page and "- u′ = 2x" not in page
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page


def test_a_correction_shows_its_guidelines_and_no_made_up_time(one_annotated):
    # given: a reviewer who never acknowledged the guidelines (reviewing does not ask)
    project, annotator = one_annotated
    reviewer = add_member(project, Role.REVIEWER, "rev", ack=False)
    item = Item.objects.filter(project=project).first()
    ids = list(item.item_responses.values_list("response_id", flat=True))
    theirs = Annotation.objects.get(item=item, user=annotator)
    client = _client(reviewer)

    # when
    client.post(
        f"/p/{project.slug}/review/items/{item.pk}/annotations/{theirs.pk}/correct/",
        {f"rank-{rid}": str(i + 1) for i, rid in enumerate(ids)},
    )
    page = client.get(f"/p/{project.slug}/review/items/{item.pk}/").content.decode()

    # then: the correction's row names v1 and claims no "0.0 s" of work
    correction = Annotation.objects.get(item=item, user=reviewer)
    assert correction.guideline.version == 1
    row = page.split(f'data-annotation="{correction.pk}"')[1].split("</article>")[0]
    assert "guidelines v1" in row and "v?" not in row and " s ·" not in row
