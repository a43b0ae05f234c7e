"""A small ranked project with two annotators, and exports run in-process."""

import pytest

from annotation.models import Prompt
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from projects.models import Role
from tests.factories import add_member, make_items, make_project
from training.datasets.services.snapshots import snapshot_create, snapshot_export


@pytest.fixture(autouse=True)
def snapshot_storage(settings, tmp_path):
    """Published snapshots go to a fresh folder per test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
    }
    return tmp_path / "files"


def judge_all(project, user, rank, *, extra=None):
    """Claim and submit until nothing is left; ``rank(sorted ids, n)`` gives the tiers and
    ``extra(n)`` more payload for the n-th item (in claim order)."""
    made = []
    while (lease := assignment_claim(user=user, project=project)) is not None:
        n = len(made)
        payload = {"ranking": rank(sorted(lease.display_order), n), **(extra(n) if extra else {})}
        annotation, _ = annotation_submit(assignment_id=lease.pk, user=user, payload=payload)
        made.append(annotation)
    return made


def full_by_id(ids, n):
    return [[rid] for rid in ids]


def top_then_tie(ids, n):
    return [[ids[0]], ids[1:]]


@pytest.fixture
def ranked(db):
    """10 items of K=3 on 8 distinct prompts (items 0-2 share one prompt text), overlap 2:
    "alice" ranks by id (3 pairs each), "bob" puts the first on top and ties the rest
    (2 pairs each) and says "none acceptable" on his first item."""
    project = make_project(slug="exp", responses_per_item=3, overlap=2, review_rate=0.0)
    make_items(project, 10)
    same = [{"role": "user", "content": "The same question, asked three times?"}]
    first_three = Prompt.objects.filter(project=project).order_by("id")[:3]
    Prompt.objects.filter(pk__in=[p.pk for p in first_three]).update(messages=same)
    alice = add_member(project, Role.ANNOTATOR, "alice")
    bob = add_member(project, Role.ANNOTATOR, "bob")
    judge_all(project, alice, full_by_id)
    judge_all(project, bob, top_then_tie, extra=lambda n: {"none_acceptable": n == 0})
    engineer = add_member(project, Role.ENGINEER, "eng")
    return project, engineer


def export(project, user, **options):
    snapshot, _ = snapshot_create(project=project, user=user, options=options, enqueue=False)
    return snapshot_export(snapshot_id=snapshot.pk)
