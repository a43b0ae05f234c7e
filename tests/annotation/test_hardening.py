"""Regressions from the security and correctness review: each test is one found defect."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from annotation.importing.services import import_job_create, import_job_run
from annotation.models import Assignment, AssignmentState, Item
from annotation.services.claiming import assignment_claim, assignment_skip
from annotation.services.submission import annotation_submit
from common.errors import ConflictError
from projects.models import Role
from projects.services import membership_remove, membership_set, project_update
from tests.factories import add_member, make_items, make_project


def rank(lease) -> dict:
    return {"ranking": [[rid] for rid in lease.display_order]}


def test_lowering_then_raising_overlap_never_overfills_an_item(project):
    (item,) = make_items(project, 1)
    project_update(project=project, overlap=3)
    people = [add_member(project) for _ in range(3)]
    for person in people:
        lease = assignment_claim(user=person, project=project)
        annotation_submit(assignment_id=lease.pk, user=person, payload=rank(lease))
    project_update(project=project, overlap=1)
    project_update(project=project, overlap=3)
    item.refresh_from_db()
    assert item.open_slots == 0
    assert assignment_claim(user=add_member(project), project=project) is None


def test_lowering_overlap_under_live_leases_keeps_slots_honest(project):
    (item,) = make_items(project, 1)  # overlap 2
    first, second = add_member(project), add_member(project)
    leases = [assignment_claim(user=u, project=project) for u in (first, second)]
    project_update(project=project, overlap=1)
    for user, lease in zip((first, second), leases, strict=True):
        assignment_skip(assignment_id=lease.pk, user=user)
    item.refresh_from_db()
    assert item.open_slots == 1


def test_a_member_who_left_can_no_longer_submit_or_renew(project, annotator):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    membership_remove(project=project, username=annotator.username)
    client = APIClient()
    client.force_authenticate(annotator)
    assert client.post(f"/api/v1/assignments/{lease.pk}/heartbeat/").status_code == 404
    assert (
        client.post(
            f"/api/v1/assignments/{lease.pk}/submit/", rank(lease), format="json"
        ).status_code
        == 404
    )


def test_an_engineer_cannot_submit_an_old_lease(project, annotator):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    membership_set(project=project, username=annotator.username, role=Role.ENGINEER)
    client = APIClient()
    client.force_authenticate(annotator)
    assert (
        client.post(
            f"/api/v1/assignments/{lease.pk}/submit/", rank(lease), format="json"
        ).status_code
        == 404
    )


def test_html_submit_must_name_the_assignments_project(project, annotator, client, manager):
    other = make_project(manager=manager, slug="other")
    add_member(other, Role.ANNOTATOR, annotator.username)
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    client.force_login(annotator)
    response = client.post(
        f"/p/other/annotate/{lease.pk}/submit/",
        {"payload": json.dumps(rank(lease))},
        headers={"X-Preflab-Fetch": "1"},
    )
    assert response.status_code == 404
    assert Assignment.objects.get(pk=lease.pk).state == AssignmentState.ACTIVE


def test_response_ids_do_not_reveal_the_source_order(manager):
    pairs = make_project(manager=manager, slug="pairs", ranking_mode="pairwise")
    rows = "".join(
        json.dumps(
            {"id": f"p{n}", "prompt": f"q{n}", "chosen": f"good {n}", "rejected": f"bad {n}"}
        )
        + "\n"
        for n in range(40)
    )
    job = import_job_create(
        project=pairs, user=manager, upload=SimpleUploadedFile("p.jsonl", rows.encode())
    )
    assert import_job_run(job_id=job.pk).state == "succeeded"
    chosen_is_lowest = [
        min(item.item_responses.values_list("response_id", flat=True))
        == item.item_responses.get(position=0).response_id
        for item in Item.objects.filter(project=pairs)
    ]
    assert 0 < sum(chosen_is_lowest) < 40  # 2**-40 chance of a false failure


def test_a_huge_ranking_is_refused_at_once(project, annotator):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    client = APIClient()
    client.force_authenticate(annotator)
    ranking = [[rid] for rid in range(1, 40_001)]
    response = client.post(
        f"/api/v1/assignments/{lease.pk}/submit/", {"ranking": ranking}, format="json"
    )
    assert response.status_code == 400
    assert "this item has 4" in response.json()["message"]


def test_a_body_over_the_limit_is_a_400_not_a_500(project, annotator):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    client = APIClient()
    client.force_authenticate(annotator)
    body = json.dumps({"rationale": "x" * (12 * 1024 * 1024)})
    response = client.generic(
        "POST", f"/api/v1/assignments/{lease.pk}/submit/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_the_last_manager_cannot_be_demoted(project, manager):
    with pytest.raises(ConflictError, match="at least one manager"):
        membership_set(project=project, username=manager.username, role=Role.ANNOTATOR)


def test_odd_digits_and_words_in_ids_are_not_500s(project, annotator, client, manager):
    make_items(project, 2)
    client.force_login(annotator)
    assert client.post(f"/p/{project.slug}/annotate/next/", {"exclude": "²"}).status_code == 200
    assert client.get(f"/p/{project.slug}/annotate/next/").status_code == 405  # leasing is a POST
    client.force_login(manager)
    assert client.post(f"/p/{project.slug}/batches/restrict/", {"batch": "abc"}).status_code == 404


def test_nul_in_a_rationale_is_a_clear_400(project, annotator, client):
    make_items(project, 1)
    lease = assignment_claim(user=annotator, project=project)
    client.force_login(annotator)
    payload = {**rank(lease), "rationale": "x\u0000y"}
    response = client.post(
        f"/p/{project.slug}/annotate/{lease.pk}/submit/",
        {"payload": json.dumps(payload)},
        headers={"X-Preflab-Fetch": "1"},
    )
    assert response.status_code == 400 and "NUL" in response.json()["message"]


def test_an_overflowing_number_in_metadata_is_reported_on_its_line(project, manager):
    row = '{"id": "a", "prompt": "p", "responses": ["a", "b", "c", "d"], "metadata": {"score": 1e400}}\n'
    job = import_job_create(
        project=project, user=manager, upload=SimpleUploadedFile("n.jsonl", row.encode())
    )
    job = import_job_run(job_id=job.pk)
    assert job.state == "failed"
    assert job.errors[0]["line"] == 1 and "too large" in job.errors[0]["message"]


def test_archived_projects_take_no_more_claims(project, annotator):
    make_items(project, 1)
    project_update(project=project, archived=True)
    project.refresh_from_db()
    with pytest.raises(ConflictError, match="archived"):
        assignment_claim(user=annotator, project=project)
