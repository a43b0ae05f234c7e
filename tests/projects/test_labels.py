"""The project's tag set and rubric: services, API and the manager's page."""

import re
from html import unescape

import pytest
from rest_framework.test import APIClient

from common.errors import ApplicationError, ConflictError
from projects.labels.models import RatingDimension, TagLabel
from projects.labels.services import rating_dimension_save, tag_label_save


def test_labels_are_unique_by_name_and_hotkey(project):
    tag_label_save(project=project, name="factual error", hotkey="f", colour="#FF0000")
    with pytest.raises(ConflictError):
        tag_label_save(project=project, name="factual error")
    with pytest.raises(ConflictError):
        tag_label_save(project=project, name="unsafe", hotkey="F")
    assert TagLabel.objects.get(name="factual error").colour == "#ff0000"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": " "}, "name"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": "x", "hotkey": "s"}, "taken by the ranking page"),
        ({"name": "x", "hotkey": "1"}, "taken by the ranking page"),
        ({"name": "x", "hotkey": "xy"}, "one key"),
        ({"name": "x", "kind": "sentence"}, "kind"),
    ],
)
def test_bad_labels_are_refused_by_field(project, fields, message):
    with pytest.raises(ApplicationError, match=message):
        tag_label_save(project=project, **fields)


def test_rubric_dimensions_validate_scale_and_share_hotkeys_with_nobody(project):
    tag_label_save(project=project, name="unsafe", hotkey="x")
    rating_dimension_save(project=project, name="helpful", scale=7, hotkey="h")
    with pytest.raises(ApplicationError, match="scale"):
        rating_dimension_save(project=project, name="honest", scale=11)
    with pytest.raises(ConflictError, match="tag label"):
        rating_dimension_save(project=project, name="harmless", hotkey="x")
    with pytest.raises(ConflictError, match="rubric dimension"):
        tag_label_save(project=project, name="off-topic", hotkey="h")
    assert list(RatingDimension.objects.values_list("name", "scale")) == [("helpful", 7)]


def test_api_members_read_managers_write(project, manager, annotator):
    as_manager, as_annotator = APIClient(), APIClient()
    as_manager.force_authenticate(manager)
    as_annotator.force_authenticate(annotator)
    url = f"/api/v1/projects/{project.slug}/labels/"
    created = as_manager.post(url, {"name": "hallucinated citation", "hotkey": "c"}, format="json")
    assert created.status_code == 201, created.content
    assert as_annotator.post(url, {"name": "nope"}, format="json").status_code == 403
    assert [label["name"] for label in as_annotator.get(url).json()] == ["hallucinated citation"]
    label_id = created.json()["id"]
    patched = as_manager.patch(f"{url}{label_id}/", {"colour": "#00aa00"}, format="json")
    assert patched.json()["colour"] == "#00aa00" and patched.json()["hotkey"] == "c"
    assert as_manager.delete(f"{url}{label_id}/").status_code == 204
    assert as_manager.delete(f"{url}{label_id}/").status_code == 404


def test_api_rubric_round_trip(project, manager):
    client = APIClient()
    client.force_authenticate(manager)
    url = f"/api/v1/projects/{project.slug}/rubric/"
    assert client.post(url, {"name": "helpful", "scale": 1}, format="json").status_code == 400
    dimension = client.post(
        url, {"name": "helpful", "scale": 7, "hotkey": "h"}, format="json"
    ).json()
    assert (
        client.patch(f"{url}{dimension['id']}/", {"scale": 5}, format="json").json()["scale"] == 5
    )
    assert [d["name"] for d in client.get(url).json()] == ["helpful"]


def test_manager_page_adds_and_deletes(project, manager, client):
    client.force_login(manager)
    url = f"/p/{project.slug}/labels/"
    client.post(
        f"{url}add/",
        {
            "name": "good reasoning",
            "kind": "span",
            "colour": "#33aa33",
            "hotkey": "q",
        },
    )
    client.post(f"{url}dimensions/add/", {"name": "harmless", "scale": 5, "hotkey": ""})
    page = client.get(url).content.decode()
    assert "good reasoning" in page and "harmless" in page
    label = TagLabel.objects.get(name="good reasoning")
    client.post(f"{url}{label.pk}/delete/")
    assert not TagLabel.objects.filter(pk=label.pk).exists()
    dimension = project.rating_dimensions.get(name="harmless")
    client.post(f"{url}dimensions/{dimension.pk}/delete/")
    assert not project.rating_dimensions.exists()
    error = client.post(
        f"{url}add/",
        {"name": "x", "kind": "span", "colour": "#000000", "hotkey": "s"},
        follow=True,
    )
    assert "taken by the ranking page" in error.content.decode()


def test_annotators_cannot_open_the_page(project, annotator, client):
    client.force_login(annotator)
    assert client.get(f"/p/{project.slug}/labels/").status_code == 403


def _field_error(html: str, field: str) -> str:
    """The text of Django's error list for ``field`` (rendered beside it by ``as_p``)."""
    start = html.index(f'<ul class="errorlist" id="id_{field}_error">')
    return unescape(html[start : html.index("</ul>", start)])


def test_a_refused_label_keeps_what_was_typed_with_the_error_on_its_field(project, manager, client):
    # given: a manager who typed a name and a description and a key the ranking page uses
    client.force_login(manager)
    typed = {"name": "made-up citation", "kind": "response",
             "colour": "#aa3355", "hotkey": "j", "description": "Cites a paper that <none> wrote"}  # fmt: skip

    # when they add the label
    page = client.post(f"/p/{project.slug}/labels/add/", typed)

    # then: nothing is saved and the form comes back as typed, the error beside the hotkey
    assert page.status_code == 400 and not TagLabel.objects.exists()
    html = page.content.decode()
    form = html.split("<h2>Add a label</h2>")[1].split("</form>")[0]
    assert 'value="made-up citation"' in form and 'value="#aa3355"' in form
    assert 'value="Cites a paper that &lt;none&gt; wrote"' in form
    assert '<option value="response" selected>' in form
    assert "'j' is taken by the ranking page: choose another key" in _field_error(form, "hotkey")
    assert 'aria-invalid="true" aria-describedby="id_hotkey_error"' in form
    assert 'class="messages"' not in html and "hotkey:" not in html


def test_a_clashing_hotkey_or_name_is_put_on_that_field(project, manager, client):
    # given: a label with a name and a hotkey
    tag_label_save(project=project, name="unsafe", hotkey="x")
    client.force_login(manager)
    url = f"/p/{project.slug}/labels/add/"
    base = {"kind": "span", "colour": "#000000"}

    # when a second label takes its hotkey, then its name
    by_key = client.post(url, {**base, "name": "risky", "hotkey": "X"}).content.decode()
    by_name = client.post(url, {**base, "name": "unsafe", "hotkey": "q"}).content.decode()

    # then: each error sits on the field that clashed and what was typed stays
    assert "'x' is already the hotkey of another label" in _field_error(by_key, "hotkey")
    assert 'value="risky"' in by_key
    assert "'unsafe' is already in this project: choose another name." in _field_error(
        by_name, "name"
    )
    assert TagLabel.objects.count() == 1


def test_the_two_add_forms_have_their_own_ids_and_every_input_its_label(project, manager, client):
    # given: the manager's page, with the label form and the rubric form (same field names)
    client.force_login(manager)

    # when it is shown, and when a refused rubric dimension brings it back
    pages = [
        client.get(f"/p/{project.slug}/labels/").content.decode(),
        client.post(f"/p/{project.slug}/labels/dimensions/add/", {"scale": 5}).content.decode(),
    ]

    # then: no id appears twice and each input, select and textarea has a <label for> of its own
    for html in pages:
        ids = re.findall(r'\bid="([^"]+)"', html)
        assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
        label_for = set(re.findall(r'<label for="([^"]+)"', html))
        controls = re.findall(
            r'<(?:input|select|textarea)\b(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html
        )
        assert controls and set(controls) <= label_for
