"""API tokens answered from the cache (common/api/token_auth.py): the same user as the
database would give, and never a token's access after it is revoked or its user changed."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import add_member, make_project


@pytest.fixture
def member(db):
    cache.clear()
    project = make_project(slug="tokens")
    person = add_member(project, username="token-person")
    token = Token.objects.create(user=person)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return project, person, token, client


def _whoami(client, project):
    return client.get(f"/api/v1/projects/{project.slug}/")


def test_a_cached_token_is_the_same_user_with_the_same_rights(
    member, django_assert_max_num_queries
):
    project, person, _, client = member
    assert _whoami(client, project).status_code == 200  # the database answers, then the cache
    user_model = get_user_model()
    with django_assert_max_num_queries(10) as captured:
        assert _whoami(client, project).status_code == 200
    assert not any("authtoken_token" in q["sql"] for q in captured.captured_queries)
    # the user rebuilt from the cache: every right-bearing field as stored, nothing invented
    from common.api.token_auth import CachedTokenAuthentication

    user, _ = CachedTokenAuthentication().authenticate_credentials(
        Token.objects.get(user=person).key
    )
    stored = user_model.objects.get(pk=person.pk)
    for name in ("pk", "username", "is_active", "is_staff", "is_superuser"):
        assert getattr(user, name) == getattr(stored, name), name
    # a field not cached loads from the database when read, not as a blank
    assert user.date_joined == stored.date_joined


def test_a_revoked_token_stops_at_once(member):
    project, _, token, client = member
    assert _whoami(client, project).status_code == 200
    token.delete()
    assert _whoami(client, project).status_code == 401


def test_a_deactivated_user_stops_at_once(member):
    project, person, _, client = member
    assert _whoami(client, project).status_code == 200
    person.is_active = False
    person.save()
    assert _whoami(client, project).status_code == 401


def test_a_user_made_superuser_is_seen_as_one_at_once(member):
    project, person, _, client = member
    other = make_project(slug="not-theirs")
    assert client.get(f"/api/v1/projects/{other.slug}/").status_code == 404
    person.is_superuser = True
    person.save()
    assert client.get(f"/api/v1/projects/{other.slug}/").status_code == 200
