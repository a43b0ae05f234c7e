"""Fill a benchmark database through PrefLab's own services (call app.django_boot first)."""

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from rest_framework.authtoken.models import Token

from annotation.models import Item, ItemResponse, Prompt, Response
from benchmarks.texts import TextMaker
from projects.models import Project, Role
from projects.services import (
    guideline_acknowledge,
    guideline_publish,
    membership_set,
    project_create,
)

MANAGER = "bench-manager"


def annotators_create(count: int) -> dict[str, str]:
    """``count`` annotator accounts and the manager; returns {username: API token}."""
    User = get_user_model()
    names = [f"bench-annotator-{n:03d}" for n in range(count)]
    existing = set(
        User.objects.filter(username__in=[*names, MANAGER]).values_list("username", flat=True)
    )
    # Token auth needs no password; an unusable one skips the (slow, by design) hashing.
    new = [User(username=name) for name in [*names, MANAGER] if name not in existing]
    for user in new:
        user.set_unusable_password()
    User.objects.bulk_create(new)
    users = User.objects.filter(username__in=names).order_by("username")
    return {user.username: Token.objects.get_or_create(user=user)[0].key for user in users}


@transaction.atomic
def project_seed(
    *, slug: str, usernames: list[str], items: int, k: int, overlap: int, texts: TextMaker
) -> Project:
    """A rank-mode project with published guidelines every annotator has acknowledged."""
    manager = get_user_model().objects.get(username=MANAGER)
    project = project_create(
        creator=manager,
        name=f"Benchmark {slug}",
        slug=slug,
        ranking_mode="rank",
        responses_per_item=k,
        overlap=overlap,
    )
    guideline_publish(project=project, author=manager, body="# Rules\nRank the best first.")
    for user in get_user_model().objects.filter(username__in=usernames):
        membership_set(project=project, username=user.username, role=Role.ANNOTATOR)
        guideline_acknowledge(project=project, user=user)
    items_create(project, items, texts=texts)
    return project


def items_create(project: Project, count: int, *, texts: TextMaker, chunk: int = 1000) -> None:
    """Bulk-insert ``count`` items of K realistic responses each, as an import would."""
    k = project.responses_per_item
    for start in range(0, count, chunk):
        size = min(chunk, count - start)
        prompts = Prompt.objects.bulk_create(
            Prompt(project=project, external_id=f"b{start + n}", messages=texts.conversation())
            for n in range(size)
        )
        responses = Response.objects.bulk_create(
            Response(prompt=prompt, text=text, model_name=f"model-{j}")
            for prompt in prompts
            for j, text in enumerate(texts.responses(k))
        )
        new_items = Item.objects.bulk_create(
            Item(project=project, prompt=prompt, open_slots=project.overlap) for prompt in prompts
        )
        ItemResponse.objects.bulk_create(
            ItemResponse(item=item, response=responses[i * k + j], position=j)
            for i, item in enumerate(new_items)
            for j in range(k)
        )


def statistics_refresh() -> None:
    """ANALYZE, as autovacuum would have done within a minute of a real import.

    Without it the planner sees freshly seeded tables as nearly empty, which is the
    state of a brand-new project rather than of a working one.
    """
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
