"""Revising one's own annotation: every revision kept, the latest on the row, until review."""

import pytest
from django.utils import timezone

from annotation.authoring.services.revisions import annotation_revise
from annotation.models import Annotation, AnnotationRevision, Response
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from common.errors import ApplicationError, ConflictError, NotFoundError
from projects.labels.services import tag_label_save
from tests.factories import add_member, make_items


@pytest.fixture
def submitted(project, annotator):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    ids = lease.display_order
    label = tag_label_save(project=project, name="factual error", hotkey="f")
    payload = {
        "ranking": [[rid] for rid in ids],
        "rationale": "first thoughts",
        "spans": [{"response": ids[0], "start": 0, "end": 3, "label": label.pk}],
    }
    annotation, _ = annotation_submit(assignment_id=lease.pk, user=annotator, payload=payload)
    return annotation


def test_a_revision_keeps_the_old_version_whole(submitted, annotator):
    ids = submitted.display_order
    reversed_ranking = [[rid] for rid in reversed(ids)]
    # when the annotator revises ranking, rationale and tags
    revised = annotation_revise(
        annotation_id=submitted.pk, user=annotator, base_revision=1,
        payload={"ranking": reversed_ranking, "rationale": "on reflection", "time_spent_ms": 5000},
    )  # fmt: skip
    # then the row holds the latest revision and the first is kept whole
    revised.refresh_from_db()
    assert (revised.revision, revised.ranking, revised.rationale) == (
        2,
        reversed_ranking,
        "on reflection",
    )
    assert revised.spans.count() == 0 and revised.revised_at is not None
    old = AnnotationRevision.objects.get(annotation=submitted)
    assert old.number == 1
    assert old.content["ranking"] == [[rid] for rid in ids]
    assert old.content["rationale"] == "first thoughts"
    assert old.content["spans"][0]["end"] == 3
    assert revised.time_spent_ms == submitted.time_spent_ms + 5000
    # and a third revision keeps the second
    annotation_revise(
        annotation_id=submitted.pk, user=annotator, payload={"ranking": [[rid] for rid in ids]}
    )
    assert list(
        AnnotationRevision.objects.filter(annotation=submitted).values_list("number", flat=True)
    ) == [1, 2]
    assert Annotation.objects.get(pk=submitted.pk).revision == 3


def test_a_stale_or_retried_revision_is_refused(submitted, annotator):
    payload = {"ranking": [[rid] for rid in submitted.display_order]}
    annotation_revise(annotation_id=submitted.pk, user=annotator, payload=payload, base_revision=1)
    with pytest.raises(ConflictError, match="at revision 2, not 1"):
        annotation_revise(
            annotation_id=submitted.pk, user=annotator, payload=payload, base_revision=1
        )
    assert AnnotationRevision.objects.count() == 1


def test_revisions_are_validated_like_submits_and_nothing_changes_on_error(submitted, annotator):
    with pytest.raises(ApplicationError, match="incomplete ranking"):
        annotation_revise(
            annotation_id=submitted.pk, user=annotator,
            payload={"ranking": [[submitted.display_order[0]]]},
        )  # fmt: skip
    assert not AnnotationRevision.objects.exists()
    assert Annotation.objects.get(pk=submitted.pk).revision == 1


def test_only_the_author_may_revise_and_only_until_review(submitted, annotator, project):
    payload = {"ranking": [[rid] for rid in submitted.display_order]}
    with pytest.raises(NotFoundError):
        annotation_revise(annotation_id=submitted.pk, user=add_member(project), payload=payload)
    Annotation.objects.filter(pk=submitted.pk).update(reviewed_at=timezone.now())
    with pytest.raises(ConflictError, match="was reviewed"):
        annotation_revise(annotation_id=submitted.pk, user=annotator, payload=payload)


def test_rewrites_are_linked_to_their_originals(project, annotator):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    ids = lease.display_order
    original = Response.objects.get(pk=ids[2])
    better = "A rewritten answer that fixes the mistake and adds an example."
    annotation, _ = annotation_submit(
        assignment_id=lease.pk, user=annotator,
        payload={"ranking": [[rid] for rid in ids], "rewrites": [{"response": ids[2], "text": better}]},
    )  # fmt: skip
    rewrite = original.rewrites.get()
    assert (rewrite.text, rewrite.origin, rewrite.annotation, rewrite.author) == (
        better,
        "rewrite",
        annotation,
        annotator,
    )
    assert rewrite.prompt_id == original.prompt_id
    # revising with a new rewrite keeps the first one too (latest wins by id)
    annotation_revise(
        annotation_id=annotation.pk, user=annotator,
        payload={"ranking": [[rid] for rid in ids],
                 "rewrites": [{"response": ids[2], "text": better + " Even better."}]},
    )  # fmt: skip
    assert original.rewrites.count() == 2
    assert original.rewrites.order_by("-id").first().metadata["revision"] == 2


@pytest.mark.parametrize(
    ("rewrite", "message"),
    [
        ({"response": 999999, "text": "x"}, "is not in this item"),
        ({"text": "x"}, "is not in this item"),
        ({"response": "FIRST", "text": "  "}, "text: must not be empty"),
        ({"response": "FIRST", "text": "Answer 0 to prompt PROMPT!"}, "does not change"),
    ],
)
def test_bad_rewrites_are_refused(project, annotator, rewrite, message):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    first = Response.objects.get(pk=lease.display_order[0])
    if rewrite.get("response") == "FIRST":
        rewrite = {**rewrite, "response": first.pk}
        rewrite["text"] = rewrite["text"].replace("Answer 0 to prompt PROMPT!", first.text.upper())
    with pytest.raises(ApplicationError, match=message):
        annotation_submit(
            assignment_id=lease.pk, user=annotator,
            payload={"ranking": [[rid] for rid in lease.display_order], "rewrites": [rewrite]},
        )  # fmt: skip
    assert not Annotation.objects.exists()
    assert not Response.objects.filter(origin="rewrite").exists()
