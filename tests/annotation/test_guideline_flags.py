"""After a guideline change, work under the old version goes back for review or re-annotation."""

import pytest
from django.test import Client

from annotation.models import Annotation, AnnotationStatus, Item, ReviewState
from annotation.quality.models import ItemStats
from annotation.quality.services.guideline_flags import guideline_flag_superseded
from annotation.quality.services.item_quality import items_quality_refresh
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from common.errors import ApplicationError
from projects.labels.services import tag_label_save
from projects.models import Role
from projects.services import guideline_acknowledge, guideline_publish
from tests.annotation.quality_helpers import annotate_all, by_id
from tests.factories import add_member, make_items, make_project


@pytest.fixture
def old_and_new(db):
    """Four items judged under v1 (one with an 'unsafe' span), then v2 published, then
    one more item judged under v2."""
    project = make_project(slug="flags", responses_per_item=2, overlap=1, review_rate=0.0)
    unsafe = tag_label_save(project=project, name="unsafe", kind="span")
    make_items(project, 5)
    person = add_member(project, Role.ANNOTATOR, "p")
    annotate_all(project, person, by_id, limit=3)
    lease = assignment_claim(user=person, project=project)
    first = lease.display_order[0]
    annotation_submit(
        assignment_id=lease.pk,
        user=person,
        payload={
            "ranking": by_id(lease.display_order),
            "spans": [{"response": first, "start": 0, "end": 3, "label": unsafe.pk}],
        },
    )
    guideline_publish(project=project, author=project.created_by, body="# v2")
    guideline_acknowledge(project=project, user=person)
    annotate_all(project, person, by_id)
    return project, person, lease.item_id


def test_review_flags_only_the_old_version(old_and_new):
    project, *_ = old_and_new
    count, items = guideline_flag_superseded(project=project, action="review")
    assert (count, items) == (4, [])
    flagged = Annotation.objects.filter(review_state=ReviewState.PENDING)
    assert {a.guideline.version for a in flagged} == {1}
    assert set(flagged.values_list("review_reason", flat=True)) == {"guideline"}


def test_reannotate_items_with_a_tag_reopens_them(old_and_new):
    project, _, tagged_item = old_and_new
    count, items = guideline_flag_superseded(
        project=project, action="reannotate", label_names=["unsafe"]
    )
    items_quality_refresh(item_ids=items)
    assert (count, items) == (1, [tagged_item])
    assert Annotation.objects.get(item_id=tagged_item).status == AnnotationStatus.SUPERSEDED
    assert Item.objects.get(pk=tagged_item).open_slots == 1
    assert ItemStats.objects.get(pk=tagged_item).judgements == 0
    # a new annotator gets the reopened item
    newcomer = add_member(project, Role.ANNOTATOR, "new")
    assert assignment_claim(user=newcomer, project=project).item_id == tagged_item


def test_bad_action_or_label_is_named(old_and_new):
    project, *_ = old_and_new
    with pytest.raises(ApplicationError, match="action"):
        guideline_flag_superseded(project=project, action="delete")
    with pytest.raises(ApplicationError, match="labels: not in this project"):
        guideline_flag_superseded(project=project, action="review", label_names=["nope"])


def test_the_page_counts_and_flags(old_and_new):
    project, *_ = old_and_new
    client = Client()
    client.force_login(project.created_by)
    page = client.get(f"/p/{project.slug}/guidelines/flag/").content.decode()
    assert "data-superseded>4<" in page
    client.post(f"/p/{project.slug}/guidelines/flag/", {"action": "review"})
    assert Annotation.objects.filter(review_state=ReviewState.PENDING).count() == 4
