"""The loop's API and page: generators, starting a round (idempotent, role-checked),
prompt sources, per-round figures including the arena."""

import pytest
from rest_framework.test import APIClient

from annotation.models import Annotation, Item, Prompt
from projects.models import Role
from tests.factories import PASSWORD, add_member, judgement_stored, make_items, make_project
from training.loop.models import GenerationJob, ResponseScore, Round
from training.loop.selectors import round_stats
from training.loop.services.generators import generator_save
from training.runs.models import ModelArtifact

pytestmark = pytest.mark.django_db


@pytest.fixture
def loop_project():
    project = make_project(slug="loop", responses_per_item=2, ranking_mode="pairwise",
                           pairwise_strength=False)  # fmt: skip
    engineer = add_member(project, Role.ENGINEER, "eng")
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    make_items(project, 3)
    for n in range(5):  # prompts never answered: the "new" source
        Prompt.objects.create(project=project, external_id=f"new{n}",
                              messages=[{"role": "user", "content": f"New question {n}?"}])  # fmt: skip
    return project, engineer, annotator


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_engineers_add_generators_and_annotators_cannot(loop_project):
    project, engineer, annotator = loop_project
    body = {"name": "vllm", "kind": "openai", "base_url": "http://vllm:8000/v1",
            "model_name": "llama", "api_key_env": "PREFLAB_KEY_VLLM"}  # fmt: skip
    assert _client(annotator).post(f"/api/v1/projects/{project.slug}/generators/", body,
                                   format="json").status_code == 403  # fmt: skip
    created = _client(engineer).post(
        f"/api/v1/projects/{project.slug}/generators/", body, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["api_key_env"] == "PREFLAB_KEY_VLLM"
    bad = _client(engineer).post(
        f"/api/v1/projects/{project.slug}/generators/",
        {**body, "name": "leaky", "api_key_env": "sk-abc123"}, format="json",
    )  # fmt: skip
    assert bad.status_code == 400 and bad.json()["field"] == "api_key_env"
    changed = _client(engineer).patch(
        f"/api/v1/projects/{project.slug}/generators/{created.json()['id']}/",
        {"temperature": 0.3}, format="json",
    )  # fmt: skip
    assert changed.status_code == 200 and changed.json()["temperature"] == 0.3


def test_starting_a_round_queues_one_job_and_a_retry_returns_the_same_round(loop_project):
    project, engineer, annotator = loop_project
    generator_save(project=project, name="local", kind="local", model_path="/models/x")
    url = f"/api/v1/projects/{project.slug}/rounds/"
    body = {"prompt_source": "new", "prompts": 4, "client_token": "round-2"}
    assert _client(annotator).post(url, body, format="json").status_code == 403
    first = _client(engineer).post(url, body, format="json")
    assert first.status_code == 202, first.json()
    assert first.json()["number"] == 2 and first.json()["job"]["prompts_total"] == 4
    again = _client(engineer).post(url, body, format="json")
    assert again.status_code == 200 and again.json()["number"] == 2
    assert Round.objects.filter(project=project).count() == 1
    job = GenerationJob.objects.get(round__project=project)
    assert job.item_round == 2 and len(job.prompt_ids) == 4
    new = set(Prompt.objects.filter(external_id__startswith="new").values_list("pk", flat=True))
    assert set(job.prompt_ids) <= new
    listed = _client(engineer).get(url).json()
    assert [r["number"] for r in listed] == [2, 1] and listed[1]["items"] == 3
    nothing = _client(engineer).post(url, {"prompt_source": "uncertain", "prompts": 2},
                                     format="json")  # fmt: skip
    assert nothing.status_code == 400 and nothing.json()["field"] == "prompt_source"
    busy = _client(engineer).post(url, {"prompt_source": "new", "prompts": 1}, format="json")
    assert busy.status_code == 409 and "round 2 is still generating" in busy.json()["message"]


def test_the_loop_page_offers_no_next_round_while_one_is_generating(loop_project, client):
    # given round 2 still generating
    project, engineer, _ = loop_project
    generator_save(project=project, name="local", kind="local", model_path="/models/x")
    client.force_login(engineer)
    page = client.get(f"/p/{project.slug}/loop/").content.decode()
    assert 'id="round-form"' in page
    _client(engineer).post(f"/api/v1/projects/{project.slug}/rounds/",
                           {"prompt_source": "new", "prompts": 2}, format="json")  # fmt: skip

    # when the engineer opens the loop page, then it says why there is no start button
    page = client.get(f"/p/{project.slug}/loop/").content.decode()
    assert 'id="round-form"' not in page
    assert "Round 2 is still generating" in page


def test_uncertain_prompts_come_in_order_of_the_reward_models_margins(loop_project):
    project, engineer, _ = loop_project
    project.reward_model = ModelArtifact.objects.create(
        project=project, kind="reward", name="rm", path="/rm"
    )
    project.save()
    items = list(Item.objects.filter(project=project).order_by("id"))
    for item, margin in zip(items, [2.0, 0.1, 0.7], strict=True):
        a, b = item.item_responses.values_list("response_id", flat=True)
        ResponseScore.objects.create(response_id=a, artifact=project.reward_model, score=0.0)
        ResponseScore.objects.create(response_id=b, artifact=project.reward_model, score=margin)
    generator_save(project=project, name="local", kind="local", model_path="/models/x")
    response = _client(engineer).post(
        f"/api/v1/projects/{project.slug}/rounds/",
        {"prompt_source": "uncertain", "prompts": 2}, format="json",
    )  # fmt: skip
    assert response.status_code == 202
    job = GenerationJob.objects.get(round__project=project)
    assert job.prompt_ids == [items[1].prompt_id, items[2].prompt_id]


def test_round_figures_count_the_arena_and_the_reward_models_accuracy(loop_project):
    project, engineer, annotator = loop_project
    new_policy = ModelArtifact.objects.create(project=project, kind="policy", name="p2", path="/2")
    old_policy = ModelArtifact.objects.create(project=project, kind="policy", name="p1", path="/1")
    rm = ModelArtifact.objects.create(project=project, kind="reward", name="rm", path="/rm")
    project.reward_model = rm
    project.save()
    round = Round.objects.create(project=project, number=2, prompt_source="new",
                                 policy=new_policy, baseline=old_policy)  # fmt: skip
    items = make_items(project, 4)
    Item.objects.filter(pk__in=[i.pk for i in items]).update(round=2)
    # The new policy wrote response 0 of each item, the old one response 1. Annotators
    # prefer the new one on 3 items of 4; the reward model agrees on 2 of the 4 pairs.
    for n, item in enumerate(items):
        first, second = item.item_responses.order_by("position").values_list(
            "response__pk", flat=True
        )
        for response_id, policy in ((first, new_policy), (second, old_policy)):
            item.responses.filter(pk=response_id).update(
                origin="model", metadata={"generation": {"policy": policy.pk}}
            )
        ResponseScore.objects.create(response_id=first, artifact=rm, score=1.0 if n < 2 else 0.0)
        ResponseScore.objects.create(response_id=second, artifact=rm, score=0.5)
        judgement_stored(item, annotator, [first, second] if n < 3 else [second, first])

    (stats,) = [r for r in round_stats(project) if r.number == 2]

    assert stats.round == round and stats.items == 4 and stats.annotations == 4
    assert (stats.arena.wins, stats.arena.ties, stats.arena.losses) == (3, 0, 1)
    assert stats.arena.win_rate == 0.75
    # Pairs: items 0, 1 (new preferred, rm agrees), 2 (new preferred, rm disagrees),
    # 3 (old preferred, rm prefers old too: 0.5 > 0.0) -> 3 of 4.
    assert stats.rm_pairs == 4 and stats.rm_accuracy == 0.75
    client = APIClient()
    assert client.login(username=engineer.username, password=PASSWORD)
    page = client.get(f"/p/{project.slug}/loop/").content.decode()
    assert "3W 0T 1L" in page and "Start the next round" in page
    assert "Arena: the round" in page  # the win-rate chart is drawn
    annotator_client = APIClient()
    assert annotator_client.login(username=annotator.username, password=PASSWORD)
    assert annotator_client.get(f"/p/{project.slug}/loop/").status_code == 403


def test_round_figures_are_reused_until_a_judgement_or_score_moves_them(loop_project):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    project, engineer, annotator = loop_project
    rm = ModelArtifact.objects.create(project=project, kind="reward", name="rm", path="/rm")
    project.reward_model = rm
    project.save()
    items = list(Item.objects.filter(project=project).order_by("pk"))
    pairs = [list(i.item_responses.order_by("position").values_list("response__pk", flat=True))
             for i in items]  # fmt: skip
    judgement_stored(items[0], annotator, pairs[0])

    def figures():
        with CaptureQueriesContext(connection) as queries:
            (stats,) = [r for r in round_stats(project) if r.number == 1]
        return (stats.annotations, stats.rm_pairs, stats.rm_correct), len(queries)

    first, cold = figures()
    again, warm = figures()
    assert first == again == (1, 0, 0.0) and warm < cold  # the judgement pass is skipped
    ResponseScore.objects.create(response_id=pairs[0][0], artifact=rm, score=1.0)
    ResponseScore.objects.create(response_id=pairs[0][1], artifact=rm, score=0.0)
    assert figures()[0] == (1, 1, 1.0)  # a new score moves them
    judgement_stored(items[1], annotator, pairs[1])
    assert figures()[0][0] == 2  # so does a new judgement
    Annotation.objects.filter(item=items[1]).update(status="rejected")
    assert figures()[0][0] == 1  # and one no longer counted
