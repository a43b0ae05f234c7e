"""Password guessing: the login page and the API's token endpoint share one limit.

The limit is the "auth" rate (30 tries a minute) per client address and per username;
a refused login page says how long to wait, with 429 and Retry-After.
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

RATE = 30  # PREFLAB_AUTH_RATE's default, 30/min


def login(client: Client, password: str, username: str = "victim"):
    return client.post("/accounts/login/", {"username": username, "password": password})


@pytest.fixture
def victim(db):
    return UserFactory(username="victim")


def test_the_login_page_refuses_password_guessing_and_says_how_long_to_wait(victim):
    # given someone who tried as many wrong passwords as the rate allows
    client = Client()
    assert {login(client, f"guess {n}").status_code for n in range(RATE)} == {200}

    # when they try again, this time with the right password
    refused = login(client, PASSWORD)

    # then the page refuses it, says to wait and how long, and nobody is logged in
    assert refused.status_code == 429
    seconds = int(refused["Retry-After"])
    assert 1 <= seconds <= 60
    page = refused.content.decode()
    assert "Too many login attempts" in page
    assert f"Wait {seconds} second" in page
    assert "_auth_user_id" not in client.session


def test_guessing_one_username_from_many_addresses_is_refused_too(victim):
    # given wrong passwords for one user, each from another address
    for n in range(RATE):
        assert login(Client(REMOTE_ADDR=f"10.0.0.{n + 1}"), f"guess {n}").status_code == 200

    # when a fresh address tries that user once more, and another user from there
    fresh = Client(REMOTE_ADDR="10.0.1.1")
    refused = login(fresh, PASSWORD)
    UserFactory(username="bystander")
    other = login(fresh, PASSWORD, username="bystander")

    # then that user is refused, and the other user logs in
    assert refused.status_code == 429
    assert other.status_code == 302 and other["Location"] == "/"


def test_the_token_endpoint_and_the_login_page_count_against_one_limit(victim):
    # given wrong passwords spent on the API's token endpoint from one address
    api = APIClient(REMOTE_ADDR="10.0.2.1")
    for n in range(RATE):
        tried = api.post(
            "/api/v1/auth/token/", {"username": "victim", "password": f"guess {n}"}, format="json"
        )
        assert tried.status_code == 400

    # when the login page is tried from the same address, for another user too
    UserFactory(username="bystander")
    page = login(Client(REMOTE_ADDR="10.0.2.1"), PASSWORD, username="bystander")
    token = APIClient(REMOTE_ADDR="10.0.2.2").post(
        "/api/v1/auth/token/", {"username": "victim", "password": PASSWORD}, format="json"
    )

    # then both refuse: the address's budget and the username's are spent
    assert page.status_code == 429
    assert token.status_code == 429


def test_a_right_password_within_the_limit_logs_in(victim):
    client = Client()
    for n in range(3):
        login(client, f"guess {n}")
    answer = login(client, PASSWORD)
    assert answer.status_code == 302
    assert client.session["_auth_user_id"] == str(victim.pk)


def test_with_the_cache_down_logins_still_work_unlimited(victim, settings):
    # given a cache that cannot be reached (nothing listens on that port)
    settings.CACHES = {
        "default": {
            "BACKEND": "common.redis_cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }

    # when someone logs in on the page and through the API
    page = login(Client(), PASSWORD)
    token = APIClient().post(
        "/api/v1/auth/token/", {"username": "victim", "password": PASSWORD}, format="json"
    )

    # then both work: nobody is locked out because the limiter cannot count
    assert page.status_code == 302
    assert token.status_code == 200
