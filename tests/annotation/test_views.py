"""The HTML pages: full page vs htmx fragment, no-JS fallbacks, roles."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.importing.models import ImportJob
from annotation.models import Annotation, AssignmentState
from projects.models import Role
from tests.factories import add_member, make_items, make_project


@pytest.fixture
def browser(client, annotator):
    client.force_login(annotator)
    return client


def assignment_ids(html: str) -> list[str]:
    return re.findall(r'data-assignment="(\d+)"', html)


def response_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-response="(\d+)"', html)]


def test_annotate_page_holds_current_and_prefetched_item(project, browser):
    make_items(project, 3)
    html = browser.get(f"/p/{project.slug}/annotate/").content.decode()
    current, upcoming = assignment_ids(html)
    assert current != upcoming
    assert 'id="prefetch"' in html
    assert "Today <strong data-today>0</strong>" in html


def test_unacknowledged_guidelines_redirect_there_first(project, client):
    newcomer = add_member(project, ack=False)
    client.force_login(newcomer)
    response = client.get(f"/p/{project.slug}/annotate/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"/p/{project.slug}/guidelines/")
    page = client.get(response["Location"]).content.decode()
    assert 'id="acknowledge"' in page
    acked = client.post(
        f"/p/{project.slug}/guidelines/ack/", {"version": 1, "next": f"/p/{project.slug}/annotate/"}
    )
    assert acked["Location"] == f"/p/{project.slug}/annotate/"


def test_ack_refuses_offsite_next(project, client):
    newcomer = add_member(project, ack=False)
    client.force_login(newcomer)
    response = client.post(f"/p/{project.slug}/guidelines/ack/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/p/{project.slug}/annotate/"


def test_fetch_submit_returns_the_next_fragment_with_progress(project, browser):
    make_items(project, 3)
    html = browser.get(f"/p/{project.slug}/annotate/").content.decode()
    current, upcoming = assignment_ids(html)
    ids = response_ids(html)[:4]
    response = browser.post(
        f"/p/{project.slug}/annotate/{current}/submit/",
        {
            "payload": json.dumps({"ranking": [[i] for i in ids]}),
            "shown": upcoming,
            "client_token": "c1",
        },
        headers={"X-Preflab-Fetch": "1"},
    )
    fragment = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in fragment
    assert assignment_ids(fragment) and assignment_ids(fragment)[0] not in {current, upcoming}
    assert 'id="progress-line"' in fragment and "<strong data-today>1</strong>" in fragment


def test_fetch_submit_error_is_json_with_the_message(project, browser):
    make_items(project, 2)
    current = assignment_ids(browser.get(f"/p/{project.slug}/annotate/").content.decode())[0]
    response = browser.post(
        f"/p/{project.slug}/annotate/{current}/submit/",
        {"payload": json.dumps({"ranking": []})},
        headers={"X-Preflab-Fetch": "1"},
    )
    assert response.status_code == 400
    assert "ranking" in response.json()["message"]


def test_plain_form_submit_works_without_javascript(project, browser, annotator):
    make_items(project, 2)
    html = browser.get(f"/p/{project.slug}/annotate/").content.decode()
    current = assignment_ids(html)[0]
    ids = response_ids(html)[:4]
    form = {f"rank-{rid}": str(rank) for rank, rid in enumerate(ids, start=1)}
    form[f"rank-{ids[3]}"] = "3"  # a tie between the third and fourth
    response = browser.post(
        f"/p/{project.slug}/annotate/{current}/submit/", {**form, "none_acceptable": "on"}
    )
    assert response.status_code == 302
    annotation = Annotation.objects.get(user=annotator)
    assert annotation.ranking == [[ids[0]], [ids[1]], sorted(ids[2:])]
    assert annotation.none_acceptable


def test_garbage_form_values_are_a_clear_error_not_a_500(project, browser):
    make_items(project, 1)
    current = assignment_ids(browser.get(f"/p/{project.slug}/annotate/").content.decode())[0]
    response = browser.post(
        f"/p/{project.slug}/annotate/{current}/submit/",
        {"rank-1": "first"},
        headers={"X-Preflab-Fetch": "1"},
    )
    assert response.status_code == 400
    assert "not a number" in response.json()["message"]


def test_skip_from_the_page(project, browser, annotator):
    make_items(project, 2)
    current = assignment_ids(browser.get(f"/p/{project.slug}/annotate/").content.decode())[0]
    browser.post(f"/p/{project.slug}/annotate/{current}/skip/")
    assert annotator.assignments.get(pk=current).state == AssignmentState.SKIPPED


def test_guidelines_fragment_for_htmx(project, browser):
    full = browser.get(f"/p/{project.slug}/guidelines/").content.decode()
    fragment = browser.get(
        f"/p/{project.slug}/guidelines/", headers={"HX-Request": "true"}
    ).content.decode()
    assert "<html" in full and "<html" not in fragment
    assert 'id="guideline-body"' in fragment


def test_guideline_preview_is_sanitized(project, client, manager):
    client.force_login(manager)
    response = client.post(
        f"/p/{project.slug}/guidelines/preview/",
        {"body": "**ok** <script>x()</script>"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "<strong>ok</strong>" in html and "<script>" not in html


def test_manager_pages_forbid_annotators(project, browser):
    for page in ("settings", "members", "imports", "batches", "guidelines/edit"):
        assert browser.get(f"/p/{project.slug}/{page}/").status_code == 403, page


def test_outsiders_get_404_everywhere(project, client, outsider):
    client.force_login(outsider)
    for page in ("", "annotate/", "guidelines/", "settings/", "imports/"):
        assert client.get(f"/p/{project.slug}/{page}").status_code == 404, page


def test_anonymous_users_are_sent_to_login(project, client):
    response = client.get(f"/p/{project.slug}/annotate/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_manager_uploads_an_import_from_the_page(project, client, manager):
    client.force_login(manager)
    content = json.dumps({"id": "p1", "prompt": "Hi?", "responses": ["a", "b", "c", "d"]}) + "\n"
    response = client.post(
        f"/p/{project.slug}/imports/", {"file": SimpleUploadedFile("x.jsonl", content.encode())}
    )
    job = ImportJob.objects.get()
    assert response["Location"] == f"/p/{project.slug}/imports/{job.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "<progress" in page and 'hx-trigger="every 1s"' in page


def test_manager_restricts_a_batch_from_the_page(project, client, manager):
    from annotation.models import Batch

    add_member(project, Role.ANNOTATOR, "alice")
    batch = Batch.objects.create(project=project, name="hard")
    make_items(project, 2, batch=batch)
    client.force_login(manager)
    client.post(
        f"/p/{project.slug}/batches/restrict/",
        {"batch": batch.pk, "restricted": "on", "usernames": "alice"},
    )
    batch.refresh_from_db()
    assert batch.restricted and list(batch.allowed_users.values_list("username", flat=True)) == [
        "alice"
    ]
    assert not batch.items.filter(restricted=False).exists()


def test_healthz(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("rank", "focus then moves to the first unranked response"),
        ("rate", "focus then moves to the first unscored response"),
    ],
)
def test_the_shortcuts_list_says_where_focus_goes_after_a_digit(db, client, mode, says):
    # given a project whose digits move focus on (static/js/annotate.js setRank / setScore)
    project = make_project(slug=f"keys-{mode}", responses_per_item=4, ranking_mode=mode)
    make_items(project, 1)
    client.force_login(add_member(project, Role.ANNOTATOR))

    # when the annotator opens the ranking page
    html = client.get(f"/p/{project.slug}/annotate/").content.decode()

    # then the "?" list says so, or "1 J 2 J 3 J 4" surprises them
    dialog = html.split('id="shortcuts-dialog"')[1].split("</dialog>")[0]
    assert says in dialog
