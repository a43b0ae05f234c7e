"""Error pages in the site's layout, the favicon, and a NUL byte refused once for every route."""

import pytest
from django.test import Client

from annotation.quality.models import ProjectQualitySummary
from projects.models import Role
from tests.factories import add_member, make_items
from training.datasets.models import DatasetSnapshot

LAYOUT = ('class="topbar"', "css/preflab.css", "favicon.svg")


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _has_layout(response) -> bool:
    html = response.content.decode()
    return all(mark in html for mark in LAYOUT)


@pytest.mark.urls("tests.error_urls")
def test_a_server_error_answers_the_sites_500_page(db, settings):
    # given a view that fails, with DEBUG off as in production
    settings.DEBUG = False
    client = _client()
    client.raise_request_exception = False
    # when
    response = client.get("/test-failure/")
    # then Django's handler renders 500.html with an empty context, and it is still the site
    assert response.status_code == 500
    assert _has_layout(response), response.content
    assert "Something went wrong" in response.content.decode()


@pytest.mark.urls("tests.error_urls")
def test_a_server_error_under_the_api_answers_json(db, settings):
    settings.DEBUG = False
    client = _client()
    client.raise_request_exception = False
    response = client.get("/api/v1/test-failure/")
    assert response.status_code == 500
    assert response.json() == {
        "error": "server_error",
        "message": "Internal error; it has been logged.",
    }


def test_an_expired_form_answers_the_sites_page(project, manager):
    # given a browser whose form token is missing (signed out and in again in another tab)
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    # when it sends a form
    response = client.post(f"/p/{project.slug}/quality/refresh/")
    # then the 403 says what happened and what to do, in the site's layout
    assert response.status_code == 403
    assert _has_layout(response)
    assert "reload the page and send it again" in response.content.decode()


def test_not_found_and_not_allowed_pages_use_the_layout(project, annotator):
    client = _client(annotator)
    missing = client.get("/no/such/page/")
    assert missing.status_code == 404 and _has_layout(missing)
    refused = client.get(f"/p/{project.slug}/settings/")
    assert refused.status_code == 403 and _has_layout(refused)
    assert annotator.username in refused.content.decode()  # the header knows who is signed in


def test_the_favicon_is_linked_and_served(project, annotator):
    page = _client(annotator).get(f"/p/{project.slug}/")
    assert '<link rel="icon" href="/static/favicon.svg"' in page.content.decode()
    # browsers ask for /favicon.ico on their own
    redirect = _client().get("/favicon.ico")
    assert redirect.status_code == 301 and redirect["Location"] == "/static/favicon.svg"
    icon = _client().get("/static/favicon.svg")
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)


@pytest.fixture
def snapshot(project):
    return DatasetSnapshot.objects.create(project=project, number=1, options={})


# (method, url) with a NUL in a string path parameter or in the query: each was a 500 on
# PostgreSQL (the database refuses NUL in a lookup) or in the file view (os refuses it).
NUL_REQUESTS = [
    ("get", "/api/v1/training-runs/?project=%00"),
    ("get", "/api/v1/models/?project=%00"),
    ("post", "/api/v1/training-runs/?project=%00"),
    ("post", "/api/v1/projects/{slug}/annotators/%00/resume/"),
    ("get", "/api/v1/projects/{slug}/annotators/a%00b/resume/"),
    ("get", "/api/v1/snapshots/{snapshot}/files/%00"),
    ("get", "/api/v1/snapshots/{snapshot}/files/train.jsonl%00.txt"),
    ("get", "/api/v1/projects/{slug}/annotations/mine/?q=a%00b"),
    ("get", "/p/{slug}/snapshots/{number}/files/%00"),
    ("get", "/p/{slug}/history/?q=Question%00"),
    ("get", "/p/{slug}/quality/?sort=%00"),
    ("post", "/p/{slug}/snapshots/?next=%00"),
    ("get", "/p/{slug}/?%00=1"),
]


@pytest.mark.parametrize("method,url", NUL_REQUESTS)
def test_a_nul_byte_is_refused_with_a_clear_message(project, engineer, snapshot, method, url):
    # given a member allowed to reach every one of these routes
    client = _client(project.memberships.get(role=Role.MANAGER).user)
    if "training-runs" in url or "models" in url or "snapshots" in url:
        client = _client(engineer)
    url = url.format(slug=project.slug, snapshot=snapshot.pk, number=snapshot.number)
    # when
    response = getattr(client, method)(url)
    # then a 400 that says why, as JSON for the API and as the site's page otherwise
    assert response.status_code == 400, (url, response.status_code, response.content[:300])
    if url.startswith("/api/"):
        assert response.json() == {
            "error": "bad_request",
            "message": "The address contains a NUL character (%00), "
            "which no page or endpoint accepts.",
        }
    else:
        assert _has_layout(response)
        assert "contains a NUL character" in response.content.decode()


def test_a_request_django_refuses_answers_the_sites_400_page(db):
    # Django renders 400.html without the request (here: a host not in ALLOWED_HOSTS)
    response = _client().get("/", HTTP_HOST="unknown.example")
    assert response.status_code == 400
    assert _has_layout(response) and "Bad request" in response.content.decode()


def test_a_nul_byte_under_static_is_no_server_error(db):
    assert _client().get("/static/css/%00").status_code < 500


def test_the_quality_page_of_a_project_never_refreshed(project, manager):
    # given a project with items whose quality summary was never computed
    make_items(project, 3)
    add_member(project, Role.ANNOTATOR, "annotator")
    assert not ProjectQualitySummary.objects.filter(project=project).exists()
    # when its manager opens the quality page
    response = _client(manager).get(f"/p/{project.slug}/quality/")
    # then the page says the figures will come instead of failing on the missing summary
    assert response.status_code == 200
    html = response.content.decode()
    assert "Figures over time appear after the first background refresh." in html
    assert "<strong>—</strong><span>median time per item</span>" in html
