"""Rows written and read by hand on the hot path match what the ORM writes and reads."""

import pytest
from django.db.models.signals import post_save

from annotation.models import Annotation, Assignment, AssignmentState
from common.model_rows import model_insert
from tests.factories import make_items


def _assignment(project, user, item) -> Assignment:
    return Assignment.objects.create(
        item=item, user=user, project=project, state=AssignmentState.ACTIVE,
        claimed_at=item.created_at, lease_expires_at=item.created_at,
        display_order=[r.pk for r in item.responses.all()],
    )  # fmt: skip


def _fields(annotation: Annotation) -> dict:
    row = Annotation.objects.filter(pk=annotation.pk).values().get()
    return {k: v for k, v in row.items() if k not in {"id", "assignment_id", "item_id"}}


def test_model_insert_stores_what_save_stores(project, annotator):
    first, second = make_items(project, 2)
    values = dict(
        user=annotator, project=project, mode="rank", ranking=[[3], [1, 2]],
        ratings={"7": 4}, rubric_scores={"1": {"7": 2}}, strength=2, rationale="é <b>",
        time_spent_ms=1234, display_order=[3, 1, 2], client_token=None, unsure=True,
    )  # fmt: skip
    by_hand = Annotation(assignment=_assignment(project, annotator, first), item=first, **values)
    model_insert(by_hand)
    by_orm = Annotation(assignment=_assignment(project, annotator, second), item=second, **values)
    by_orm.save(force_insert=True)
    assert by_hand.pk is not None and not by_hand._state.adding
    assert by_hand.created_at is not None  # auto_now_add filled on the instance, as save() does
    stored, expected = _fields(by_hand), _fields(by_orm)
    assert stored.pop("created_at") == by_hand.created_at
    expected.pop("created_at")
    assert stored == expected
    assert Annotation.objects.get(pk=by_hand.pk).ranking == [[3], [1, 2]]


def test_model_insert_refuses_a_model_with_save_receivers(project, annotator):
    (item,) = make_items(project, 1)

    def watcher(**_):
        pass

    post_save.connect(watcher, sender=Annotation)
    try:
        annotation = Annotation(
            assignment=_assignment(project, annotator, item), item=item, user=annotator,
            project=project, mode="rank", display_order=[],
        )  # fmt: skip
        with pytest.raises(TypeError, match="signal receivers"):
            model_insert(annotation)
    finally:
        post_save.disconnect(watcher, sender=Annotation)
    assert not Annotation.objects.exists()
