"""Many writers answering at once: every prompt gets exactly K responses from K people."""

import threading
import time
from collections import Counter

import pytest
from django.db import connection

from annotation.authoring.services.prompts import prompt_write
from annotation.authoring.services.response_queue import write_claim, write_submit
from annotation.models import Item, Prompt, PromptStatus, Response
from tests.annotation.test_claim_concurrency import shareable_database
from tests.factories import add_member, make_project


def _open_to(user, project) -> bool:
    """Whether a prompt still needs a response this writer may give (not theirs, not had)."""
    return (
        Prompt.objects.filter(project=project, open_write_slots__gt=0)
        .exclude(author=user)
        .exclude(write_assignments__user=user)
        .exists()
    )


def _write_until_empty(user, project, errors: list, barrier) -> None:
    try:
        barrier.wait()
        while True:
            lease = write_claim(user=user, project=project)
            if lease is None:
                # Nothing free this instant can mean every open prompt is locked by another
                # writer's claim (SKIP LOCKED): stop only when none is left for this writer.
                if not _open_to(user, project):
                    return
                time.sleep(0.01)
                continue
            write_submit(
                assignment_id=lease.pk, user=user, text=f"{user.username} on {lease.prompt_id}"
            )
    except Exception as exc:  # surfaced by the assertion below
        errors.append(repr(exc))
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_fill_each_prompt_exactly():
    if not shareable_database():
        pytest.skip(
            "threads cannot share the in-memory SQLite database; "
            "test_sqlite_file_database_under_concurrency reruns this on a SQLite file"
        )
    # given 40 written prompts needing 3 responses each, and 12 writers
    project = make_project(
        slug="wrace", prompt_writing=True, response_source="queue", responses_per_item=3
    )
    author = add_member(project, username="author")
    for n in range(40):
        text = f"Prompt {n}: " + " ".join(f"w{n * 7 + j}" for j in range(12))
        prompt_write(project=project, user=author, messages=[{"role": "user", "content": text}])
    writers = [add_member(project, username=f"w{n}") for n in range(12)]
    barrier = threading.Barrier(len(writers))
    errors: list = []
    # when they all answer at once until nothing is left
    threads = [
        threading.Thread(target=_write_until_empty, args=(w, project, errors, barrier))
        for w in writers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    # then every prompt has exactly 3 responses by 3 different writers, and is an item
    assert errors == []
    per_prompt = Counter(Response.objects.values_list("prompt_id", flat=True))
    assert set(per_prompt.values()) == {3} and len(per_prompt) == 40
    pairs = Response.objects.values_list("prompt_id", "author_id")
    assert len(set(pairs)) == len(pairs)
    assert not Prompt.objects.exclude(status=PromptStatus.READY).exists()
    assert Item.objects.count() == 40
    assert not Prompt.objects.exclude(open_write_slots=0).exists()
