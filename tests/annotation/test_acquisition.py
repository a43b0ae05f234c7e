"""Item priorities set by the project's acquisition rule, in the background pass."""

import pytest

from annotation.models import Item
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from projects.models import AcquisitionRule, Role
from tests.factories import add_member, make_items, make_project
from training.loop.models import ResponseScore
from training.loop.services.acquisition import project_acquisition_refresh
from training.runs.models import ModelArtifact

pytestmark = pytest.mark.django_db


def _score(item, values):
    ids = sorted(item.item_responses.values_list("response_id", flat=True))
    for response_id, value in zip(ids, values, strict=True):
        ResponseScore.objects.create(
            response_id=response_id, artifact=item.project.reward_model, score=value
        )


def test_uncertainty_serves_the_items_with_the_smallest_reward_margins_first():
    project = make_project(slug="unsure", responses_per_item=3)
    project.reward_model = ModelArtifact.objects.create(
        project=project, kind="reward", name="rm", path="/rm"
    )
    project.acquisition_rule = AcquisitionRule.UNCERTAINTY
    project.save()
    wide, narrow, middle, unscored = make_items(project, 4)
    _score(wide, [0.0, 2.0, 4.0])  # margin 2
    _score(narrow, [1.0, 1.05, 3.0])  # margin 0.05
    _score(middle, [0.0, 0.5, 9.0])  # margin 0.5

    project_acquisition_refresh(project_id=project.pk)

    annotator = add_member(project, Role.ANNOTATOR, "ann")
    served = []
    for _ in range(4):
        lease = assignment_claim(user=annotator, project=project)
        served.append(lease.item_id)
        annotation_submit(
            assignment_id=lease.pk, user=annotator,
            payload={"ranking": [[rid] for rid in lease.display_order]},
        )  # fmt: skip
    assert served == [narrow.pk, middle.pk, wide.pk, unscored.pk]
    # Recomputing with nothing new changes nothing.
    assert project_acquisition_refresh(project_id=project.pk)["updated"] == 0


def _judge(project, item, user, first_wins: bool):
    lease = assignment_claim(user=user, project=project)
    assert lease.item_id == item.pk
    a, b = sorted(lease.display_order)
    annotation_submit(
        assignment_id=lease.pk, user=user,
        payload={"ranking": [[a], [b]] if first_wins else [[b], [a]]},
    )  # fmt: skip


def test_disagreement_opens_one_more_slot_on_split_items_up_to_the_cap():
    project = make_project(
        slug="split", responses_per_item=2, ranking_mode="pairwise", pairwise_strength=False,
        overlap=2,
        acquisition_rule=AcquisitionRule.DISAGREEMENT, disagreement_cap=3,
        disagreement_threshold=0.5,
    )  # fmt: skip
    (split,) = make_items(project, 1)
    ann1, ann2, ann3, ann4 = (add_member(project, Role.ANNOTATOR, f"a{n}") for n in range(4))
    _judge(project, split, ann1, first_wins=True)
    _judge(project, split, ann2, first_wins=False)
    (agreed,) = make_items(project, 1)
    _judge(project, agreed, ann1, first_wins=True)
    _judge(project, agreed, ann2, first_wins=True)
    assert Item.objects.get(pk=split.pk).open_slots == 0

    assert project_acquisition_refresh(project_id=project.pk)["opened"] == 1

    split.refresh_from_db()
    assert split.open_slots == 1 and split.metadata["extra_annotators"] == 1
    assert Item.objects.get(pk=agreed.pk).open_slots == 0
    _judge(project, split, ann3, first_wins=True)  # 2 against 1: still unsure (2/3)
    assert project_acquisition_refresh(project_id=project.pk)["opened"] == 0  # cap 3 reached
    assert Item.objects.get(pk=split.pk).open_slots == 0
    assert assignment_claim(user=ann4, project=project) is None


def test_the_manual_rule_leaves_imported_priorities_alone():
    project = make_project(slug="manual")
    make_items(project, 3, priority=7)
    assert project_acquisition_refresh(project_id=project.pk) == {
        "rule": "manual", "updated": 0, "opened": 0,
    }  # fmt: skip
    assert set(Item.objects.filter(project=project).values_list("priority", flat=True)) == {7}
