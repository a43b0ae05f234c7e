"""The runs page's kind picker and each kind's own launch page: only that kind's options,
its defaults and help beside each field, presets that fill the form, and a refused value
shown at its field with what was typed kept."""

import re

import pytest
from django.test import Client

from projects.models import Role
from tests.factories import add_member
from tests.training.run_helpers import project_with_listwise_snapshot
from training.runs.kinds import RUN_KINDS
from training.runs.models import ModelArtifact, TrainingRun
from training.runs.presets import PRESETS, preset_values
from training.runs.services.options import hyperparameters_check


@pytest.fixture
def setup(db):
    project, snapshot, engineer = project_with_listwise_snapshot(12)
    client = Client()
    client.force_login(engineer)
    return project, snapshot, client


def _names(html: str) -> set[str]:
    """The names of the form's inputs and selects (what a launch would post)."""
    return set(re.findall(r'<(?:input|select)[^>]* name="([^"]+)"', html))


def test_the_runs_page_offers_one_launch_choice_per_kind_in_the_registry(setup):
    # given an engineer on the runs page
    project, _, client = setup
    # when the page is drawn
    html = client.get(f"/p/{project.slug}/runs/").content.decode()
    # then the picker links each kind's page, and no launch form is on the page
    picker = html.split("data-launch-choice", 1)[1].split("</ul>", 1)[0]
    for kind in RUN_KINDS:
        assert f'href="/p/{project.slug}/runs/new/{kind}/"' in picker
    assert 'id="run-form"' not in html and "<fieldset" not in html


@pytest.mark.parametrize("kind", list(RUN_KINDS))
def test_a_kinds_page_shows_only_that_kinds_options_with_their_defaults(setup, kind):
    # given a registered reward model and policy, so every kind's page can launch
    project, _, client = setup
    ModelArtifact.objects.create(project=project, kind="reward", name="rm", path="/rm")
    ModelArtifact.objects.create(project=project, kind="policy", name="pi", path="/pi")
    # when the kind's page is opened
    response = client.get(f"/p/{project.slug}/runs/new/{kind}/")
    html = response.content.decode()
    # then its form has exactly the kind's options (and its data fields), each default shown
    assert response.status_code == 200 and f'data-kind="{kind}"' in html
    options = set(RUN_KINDS[kind].option_names())
    others = {n for spec in RUN_KINDS.values() for n in spec.option_names()} - options
    names = _names(html)
    assert options <= names and not (others & names)
    assert "policy-" not in html and "evaluate-" not in html  # no multi-kind prefixes
    assert html.count('class="default"') >= len(options)
    assert '<details class="advanced"' in html and html.count('class="primary"') == 1


def test_a_kind_without_a_reward_model_says_what_to_make_first(setup):
    project, _, client = setup
    html = client.get(f"/p/{project.slug}/runs/new/ppo/").content.decode()
    assert "data-missing" in html and "Reward model" in html
    assert 'type="submit" class="primary"' not in html


def test_a_preset_fills_the_form_server_side(setup):
    # given the quick preset of a reward-model run
    project, _, client = setup
    quick = preset_values("reward", "quick")
    # when the page is asked for it
    html = client.get(f"/p/{project.slug}/runs/new/reward/?preset=quick").content.decode()
    # then its values are the inputs' values, and the preset is marked as chosen
    assert f'name="max_length" value="{quick["max_length"]}"' in html
    assert f'name="batch_size" value="{quick["batch_size"]}"' in html
    assert 'aria-current="true" data-preset="quick"' in html
    default = client.get(f"/p/{project.slug}/runs/new/reward/").content.decode()
    assert 'name="max_length" value="256"' in default


def test_a_refused_value_is_shown_at_its_field_and_the_typed_values_are_kept(setup):
    # given a reward-model launch with a batch size below its bound
    project, snapshot, client = setup
    body = {"snapshot": snapshot.pk, "name": "typed <name>", "batch_size": "0", "epochs": "3"}
    # when it is posted to the kind's page
    response = client.post(f"/p/{project.slug}/runs/new/reward/", body)
    html = response.content.decode()
    # then nothing launches, the error sits in the batch size's field, the values stay
    assert response.status_code == 200 and not TrainingRun.objects.exists()
    field = html.split('data-field="batch_size"', 1)[1].split("</div>", 1)[0]
    assert 'class="errorlist' in field and 'aria-invalid="true"' in field
    assert 'name="epochs" value="3"' in html and 'value="typed &lt;name&gt;"' in html


def test_a_kinds_page_launches_its_kind(setup):
    project, snapshot, client = setup
    reward_model = ModelArtifact.objects.create(project=project, kind="reward", name="rm",
                                                path="/rm")  # fmt: skip
    body = {"snapshot": snapshot.pk, "reward_model": reward_model.pk, "steps": "5"}
    response = client.post(f"/p/{project.slug}/runs/new/ppo/", body)
    run = TrainingRun.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/runs/{run.pk}/")
    assert run.kind == "ppo" and run.reward_model == reward_model
    assert run.hyperparameters["steps"] == 5


def test_managers_may_not_open_a_launch_page(setup):
    project, _, _ = setup
    manager = add_member(project, Role.MANAGER, "boss")
    client = Client()
    client.force_login(manager)
    assert client.get(f"/p/{project.slug}/runs/new/reward/").status_code == 403


@pytest.mark.parametrize("key", list(PRESETS))
@pytest.mark.parametrize("kind", list(RUN_KINDS))
def test_every_preset_names_only_the_kinds_options_within_their_bounds(kind, key):
    preset = PRESETS[key]
    spec = RUN_KINDS[kind]
    assert set(preset.values.get(kind, {})) <= set(spec.option_names())
    hyperparameters_check(kind, preset.for_kind(kind))  # the API's and the trainer's rules


def test_option_help_reads_as_sentences_with_bounds_in_words():
    """The help under an option is sentences, not ``help; unit; >= 1``: a capital, a full
    stop, bounds in words with their unit, the reason where the help repeats the label."""
    from training.ml.configs import config_field
    from training.runs.forms import option_help
    from training.runs.kinds import RUN_KINDS

    config = RUN_KINDS["reward"].config
    assert option_help(config_field(config, "batch_size")) == (
        "Sequences (responses) per batch. At least 1 sequence."
    )
    assert option_help(config_field(config, "epochs")).endswith("More than 0 epochs.")
    assert option_help(config_field(config, "seed")) == (
        "Seed of the data order and initialisation. At least 0."
    )
    assert option_help(config_field(config, "loss")).startswith("Pairs of a ranking")
    assert option_help(config_field(config, "warmup")).endswith("From 0 to 1.")


def test_launch_labels_have_no_colon(setup):
    project, _, client = setup
    html = client.get(f"/p/{project.slug}/runs/new/reward/").content.decode()
    assert '<label for="id_epochs">Epochs</label>' in html


def test_the_quick_reward_preset_trains_a_head_at_a_heads_rate_for_whole_epochs():
    """At the backbone's 5e-5 for 20 steps a head on frozen features learns nothing on the
    demo (held-out accuracy 0.33); the quick preset must give it a head's rate and epochs."""
    quick = preset_values("reward", "quick")
    assert quick["strategy"] == "feature" and 1e-3 <= quick["head_lr"] <= 1e-2
    assert quick["epochs"] >= 3 and quick["max_steps"] == 0
