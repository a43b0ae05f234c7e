"""Run pages: who sees the form, launching from it, the live partial, comparing."""

import pytest
from django.test import Client

from common.jobs import JobState
from projects.models import Role
from tests.factories import add_member
from tests.training.run_helpers import project_with_listwise_snapshot
from training.runs.models import RunMetric, TrainingRun


@pytest.fixture
def setup(db):
    project, snapshot, engineer = project_with_listwise_snapshot(12)
    return project, snapshot, engineer


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_engineers_launch_from_the_form_managers_only_look_annotators_are_refused(setup):
    project, snapshot, engineer = setup
    manager = add_member(project, Role.MANAGER, "boss")
    annotator = add_member(project, Role.ANNOTATOR, "worker")
    url = f"/p/{project.slug}/runs/"
    assert "data-launch-choice" in _client(engineer).get(url).content.decode()
    assert "data-launch-choice" not in _client(manager).get(url).content.decode()
    new = f"/p/{project.slug}/runs/new/reward/"
    assert 'id="run-form"' in _client(engineer).get(new).content.decode()
    assert _client(manager).get(new).status_code == 403
    launch = f"/p/{project.slug}/runs/launch/reward/"
    assert _client(manager).post(launch, {"snapshot": snapshot.pk}).status_code == 403
    assert _client(annotator).get(url).status_code == 403
    form = {
        "snapshot": snapshot.pk, "name": "<script>x</script>", "strategy": "lora",
        "pooling": "mean", "loss": "kwise", "epochs": "2", "batch_size": "8", "lr": "0.0001",
        "max_length": "128", "seed": "3", "gpus": "2",
    }  # fmt: skip
    response = _client(engineer).post(launch, form)
    run = TrainingRun.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/runs/{run.pk}/")
    assert run.hyperparameters["strategy"] == "lora" and run.hyperparameters["epochs"] == 2
    assert run.hyperparameters["gpus"] == 2
    page = _client(engineer).get(response["Location"]).content.decode()
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x</script>" not in page
    assert "Waiting for a worker" in page


def test_the_live_partial_draws_the_curves_and_stops_polling_when_done(setup):
    project, snapshot, engineer = setup
    run = TrainingRun.objects.create(
        project=project, kind="reward", snapshot=snapshot, state=JobState.RUNNING,
        step=2, total_steps=4, eta_seconds=12,
    )  # fmt: skip
    for step, loss in [(1, 0.69), (2, 0.5)]:
        RunMetric.objects.create(
            run=run, step=step, values={"step": step, "loss": loss, "lr": 1e-5}
        )
    client = _client(engineer)
    url = f"/p/{project.slug}/runs/{run.pk}/"
    live = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert live.lstrip().startswith('<section id="run-live"') and 'hx-trigger="every 3s"' in live
    assert "Step 2 of 4" in live and "12 s left" in live
    assert live.count('<th scope="row">') >= 4  # loss and learning-rate steps, tabled
    assert live.count('<figure class="chart"') == 3 and '"smooth": true' in live
    run.state = JobState.SUCCEEDED
    run.save()
    done = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in done


def test_compare_shows_the_runs_and_the_options_that_differ(setup):
    project, snapshot, engineer = setup
    a = TrainingRun.objects.create(project=project, kind="reward", snapshot=snapshot,
                                   hyperparameters={"lr": 1e-5, "epochs": 2}, name="slow")  # fmt: skip
    b = TrainingRun.objects.create(project=project, kind="reward", snapshot=snapshot,
                                   hyperparameters={"lr": 1e-4, "epochs": 2}, name="fast")  # fmt: skip
    for run, loss in ((a, 0.6), (b, 0.4)):
        RunMetric.objects.create(run=run, step=1, values={"loss": loss, "accuracy": 0.5})
    page = _client(engineer).get(f"/p/{project.slug}/runs/compare/?run={a.pk}&run={b.pk}")
    html = page.content.decode()
    assert (
        "slow" in html
        and "fast" in html
        and '<th title="lr">Learning rate</th>' in html
        and ">Epochs</th>" not in html
    )
    assert html.count('data-chart-kind="line" data-chart-group="compare"') == 2  # loss, accuracy
    assert html.count('"name": "run ') == 4  # two runs on each of two charts


def test_a_ppo_run_page_plots_reward_against_kl_and_shows_escaped_samples(setup):
    from training.runs.models import ModelArtifact

    project, snapshot, engineer = setup
    reward_model = ModelArtifact.objects.create(project=project, kind="reward", name="rm-1",
                                                path="/rm")  # fmt: skip
    run = TrainingRun.objects.create(
        project=project, kind="ppo", snapshot=snapshot, reward_model=reward_model,
        state=JobState.RUNNING, step=2, total_steps=4,
    )  # fmt: skip
    for step, reward, kl in [(1, -0.5, 0.0), (2, 1.5, 2.25)]:
        RunMetric.objects.create(run=run, step=step, values={
            "step": step, "reward_mean": reward, "kl": kl, "entropy": 1.0, "eos_rate": 0.5,
        })  # fmt: skip
    RunMetric.objects.create(run=run, step=2, values={
        "step": 2, "event": "samples",
        "samples": [{"prompt": "Say <b>hi</b>", "response": "<script>x</script>", "score": 1.25}],
    })  # fmt: skip
    page = _client(engineer).get(f"/p/{project.slug}/runs/{run.pk}/").content.decode()
    assert "Reward against √KL" in page and "Mean reward score" in page
    assert "What the policy says (step 2)" in page and "1.250" in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x</script>" not in page
    assert "reward model rm-1" in page
    from training.runs.services.runs import run_reward_and_kl

    assert run_reward_and_kl(run) == [(0.0, -0.5), (2.25, 1.5)]  # what the √KL chart plots


def test_the_policy_form_launches_ppo_with_a_reward_model_and_refuses_it_without(setup):
    from training.runs.models import ModelArtifact

    project, snapshot, engineer = setup
    client = _client(engineer)
    assert 'data-kind="ppo"' in client.get(f"/p/{project.slug}/runs/new/ppo/").content.decode()
    base = {"policy-kind": "ppo", "policy-snapshot": snapshot.pk,
            "policy-steps": "5", "policy-kl_coef": "0.1", "policy-client_token": "x"}  # fmt: skip
    launch = f"/p/{project.slug}/runs/launch/policy/"
    refused = client.post(launch, base)
    assert refused.status_code == 200 and "a PPO run needs a registered reward model" in (
        refused.content.decode()
    )
    assert not TrainingRun.objects.exists()
    reward_model = ModelArtifact.objects.create(project=project, kind="reward", name="rm",
                                                path="/rm")  # fmt: skip
    response = client.post(launch, {**base, "policy-reward_model": reward_model.pk})
    run = TrainingRun.objects.get()
    assert response.status_code == 302 and run.kind == "ppo"
    assert run.reward_model == reward_model and run.base_model == ""
    assert run.hyperparameters["steps"] == 5 and run.hyperparameters["kl_coef"] == 0.1
    assert run.hyperparameters["lr"] == 1e-5  # empty: the PPO trainer's own default


def test_sft_and_dpo_run_pages_draw_their_own_curves(setup):
    project, snapshot, engineer = setup
    sft = TrainingRun.objects.create(project=project, kind="sft", snapshot=snapshot)
    RunMetric.objects.create(run=sft, step=4, values={"step": 4, "eval_loss": 2.0,
                                                      "eval_perplexity": 7.39})  # fmt: skip
    dpo = TrainingRun.objects.create(project=project, kind="dpo", snapshot=snapshot)
    RunMetric.objects.create(run=dpo, step=2, values={"step": 2, "loss": 0.6, "margin": 0.3,
                                                      "accuracy": 0.75})  # fmt: skip
    client = _client(engineer)
    sft_page = client.get(f"/p/{project.slug}/runs/{sft.pk}/").content.decode()
    assert "Held-out perplexity" in sft_page and "policy tiny" in sft_page
    dpo_page = client.get(f"/p/{project.slug}/runs/{dpo.pk}/").content.decode()
    assert "Implicit reward margin" in dpo_page and "Preference accuracy" in dpo_page


def test_the_evaluation_form_compares_with_the_policys_start_and_the_page_shows_the_report(
    setup,
):
    from training.runs.models import ModelArtifact

    project, snapshot, engineer = setup
    client = _client(engineer)
    judge = ModelArtifact.objects.create(project=project, kind="reward", name="rm", path="/rm")
    policy = ModelArtifact.objects.create(project=project, kind="policy", name="ppo-1",
                                          path="/ppo", base_model="/sft")  # fmt: skip
    assert 'data-kind="eval"' in client.get(f"/p/{project.slug}/runs/new/eval/").content.decode()
    response = client.post(f"/p/{project.slug}/runs/launch/evaluation/", {
        "evaluate-policy": policy.pk, "evaluate-snapshot": snapshot.pk,
        "evaluate-reward_model": judge.pk, "evaluate-max_new_tokens": "32",
    })  # fmt: skip
    run = TrainingRun.objects.get()
    assert response.status_code == 302 and run.kind == "eval"
    assert run.policy == policy and run.reference == "/sft"  # the policy's starting model
    assert run.hyperparameters["max_new_tokens"] == 32
    run.state, run.summary = JobState.SUCCEEDED, {
        "prompts": 20, "demonstrations": 0,
        "eval": {"reward_mean": 1.5, "win_rate": 0.625, "win_rate_low": 0.4,
                 "win_rate_high": 0.8, "wins": 11, "ties": 3, "losses": 6, "rougeL": 0.25},
        "reference_eval": {"reward_mean": 0.75, "rougeL": 0.125},
    }  # fmt: skip
    run.save()
    RunMetric.objects.create(run=run, step=3, values={"step": 3, "event": "samples", "samples": [
        {"prompt": "<i>p</i>", "response": "ours", "score": 1.0, "reference": "<b>theirs</b>",
         "reference_score": 0.5},
    ]})  # fmt: skip
    page = client.get(f"/p/{project.slug}/runs/{run.pk}/").content.decode()
    assert "Win rate against the reference <strong>0.625</strong>" in page
    assert "11 wins, 3 ties, 6 losses" in page and "Win rate judged by the reward model" in page
    assert "<td>Mean reward score</td><td>1.500</td><td>0.750</td>" in page
    assert "<td>ROUGE-L F</td><td>0.250</td><td>0.125</td>" in page
    assert "&lt;b&gt;theirs&lt;/b&gt;" in page and "<b>theirs</b>" not in page
    assert "Calibration" not in page  # the reward model's charts are not an evaluation's
