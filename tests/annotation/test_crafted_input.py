"""Pages and endpoints answer odd but possible input with a clear message, never a 500
(several of these only failed on PostgreSQL), and reviewers never see the answers on an
item they hold to annotate."""

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.authoring.selectors import annotations_of_user
from annotation.models import SpanTag
from annotation.services.claiming import assignment_claim
from projects.labels.services import tag_label_save
from projects.models import Membership, Project, Role
from tests.annotation.quality_helpers import annotate_all, by_id
from tests.factories import add_member, make_items, make_project

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("why", ["paused", "archived"])
def test_no_more_work_is_a_page_that_says_why(why):
    project = make_project(slug=f"stop-{why}", responses_per_item=2)
    make_items(project, 3)
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    if why == "paused":
        Membership.objects.filter(user=annotator, project=project).update(
            paused_at=timezone.now(), paused_reason="gold score 0.20 below 0.60"
        )
    else:
        Project.objects.filter(pk=project.pk).update(archived=True)
    client = _client(annotator)
    page = client.get(f"/p/{project.slug}/annotate/")
    assert page.status_code == 200 and "data-stopped" in page.content.decode()
    expected = "gold score 0.20 below 0.60" if why == "paused" else "archived"
    assert expected in page.content.decode()
    fragment = client.post(f"/p/{project.slug}/annotate/next/", {"exclude": "1"})
    assert fragment.status_code == 200 and expected in fragment.content.decode()


def test_a_reviewer_never_reviews_an_item_they_hold_to_annotate():
    project = make_project(slug="rev-lease", responses_per_item=2, overlap=3, review_rate=1.0)
    (item,) = make_items(project, 1)
    for name in ("a", "b"):
        annotate_all(project, add_member(project, Role.ANNOTATOR, name), by_id)
    reviewer = add_member(project, Role.REVIEWER, "rev")
    client = _client(reviewer)
    assert f"/review/items/{item.pk}/" in client.get(f"/p/{project.slug}/review/").content.decode()
    lease = assignment_claim(user=reviewer, project=project)  # reviewers annotate too
    assert lease is not None and lease.item_id == item.pk
    assert (
        f"/review/items/{item.pk}/" not in client.get(f"/p/{project.slug}/review/").content.decode()
    )
    assert client.get(f"/p/{project.slug}/review/items/{item.pk}/").status_code == 404


def test_unstorable_characters_are_named():
    project = make_project(slug="chars", prompt_writing=True, response_source="writer")
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    api = APIClient()
    api.force_authenticate(annotator)
    # A JSON escape of a lone surrogate: valid JSON, but no valid text (a 500 before).
    response = api.post(
        f"/api/v1/projects/{project.slug}/prompts/",
        '{"messages": [{"role": "user", "content": "\\ud800 hello"}]}',
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert "unpaired UTF-16 surrogate (\\ud800)" in response.json()["message"]


def test_a_nul_in_the_history_search_finds_nothing_rather_than_failing():
    project = make_project(slug="hist", responses_per_item=2)
    make_items(project, 2)
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    annotate_all(project, annotator, by_id)
    # a query string with NUL never reaches a view (common/web/nul_bytes.py answers 400) ...
    client = _client(annotator)
    assert client.get(f"/p/{project.slug}/history/", {"q": "Question\x00"}).status_code == 400
    api = APIClient()
    api.force_authenticate(annotator)
    mine = api.get(f"/api/v1/projects/{project.slug}/annotations/mine/", {"q": "a\x00b"})
    assert mine.status_code == 400
    # ... and the search itself still reads NUL as a space, whoever calls it
    found = annotations_of_user(user=annotator, project=project, query="Question\x00")
    assert found.count() == 2


def test_a_label_in_use_stays_with_a_message():
    project = make_project(slug="labels-used", responses_per_item=2)
    manager = project.memberships.get(role=Role.MANAGER).user
    label = tag_label_save(project=project, name="unsafe", kind="span", colour="#cc0000")
    (item,) = make_items(project, 1)
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    response_id = item.item_responses.first().response_id
    annotate_all(project, annotator, by_id, payload_extra={
        "spans": [{"response": response_id, "label": label.pk, "start": 0, "end": 3}]})  # fmt: skip
    assert SpanTag.objects.filter(label=label).exists()
    api = APIClient()
    api.force_authenticate(manager)
    gone = api.delete(f"/api/v1/projects/{project.slug}/labels/{label.pk}/")
    assert gone.status_code == 409 and "is used by 1" in gone.json()["message"]
    page = _client(manager).post(f"/p/{project.slug}/labels/{label.pk}/delete/", follow=True)
    assert page.status_code == 200 and "is used by 1" in page.content.decode()
    assert project.tag_labels.filter(pk=label.pk).exists()


def test_odd_numbers_in_forms_are_refused_plainly():
    project = make_project(slug="numbers", responses_per_item=2, overlap=2, review_rate=1.0)
    manager = project.memberships.get(role=Role.MANAGER).user
    (item,) = make_items(project, 1)
    annotate_all(project, add_member(project, Role.ANNOTATOR, "ann"), by_id)
    responses = list(item.item_responses.values_list("response_id", flat=True))
    client = _client(manager)
    # "²".isdigit() is true and int("²") fails: a rank select posted by hand.
    corrected = client.post(
        f"/p/{project.slug}/review/items/{item.pk}/gold/",
        {f"rank-{responses[0]}": "²", f"rank-{responses[1]}": "1"}, follow=True,
    )  # fmt: skip
    assert (
        corrected.status_code == 200 and "Give every response a rank" in corrected.content.decode()
    )
    compare = client.get(f"/p/{project.slug}/runs/compare/", {"run": ["9" * 40, "²"]})
    assert compare.status_code == 200


def test_the_settings_page_keeps_quality_rates_in_range():
    # The page's form checks it, and so does the service now (as the API's serializer did).
    project = make_project(slug="rates")
    manager = project.memberships.get(role=Role.MANAGER).user
    from projects.forms import ProjectSettingsForm

    shown = ProjectSettingsForm(instance=project)
    form = {name: shown[name].value() for name in shown.fields}
    form = {k: ("on" if v is True else v) for k, v in form.items() if v not in (None, False)}
    page = _client(manager).post(f"/p/{project.slug}/settings/", {**form, "gold_rate": "5"})
    assert page.status_code == 200
    assert "must be between 0 and 0.5" in page.content.decode()
    project.refresh_from_db()
    assert project.gold_rate <= 0.5


def test_the_service_keeps_quality_rates_in_range_whoever_calls_it():
    from common.errors import ApplicationError
    from projects.services import project_update

    project = make_project(slug="rates-service")
    with pytest.raises(ApplicationError, match="Gold threshold must be between 0 and 1"):
        project_update(project=project, gold_threshold=2)
    with pytest.raises(ApplicationError, match="Review rate must be between 0 and 1"):
        project_update(project=project, review_rate=-0.1)
