"""Projects in every state a user can meet, each with one member per role, for the walk of
every route (tests/test_every_url.py)."""

import io
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django_celery_results.models import GroupResult, TaskResult
from rest_framework.authtoken.models import Token

from annotation.authoring.services.prompts import prompt_write
from annotation.authoring.services.response_queue import write_claim
from annotation.importing.models import ImportJob
from annotation.models import Annotation, Batch, SpanTag
from annotation.quality.services.gold import item_gold_mark
from annotation.quality.services.refresh import project_quality_refresh
from annotation.quality.services.review import annotation_review_accept, annotation_review_reject
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from common.jobs import JobState
from projects.labels.services import rating_dimension_save, tag_label_save
from projects.models import Project, Role
from projects.services import group_set_members, project_update
from tests.annotation.quality_helpers import annotate_all, by_id, first_shown_first
from tests.factories import UserFactory, add_member, make_items, make_project
from training.datasets.models import DatasetSnapshot
from training.datasets.services.snapshots import snapshot_create, snapshot_export
from training.loop.models import GenerationJob, Generator, Round
from training.runs.models import ModelArtifact, RunMetric, TrainingRun


@dataclass
class World:
    project: Project
    people: dict = field(default_factory=dict)


def _people(project: Project, *, ack: bool = True) -> dict:
    manager = project.memberships.get(role=Role.MANAGER).user
    return {
        "anonymous": None,
        "outsider": UserFactory(username="outsider"),
        "annotator": add_member(project, Role.ANNOTATOR, "annotator", ack=ack),
        "annotator2": add_member(project, Role.ANNOTATOR, "annotator2", ack=ack),
        "reviewer": add_member(project, Role.REVIEWER, "reviewer", ack=ack),
        "manager": manager,
        "engineer": add_member(project, Role.ENGINEER, "engineer", ack=ack),
        "superuser": UserFactory(username="root", is_staff=True, is_superuser=True),
    }


def _annotated(project: Project, people: dict, payload=None) -> None:
    """Two annotators on every item, a review each way, a gold item."""
    annotate_all(project, people["annotator"], by_id, payload_extra=payload)
    annotate_all(project, people["annotator2"], first_shown_first, payload_extra=payload)
    first, second = Annotation.objects.filter(project=project).order_by("pk")[:2]
    reviewer = people["reviewer"]
    annotation_review_accept(project=project, annotation_id=first.pk, reviewer=reviewer)
    annotation_review_reject(
        project=project, annotation_id=second.pk, reviewer=reviewer, comment="Ties missed."
    )
    gold = first.item
    item_gold_mark(project=project, item_id=gold.pk, ranking=[[r] for r in first.display_order])


def _new(slug: str) -> World:
    """Created a minute ago: no guidelines, no items, members who acknowledged nothing."""
    project = make_project(slug=slug, guidelines=False)
    return World(project, _people(project, ack=False))


def _items(slug: str) -> World:
    project = make_project(slug=slug, responses_per_item=3, overlap=2)
    people = _people(project)
    make_items(project, 4)
    return World(project, people)


def _with_everything(slug: str) -> World:
    """Annotations with spans and labels, a rubric, an export, runs, models and the loop."""
    project = make_project(slug=slug, responses_per_item=3, overlap=2, review_rate=1.0)
    people = _people(project)
    make_items(project, 6)
    label = tag_label_save(project=project, name="unsafe")
    tag_label_save(project=project, name="helpful", kind="response")
    _annotated(project, people)
    rating_dimension_save(project=project, name="clarity")  # added after the first rankings
    annotation = Annotation.objects.filter(project=project).order_by("pk").first()
    SpanTag.objects.create(
        annotation=annotation, response_id=annotation.display_order[0], label=label, start=0, end=4
    )
    project_quality_refresh(project_id=project.pk)
    group = group_set_members(project=project, name="seniors", usernames=["annotator"])
    batch = Batch.objects.create(project=project, name="hard ones", restricted=True)
    batch.allowed_groups.add(group)
    make_items(project, 2, batch=batch)
    assignment_claim(user=people["annotator"], project=project)
    _training(project, people["engineer"])
    _writing_too(project, people)
    ImportJob.objects.create(
        project=project, uploaded_by=people["manager"], file_path="gone.jsonl",
        original_name="gone.jsonl", file_format="jsonl", state="failed", error="gone",
    )  # fmt: skip
    # a row behind each of the admin's other pages
    Group.objects.create(name="staff")
    Token.objects.create(user=people["manager"])
    TaskResult.objects.create(task_id="walk-task", status="FAILURE", result='"boom"')
    GroupResult.objects.create(group_id="walk-group")
    return World(project, people)


def _writing_too(project: Project, people: dict) -> None:
    """People also write prompts and answer them: a held write lease."""
    project = project_update(project=project, prompt_writing=True, response_source="queue")
    messages = [{"role": "user", "content": "A prompt the manager wrote for the queue"}]
    prompt_write(project=project, user=people["manager"], messages=messages)
    write_claim(user=people["annotator"], project=project)


def _training(project: Project, engineer) -> None:
    snapshot, _ = snapshot_create(project=project, user=engineer, options={}, enqueue=False)
    snapshot = snapshot_export(snapshot_id=snapshot.pk)
    DatasetSnapshot.objects.create(project=project, number=snapshot.number + 1, options={})
    run = TrainingRun.objects.create(
        project=project, kind="reward", snapshot=snapshot, state="succeeded", step=2,
        total_steps=2, summary={"eval": {"accuracy": 0.5}}, log_tail="\x1b[32mdone\x1b[0m",
    )  # fmt: skip
    RunMetric.objects.bulk_create(
        RunMetric(run=run, step=s, values={"loss": 1.0 / s, "event": "train"}) for s in (1, 2)
    )
    TrainingRun.objects.create(project=project, kind="dpo", snapshot=snapshot, error="no torch")
    model = ModelArtifact.objects.create(
        project=project, kind="reward", name="rm", path="/nonexistent/rm", snapshot=snapshot
    )
    policy = ModelArtifact.objects.create(
        project=project, kind="policy", name="policy", path="/nonexistent/policy"
    )
    generator = Generator.objects.create(project=project, name="local", kind="local", policy=policy)
    loop_round = Round.objects.create(
        project=project, number=2, prompt_source="new", policy=policy, reward_model=model
    )
    loop_round.generators.add(generator)
    prompt_ids = list(project.prompts.values_list("pk", flat=True)[:2])
    job = GenerationJob.objects.create(
        project=project, round=loop_round, state=JobState.RUNNING, prompt_ids=prompt_ids
    )
    job.generators.add(generator)


def _writing(slug: str) -> World:
    project = make_project(slug=slug, responses_per_item=2, overlap=1)
    project = project_update(project=project, prompt_writing=True, response_source="queue")
    people = _people(project)
    messages = [{"role": "user", "content": "A prompt the manager wrote for the queue"}]
    prompt_write(project=project, user=people["manager"], messages=messages)
    mine = [{"role": "user", "content": "A prompt an annotator wrote"}]
    prompt_write(project=project, user=people["annotator"], messages=mine)
    write_claim(user=people["annotator"], project=project)
    return World(project, people)


def _pairwise(slug: str) -> World:
    project = make_project(slug=slug, ranking_mode="pairwise", responses_per_item=2, overlap=2)
    people = _people(project)
    make_items(project, 4)
    _annotated(project, people, payload={"strength": 2})
    return World(project, people)


def _rate(slug: str) -> World:
    project = make_project(slug=slug, ranking_mode="rate", rating_scale=7, overlap=2)
    people = _people(project)
    make_items(project, 3)
    for who in ("annotator", "annotator2"):
        while (lease := assignment_claim(user=people[who], project=project)) is not None:
            ratings = {str(r): 1 + n % 7 for n, r in enumerate(lease.display_order)}
            annotation_submit(
                assignment_id=lease.pk, user=people[who], payload={"ratings": ratings}
            )
    return World(project, people)


def _archived(slug: str) -> World:
    world = _pairwise(slug)
    world.project = project_update(project=world.project, archived=True)
    return world


def _demo(slug: str) -> World:
    """The demo as `make run` loads it (its writing project's quality page once failed)."""
    call_command("load_demo", stdout=io.StringIO())
    users = get_user_model().objects
    people = {role: users.get(username=name) for role, name in DEMO_PEOPLE.items()}
    people["outsider"] = UserFactory(username="outsider")
    return World(Project.objects.get(slug=slug), {"anonymous": None, **people})


DEMO_PEOPLE = {
    "annotator": "annotator1", "annotator2": "annotator2", "reviewer": "reviewer",
    "manager": "manager", "engineer": "engineer", "superuser": "admin",
}  # fmt: skip

STATES = {
    "new": _new,
    "items": _items,
    "annotated": _with_everything,
    "writing": _writing,
    "pairwise": _pairwise,
    "rate": _rate,
    "archived": _archived,
    "demo": lambda slug: _demo("demo"),
    "demo-writing": lambda slug: _demo("demo-writing"),
}
