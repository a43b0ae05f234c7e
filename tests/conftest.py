import os

import pytest

from projects.models import Role
from tests.factories import UserFactory, add_member, make_project

# live_server + sync Playwright run Django ORM calls from the event loop thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.fixture
def manager(db):
    return UserFactory(username="manager")


@pytest.fixture
def project(db, manager):
    return make_project(manager=manager, slug="proj", responses_per_item=4, overlap=2)


@pytest.fixture
def annotator(project):
    return add_member(project, Role.ANNOTATOR, "annotator")


@pytest.fixture
def reviewer(project):
    return add_member(project, Role.REVIEWER, "reviewer")


@pytest.fixture
def engineer(project):
    return add_member(project, Role.ENGINEER, "engineer")


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")
