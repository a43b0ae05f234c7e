"""What a round picks: held-out prompts as the export split them, new prompts never
twice nor while people write for them, the newest scored round for "uncertain", a
baseline that wrote responses in the round, and per-round accuracy by the reward model
the round started with."""

import json

import pytest
from django.core.files.storage import default_storage

from annotation.models import Item, Prompt, PromptStatus
from common.errors import ConflictError
from projects.models import Role
from tests.factories import add_member, judgement_stored, make_items, make_project
from tests.training import endpoint_fixtures
from tests.training.run_helpers import project_with_listwise_snapshot
from training.datasets.models import DatasetSnapshot
from training.loop.models import ResponseScore, Round
from training.loop.selectors import round_stats
from training.loop.services.generation_run import generation_job_create, generation_job_run
from training.loop.services.generators import generator_save
from training.loop.services.rounds import _policy_and_baseline, round_prompts, round_start
from training.runs.models import ModelArtifact

pytestmark = pytest.mark.django_db

# The fixtures this module uses, by name.
warm_policy = endpoint_fixtures.warm_policy


def test_held_out_prompts_are_the_ones_the_export_put_outside_train():
    project, snapshot, engineer = project_with_listwise_snapshot(items=24)
    held = snapshot.files.get(format="listwise", split="test")
    item_ids = [json.loads(line)["item_id"]
                for line in default_storage.open(f"{snapshot.path}/{held.name}").read().splitlines()]  # fmt: skip
    expected = set(Item.objects.filter(pk__in=item_ids).values_list("prompt_id", flat=True))
    assert 0 < len(expected) < 24
    # PostgreSQL's jsonb hands the splits back as {"test": …, "train": …}; whatever order the
    # options come back in, the round must pick what the export held out.
    options = {**snapshot.options, "splits": {"test": 0.25, "train": 0.75}}
    DatasetSnapshot.objects.filter(pk=snapshot.pk).update(options=options)
    assert set(round_prompts(project, "held_out", 100)) == expected


def test_new_prompts_are_never_picked_twice_nor_while_people_write_for_them():
    project = make_project(slug="fresh", responses_per_item=2)
    engineer = add_member(project, Role.ENGINEER, "eng")
    waiting = [Prompt.objects.create(project=project, external_id=f"n{i}",
                                     status=PromptStatus.NEEDS_GENERATION,
                                     messages=[{"role": "user", "content": f"Q{i}?"}])
               for i in range(6)]  # fmt: skip
    writing = Prompt.objects.create(project=project, external_id="w",
                                    status=PromptStatus.NEEDS_RESPONSES,
                                    messages=[{"role": "user", "content": "Being written?"}])  # fmt: skip
    g = generator_save(project=project, name="g", kind="local", model_path="/models/x")
    # an unfinished job (a written prompts' job, round-less) holds four of them
    earlier = generation_job_create(project=project, user=None, generators=[g], enqueue=False,
                                    prompt_ids=[p.pk for p in waiting[:4]])  # fmt: skip
    second, _ = round_start(project=project, user=engineer, prompt_source="new", prompts=4,
                            enqueue=False)  # fmt: skip
    first_ids = set(earlier.prompt_ids)
    second_ids = set(second.jobs.get().prompt_ids)
    assert len(first_ids) == 4 and len(second_ids) == 2  # the rest, not the same four
    assert first_ids | second_ids == {p.pk for p in waiting}
    assert writing.pk not in first_ids | second_ids


def test_no_round_starts_while_the_last_one_is_still_generating():
    # given round 2 whose generation job is still queued
    project = make_project(slug="busy", responses_per_item=2)
    engineer = add_member(project, Role.ENGINEER, "eng")
    for i in range(4):
        Prompt.objects.create(project=project, external_id=f"b{i}",
                              messages=[{"role": "user", "content": f"Busy {i}?"}])  # fmt: skip
    generator_save(project=project, name="g", kind="local", model_path="/models/x")
    second, _ = round_start(project=project, user=engineer, prompt_source="new", prompts=2,
                            enqueue=False)  # fmt: skip

    # when round 3 is asked for, then it is refused with the reason and what to do
    with pytest.raises(ConflictError, match="round 2 is still generating .*cancel it"):
        round_start(project=project, user=engineer, prompt_source="new", prompts=2,
                    enqueue=False)  # fmt: skip
    assert Round.objects.filter(project=project).count() == 1

    # and once round 2's job is over, round 3 starts
    second.jobs.update(state="cancelled")
    third, created = round_start(project=project, user=engineer, prompt_source="new", prompts=2,
                                 enqueue=False)  # fmt: skip
    assert created and third.number == 3


def test_two_jobs_over_one_new_prompt_make_one_item(warm_policy):
    project = make_project(slug="twice", responses_per_item=2)
    prompt = Prompt.objects.create(project=project, external_id="p",
                                   status=PromptStatus.NEEDS_GENERATION,
                                   messages=[{"role": "user", "content": "Tell me about tea."}])  # fmt: skip
    g = generator_save(project=project, name="tiny", kind="local", model_path=str(warm_policy),
                       temperature=1.0, top_p=1.0, max_new_tokens=8)  # fmt: skip
    # Both were queued before either ran (written-prompt jobs: round-less, new prompts).
    jobs = [generation_job_create(project=project, user=None, prompt_ids=[prompt.pk],
                                  generators=[g], enqueue=False) for _ in range(2)]  # fmt: skip
    for job in jobs:
        generation_job_run(job_id=job.pk)
    assert Item.objects.filter(prompt=prompt).count() == 1
    assert prompt.responses.count() == 2


def _pair(item) -> list[int]:
    return list(item.item_responses.order_by("position").values_list("response_id", flat=True))


def test_uncertain_reads_the_newest_round_the_model_has_scored():
    project = make_project(slug="unsure", responses_per_item=2)
    engineer = add_member(project, Role.ENGINEER, "eng")
    rm = ModelArtifact.objects.create(project=project, kind="reward", name="rm", path="/rm")
    project.reward_model = rm
    project.save()
    items = make_items(project, 3)
    for margin, item in zip([0.9, 0.1, 0.5], items, strict=True):
        a, b = _pair(item)
        ResponseScore.objects.create(response_id=a, artifact=rm, score=0.0)
        ResponseScore.objects.create(response_id=b, artifact=rm, score=margin)
    # Round 2 has started but has nothing yet (its job is still queued).
    generator_save(project=project, name="g", kind="local", model_path="/models/x")
    Prompt.objects.create(project=project, external_id="n",
                          messages=[{"role": "user", "content": "New?"}])  # fmt: skip
    round_start(project=project, user=engineer, prompt_source="new", prompts=1, enqueue=False)
    chosen = round_prompts(project, "uncertain", 3)
    assert chosen == [items[1].prompt_id, items[2].prompt_id, items[0].prompt_id]


def test_the_baseline_is_a_policy_that_writes_in_the_round():
    project = make_project(slug="arena")
    old, new, newer = (ModelArtifact.objects.create(project=project, kind="policy", name=n,
                                                    path=f"/{n}") for n in ("old", "new", "newer"))  # fmt: skip

    def gen(name, policy):
        return generator_save(project=project, name=name, kind="local", policy=policy)

    hot, cold = gen("hot", new), gen("cold", new)  # one policy at two temperatures
    assert _policy_and_baseline([hot, cold], None) == (new, None)  # never itself
    previous = Round(project=project, number=2, prompt_source="new", policy=old)
    assert _policy_and_baseline([gen("n", newer), gen("o", old)], previous) == (newer, old)
    # The previous round's policy does not generate here: the older of the two others.
    assert _policy_and_baseline([gen("a", newer), gen("b", new)], previous) == (newer, new)
    assert _policy_and_baseline([gen("c", newer)], previous) == (newer, None)


def test_each_rounds_accuracy_is_the_reward_model_it_started_with():
    project = make_project(slug="fresh-rm", responses_per_item=2, ranking_mode="pairwise",
                           pairwise_strength=False)  # fmt: skip
    annotator = add_member(project, Role.ANNOTATOR, "ann")
    first_rm = ModelArtifact.objects.create(project=project, kind="reward", name="rm1", path="/1")
    later_rm = ModelArtifact.objects.create(project=project, kind="reward", name="rm2", path="/2")
    Round.objects.create(project=project, number=2, prompt_source="new", reward_model=first_rm)
    project.reward_model = later_rm  # trained on round 2's labels, attached afterwards
    project.save()
    one, two = make_items(project, 2)
    Item.objects.filter(pk=two.pk).update(round=2)
    for item in (one, two):
        better, worse = _pair(item)
        judgement_stored(item, annotator, [better, worse])
        # rm1 gets both right; rm2 gets both wrong.
        for rm, (sb, sw) in ((first_rm, (1.0, 0.0)), (later_rm, (0.0, 1.0))):
            ResponseScore.objects.create(response_id=better, artifact=rm, score=sb)
            ResponseScore.objects.create(response_id=worse, artifact=rm, score=sw)
    stats = {s.number: s for s in round_stats(project)}
    assert (stats[2].rm_accuracy, stats[2].rm_name) == (1.0, "rm1")  # fresh: its own model
    assert (stats[1].rm_accuracy, stats[1].rm_name) == (0.0, "rm2")  # imported: the current


def test_loop_page_offers_a_source_that_has_prompts_and_says_why_new_has_none(client):
    # given a project whose every prompt is in a round, with a snapshot that holds some out
    project, _, engineer = project_with_listwise_snapshot(items=24)
    generator_save(project=project, name="g", kind="local", model_path="/models/x")
    client.force_login(engineer)
    # when the engineer opens the loop page
    page = client.get(f"/p/{project.slug}/loop/").content.decode()
    # then "held-out" is preselected, and each source says how many prompts it has
    assert '<option value="held_out" selected>' in page
    assert "New prompts (never annotated) · none left" in page
    assert "Unsure prompts need a reward model" in page
    # and starting a round from new prompts says, in words, what to do
    page = client.post(
        f"/p/{project.slug}/loop/rounds/",
        {"prompt_source": "new", "prompts": 5},
    ).content.decode()
    assert "No new prompts are left" in page
    assert "Import or write prompts, or pick another prompt source" in page
    assert "prompt_source:" not in page


def test_the_polled_rounds_table_does_not_count_prompt_sources(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # given a project whose held-out source reads every prompt to count it
    project, _, engineer = project_with_listwise_snapshot(items=8)
    client.force_login(engineer)
    # when the rounds table polls (every 2 s while a round generates)
    with CaptureQueriesContext(connection) as queries:
        part = client.get(f"/p/{project.slug}/loop/?part=rounds", HTTP_HX_REQUEST="true")
    # then it reads no prompt sources: that is for the full page's form only
    assert part.status_code == 200 and 'id="rounds"' in part.content.decode()
    assert not [q for q in queries.captured_queries if "dedup_key" in q["sql"]]
