"""Test data builders. Items are bulk-created: thousands per test must stay cheap."""

import factory
from django.contrib.auth import get_user_model

from annotation.models import (
    Annotation,
    Assignment,
    AssignmentState,
    Item,
    ItemResponse,
    Prompt,
    Response,
)
from projects.models import Project, Role
from projects.services import (
    guideline_acknowledge,
    guideline_publish,
    membership_set,
    project_create,
)

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)


def make_project(
    *, manager=None, slug: str = "proj", guidelines: bool = True, **settings
) -> Project:
    """A project made through the services, with a manager and (by default) guidelines v1."""
    manager = manager or UserFactory(username=f"{slug}-manager")
    project = project_create(creator=manager, name=f"Project {slug}", slug=slug, **settings)
    if guidelines:
        guideline_publish(project=project, author=manager, body="# Rules\nRank the best first.")
    return project


def add_member(project: Project, role: str = Role.ANNOTATOR, username: str | None = None, ack=True):
    user = UserFactory(username=username) if username else UserFactory()
    membership_set(project=project, username=user.username, role=role)
    if ack and project.guidelines.exists():
        guideline_acknowledge(project=project, user=user)
    return user


def make_items(
    project: Project,
    count: int,
    *,
    priority: int = 0,
    batch=None,
    k: int | None = None,
    texts=None,
):
    """``count`` items of K responses each, bulk-inserted; returns the items in id order.

    ``texts(n, j)`` gives response j of the n-th item its text (default: "Answer j ...").
    """
    k = k or project.responses_per_item
    start = Prompt.objects.filter(project=project).count()
    prompts = Prompt.objects.bulk_create(
        Prompt(
            project=project,
            external_id=f"t{start + n}",
            messages=[{"role": "user", "content": f"Question number {start + n}?"}],
        )
        for n in range(count)
    )
    responses = Response.objects.bulk_create(
        Response(
            prompt=prompt,
            text=texts(n, j) if texts else f"Answer {j} to prompt {prompt.pk}",
            model_name=f"m{j}",
        )
        for n, prompt in enumerate(prompts)
        for j in range(k)
    )
    items = Item.objects.bulk_create(
        Item(
            project=project,
            prompt=prompt,
            priority=priority,
            batch=batch,
            restricted=bool(batch and batch.restricted),
            open_slots=project.overlap,
        )
        for prompt in prompts
    )
    ItemResponse.objects.bulk_create(
        ItemResponse(item=item, response=responses[i * k + j], position=j)
        for i, item in enumerate(items)
        for j in range(k)
    )
    return items


def judgement_stored(item, user, ranking: list[int]):
    """A pairwise judgement written straight to the tables (for figures read from them;
    the claim and submit paths have their own tests): ``ranking`` best first, no ties."""
    assignment = Assignment.objects.create(
        item=item, user=user, project=item.project, state=AssignmentState.SUBMITTED,
        claimed_at=item.created_at, lease_expires_at=item.created_at, display_order=ranking,
    )  # fmt: skip
    return Annotation.objects.create(
        assignment=assignment, item=item, user=user, project=item.project, mode="pairwise",
        ranking=[[r] for r in ranking], display_order=ranking,
    )  # fmt: skip
