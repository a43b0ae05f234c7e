"""A page's hidden client_token can be anything a crafted request puts there: too long or
holding NUL, it is refused with a message naming it (PostgreSQL failed with a 500)."""

import pytest
from django.test import Client

from common.errors import ApplicationError
from projects.models import Role
from tests.factories import add_member, make_project
from training.datasets.models import DatasetSnapshot
from training.datasets.services.snapshots import snapshot_create
from training.loop.services.generators import generator_save
from training.loop.services.rounds import round_start
from training.runs.services.runs import run_create

pytestmark = pytest.mark.django_db

BAD = ["x" * 65, "abc\x00def"]


@pytest.mark.parametrize("token", BAD)
def test_services_refuse_a_bad_token_naming_it(token):
    project = make_project(slug="tokens")
    engineer = add_member(project, Role.ENGINEER, "eng")
    generator_save(project=project, name="g", kind="local", model_path="/models/x")
    calls = [
        lambda: snapshot_create(project=project, user=engineer, options={}, client_token=token),
        lambda: run_create(
            project=project, user=engineer, kind="reward", snapshot=None, client_token=token
        ),  # fmt: skip
        lambda: round_start(
            project=project, user=engineer, prompt_source="new", prompts=1, client_token=token
        ),  # fmt: skip
    ]
    for call in calls:
        with pytest.raises(ApplicationError) as caught:
            call()
        assert caught.value.extra["field"] == "client_token"


def test_the_snapshot_page_shows_the_refusal_instead_of_failing():
    project = make_project(slug="tokens-page")
    engineer = add_member(project, Role.ENGINEER, "eng")
    client = Client()
    client.force_login(engineer)
    form = {"formats": ["pairwise"], "file_types": ["jsonl"], "aggregation": "per_annotator",
            "train": "0.9", "validation": "0", "test": "0.1", "seed": "0", "binarization": "all",
            "none_acceptable": "exclude", "style": "conversational", "review": "any",
            "assistance": "any", "client_token": "x" * 200}  # fmt: skip
    page = client.post(f"/p/{project.slug}/snapshots/", form)
    assert (
        page.status_code == 200 and "client_token: at most 64 characters" in page.content.decode()
    )
    assert not DatasetSnapshot.objects.filter(project=project).exists()
