"""Quality aggregates kept by submits, revisions and reviews equal a from-scratch count."""

import math
from collections import Counter, defaultdict

import krippendorff
import numpy as np
import pytest

from annotation.authoring.services.revisions import annotation_revise
from annotation.models import Annotation, AnnotationKind, AnnotationStatus, Item
from annotation.quality.metrics.contributions import Judged, item_contribution
from annotation.quality.metrics.rankings import mid_ranks
from annotation.quality.models import AnnotatorPairStats, AnnotatorStats, ItemStats, QualityDelta
from annotation.quality.selectors.figures import annotator_pairs, project_agreement
from annotation.quality.services.fold import quality_deltas_fold
from annotation.quality.services.review import annotation_review_correct, annotation_review_reject
from projects.models import Role
from tests.annotation.quality_helpers import (
    annotate_all,
    first_shown_first,
    noisy_by_id,
)
from tests.factories import add_member, make_items, make_project


def _from_scratch(project):
    """Every aggregate recomputed from the annotations, item by item."""
    project_sums, annotator_sums, pair_sums = Counter(), defaultdict(Counter), defaultdict(Counter)
    coincidences = Counter()
    for item in Item.objects.filter(project=project):
        rows = Annotation.objects.filter(item=item, status=AnnotationStatus.ACTIVE)
        judged = [
            Judged(
                user=a.user_id,
                ranking=a.ranking,
                display=list(a.display_order),
                shown_shuffled=a.kind == AnnotationKind.JUDGEMENT,
            )
            for a in rows
        ]
        lengths = {r.pk: len(r.text) for r in item.responses.all()}
        _, contribution = item_contribution(
            judged, lengths=lengths, gold=item.gold_ranking if item.is_gold else None
        )
        project_sums.update(contribution.project)
        coincidences.update(contribution.project_coincidences)
        for user, sums in contribution.annotators.items():
            annotator_sums[user].update(sums)
        for pair, sums in contribution.pairs.items():
            pair_sums[pair].update(sums)
    return project_sums, annotator_sums, pair_sums, coincidences


def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.fixture
def busy_project(db):
    """Overlap 3, K=4, five annotators of varying care, one revision, one rejection,
    one correction: every path that moves the aggregates."""
    project = make_project(slug="qa", responses_per_item=4, overlap=3, review_rate=0.0)
    make_items(project, 12)
    people = [add_member(project, Role.ANNOTATOR, f"a{i}") for i in range(5)]
    reviewer = add_member(project, Role.REVIEWER, "rev")
    for index, person in enumerate(people):
        annotate_all(project, person, noisy_by_id(index, flips=0.1 * index), limit=6)
    first = Annotation.objects.filter(user=people[0]).order_by("pk").first()
    annotation_revise(
        annotation_id=first.pk,
        user=people[0],
        payload={"ranking": first_shown_first(first.display_order)},
    )
    rejected, corrected = Annotation.objects.filter(user=people[4]).order_by("pk")[:2]
    annotation_review_reject(
        project=project, annotation_id=rejected.pk, reviewer=reviewer, comment="careless"
    )
    annotation_review_correct(
        project=project,
        annotation_id=corrected.pk,
        reviewer=reviewer,
        ranking=[[rid] for rid in sorted(corrected.display_order)],
    )
    quality_deltas_fold(project_id=project.pk)
    return project


def test_stored_sums_equal_a_recount_after_submits_revisions_and_reviews(busy_project):
    # given a project annotated, revised, rejected and corrected through the services
    project_sums, annotator_sums, pair_sums, coincidences = _from_scratch(busy_project)

    # then the project figures match the recount
    agreement = project_agreement(busy_project)
    assert agreement.items_multi == project_sums["items_multi"] > 0
    assert _close(agreement.pairwise, project_sums["pairs_same"] / project_sums["pairs_total"])
    assert _close(agreement.kendall_w, project_sums["w_sum"] / project_sums["w_n"])
    # and every annotator's sums
    stored = {s.user_id: s for s in AnnotatorStats.objects.filter(project=busy_project)}
    assert set(stored) >= set(annotator_sums)
    for user, sums in annotator_sums.items():
        for name in ("judgements", "loo_same", "loo_total", "first_top", "length_tau_sum"):
            assert _close(getattr(stored[user], name), sums[name]), (user, name)
    # and every pair's
    pairs = {
        (p.user_a_id, p.user_b_id): p
        for p in AnnotatorPairStats.objects.filter(project=busy_project, items__gt=0)
    }
    assert set(pairs) == set(pair_sums)
    for pair, sums in pair_sums.items():
        assert (pairs[pair].items, pairs[pair].pairs_same) == (sums["items"], sums["pairs_same"])


def test_rejected_and_corrected_annotations_stop_counting(busy_project):
    # the reviewer's correction counts on its item; the originals do not
    correction = Annotation.objects.get(kind=AnnotationKind.REVIEW_CORRECTION)
    stats = ItemStats.objects.get(pk=correction.item_id)
    counted = Annotation.objects.filter(item_id=correction.item_id, status="active").count()
    assert stats.judgements == counted
    assert str(correction.user_id) in stats.basis["contribution"]["annotators"]
    rejected = Annotation.objects.get(status=AnnotationStatus.REJECTED)
    assert (
        str(rejected.user_id)
        not in (ItemStats.objects.get(pk=rejected.item_id).basis["contribution"]["annotators"])
    )


def _reliability_matrix(project, users=None):
    """Annotators × (item, response) mid-ranks, NaN where missing: the package's input."""
    rows = Annotation.objects.filter(project=project, status=AnnotationStatus.ACTIVE)
    if users:
        rows = rows.filter(user__in=users)
    by_item = defaultdict(dict)
    for annotation in rows:
        by_item[annotation.item_id][annotation.user_id] = mid_ranks(annotation.ranking)
    if users:
        by_item = {i: r for i, r in by_item.items() if len(r) == 2}
    people = sorted({u for ranks in by_item.values() for u in ranks})
    units = [(i, rid) for i, ranks in sorted(by_item.items()) for rid in next(iter(ranks.values()))]
    matrix = np.full((len(people), len(units)), np.nan)
    for col, (item, rid) in enumerate(units):
        for row, person in enumerate(people):
            if person in by_item[item]:
                matrix[row, col] = by_item[item][person][rid]
    return matrix


def test_project_alpha_matches_the_krippendorff_package(busy_project):
    expected = krippendorff.alpha(
        reliability_data=_reliability_matrix(busy_project), level_of_measurement="ordinal"
    )
    assert project_agreement(busy_project).alpha == pytest.approx(expected, abs=1e-9)


def test_pair_alpha_matches_the_krippendorff_package(busy_project):
    pair = AnnotatorPairStats.objects.filter(project=busy_project).order_by("-items").first()
    expected = krippendorff.alpha(
        reliability_data=_reliability_matrix(busy_project, users=[pair.user_a, pair.user_b]),
        level_of_measurement="ordinal",
    )
    figures = next(
        p
        for p in annotator_pairs(busy_project)
        if {p.user_a, p.user_b} == {pair.user_a.username, pair.user_b.username}
    )
    assert figures.items == pair.items
    assert figures.alpha == pytest.approx(expected, abs=1e-9)


def test_position_bias_finds_an_annotator_who_always_ranks_the_first_shown_first(db):
    # given a careless annotator and a careful one on the same K=4 items
    project = make_project(slug="bias", responses_per_item=4, overlap=2, review_rate=0.0)
    make_items(project, 60)
    careless = add_member(project, Role.ANNOTATOR, "careless")
    careful = add_member(project, Role.ANNOTATOR, "careful")

    # when both annotate everything
    annotate_all(project, careless, first_shown_first)
    annotate_all(project, careful, noisy_by_id(1, flips=0.0))

    # then the careless one is far above chance and the careful one is not
    quality_deltas_fold(project_id=project.pk)
    bad = AnnotatorStats.objects.get(project=project, user=careless)
    good = AnnotatorStats.objects.get(project=project, user=careful)
    assert bad.judgements == good.judgements == 60
    assert bad.position_first_rate == 1.0
    assert bad.position_chance_rate == pytest.approx(0.25)
    assert bad.position_z > 5
    assert abs(good.position_z) < 3


def test_length_bias_finds_an_annotator_who_prefers_longer_responses(db):
    project = make_project(slug="length", responses_per_item=3, review_rate=0.0)
    make_items(project, 20, texts=lambda i, k: "x" * (10 + 7 * k + i))
    verbose = add_member(project, Role.ANNOTATOR, "verbose")
    lengths = {}
    for item in Item.objects.filter(project=project):
        for response in item.responses.all():
            lengths[response.pk] = len(response.text)

    annotate_all(
        project, verbose, lambda display: [[r] for r in sorted(display, key=lambda r: -lengths[r])]
    )

    quality_deltas_fold(project_id=project.pk)
    assert AnnotatorStats.objects.get(project=project, user=verbose).length_bias == pytest.approx(
        1.0
    )


def test_submits_only_log_deltas_and_a_fold_applies_each_once(db):
    # given two annotators on the same two items
    project = make_project(slug="fold", responses_per_item=3, overlap=2, review_rate=0.0)
    make_items(project, 2)
    for name in ("f1", "f2"):
        annotate_all(project, add_member(project, Role.ANNOTATOR, name), first_shown_first)

    # then the submits wrote no shared row, only the log
    assert QualityDelta.objects.filter(project=project).count() == 4
    assert not AnnotatorStats.objects.filter(project=project).exists()

    # when two folds run, one after the other
    assert quality_deltas_fold(project_id=project.pk) == 4
    assert quality_deltas_fold(project_id=project.pk) == 0

    # then the sums hold every judgement once and the log is empty
    stats = AnnotatorStats.objects.filter(project=project)
    assert sorted(stats.values_list("judgements", flat=True)) == [2, 2]
    assert not QualityDelta.objects.exists()
    assert project_agreement(project).items_multi == 2
