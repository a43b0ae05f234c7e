"""Each kind of run has one definition of its options, its trainer's typed config (read
through the run-kind registry): every option appears in the trainer's ``--help``, in the
API's schema of a launch and in the launch form of its kind, with its help and bounds,
and a value out of bounds is refused by the API naming the field, as the CLI refuses it."""

import dataclasses
import importlib

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from common.errors import ApplicationError
from common.labels import option_label
from projects.models import Project
from tests.training.ml.test_configs import TRAINERS, _argv
from tests.training.run_helpers import project_with_listwise_snapshot
from training.ml.configs import ConfigError
from training.runs import charts
from training.runs.forms import EvaluationForm, PolicyRunForm, RunForm
from training.runs.kinds import LAUNCH_OPTIONS, RUN_KINDS
from training.runs.models import ArtifactKind, ModelArtifact, RunKind, TrainingRun
from training.runs.services import execute
from training.runs.services.runs import run_create

FORM_OF = {
    RunKind.REWARD: RunForm,
    RunKind.SFT: PolicyRunForm,
    RunKind.DPO: PolicyRunForm,
    RunKind.PPO: PolicyRunForm,
    RunKind.GRPO: PolicyRunForm,
    RunKind.EVAL: EvaluationForm,
}
CASES = [(kind, f) for kind, spec in RUN_KINDS.items() for f in spec.options()]
LAUNCH_NAMES = {f.name for f in LAUNCH_OPTIONS}
# gpus and distributed are options of the launch (accelerate), not of the trainer's CLI.
TRAINER_CASES = [(kind, f) for kind, f in CASES if f.name not in LAUNCH_NAMES]


def _ids(case) -> str:
    return f"{case[0]}.{case[1].name}"


def _out_of_bounds(f):
    """A value just outside the field's bounds (None when it has none)."""
    if f.max is not None:
        return f.type(f.max + 1)
    if f.min is None:
        return None
    if f.exclusive_min:
        return f.type(f.min)
    return f.type(f.min - 1) if f.type is int else f.min - 0.5


@pytest.fixture(scope="module")
def hyperparameters_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return schema["components"]["schemas"]["RunCreateRequest"]["properties"]["hyperparameters"]


def test_every_kind_of_run_is_in_the_registry_with_its_trainer_and_charts():
    assert set(RUN_KINDS) == set(RunKind.values)
    for kind, spec in RUN_KINDS.items():
        module = importlib.import_module(spec.module)
        assert hasattr(module, "main") and spec.command in ("train", "evaluate")
        assert spec.charts is None or spec.charts in charts.CURVES, kind
        assert (spec.artifact is None) == (kind == RunKind.EVAL)


@pytest.mark.parametrize("kind", RunKind.values)
def test_every_kind_has_a_complete_registry_entry(kind):
    # given a run of the kind with every model it could name
    spec = RUN_KINDS[kind]
    run = TrainingRun(kind=kind, base_model="", reference="",
                      reward_model=ModelArtifact(path="/judge"),
                      policy=ModelArtifact(path="/policy"))  # fmt: skip
    # when the registry is asked what the services, the worker and the pages need
    models = spec.models(run)
    # then every answer is there and the answers agree with one another
    assert spec.kind == kind and callable(spec.data) and spec.named.startswith(("a ", "an "))
    assert spec.artifact is None or spec.artifact in ArtifactKind.values
    assert spec.artifact in execute.REGISTER
    assert spec.charts is None or spec.charts in charts.CURVES
    assert spec.report in charts.REPORTS
    assert ("reward_model" in models) == spec.needs_reward_model
    assert ("reference" in models) == spec.takes_policy
    assert ("policy" in models) == (spec.artifact != ArtifactKind.REWARD)
    assert not spec.takes_policy or models["policy"] == "/policy"  # the registered one
    assert not spec.takes_policy or spec.needs_reward_model  # an evaluation has a judge


def test_the_launch_the_trainer_config_and_the_page_follow_the_registry(db, monkeypatch):
    # given a reward-model kind that, in the registry, takes a reward model, names another
    # model in its trainer's config and draws an evaluation's report and reward against KL
    project, snapshot, engineer = project_with_listwise_snapshot(4)
    judge = ModelArtifact.objects.create(project=project, kind=ArtifactKind.REWARD,
                                         name="judge", path="/judge")  # fmt: skip
    changed = dataclasses.replace(
        RUN_KINDS[RunKind.REWARD], needs_reward_model=True, reward_against_kl=True,
        report="win_rate", models=lambda run: {"reward_model": run.reward_model.path},
    )  # fmt: skip
    monkeypatch.setitem(RUN_KINDS, RunKind.REWARD, changed)

    def launch(**models):
        return run_create(project=project, user=engineer, kind="reward", snapshot=snapshot,
                          enqueue=False, **models)[0]  # fmt: skip

    # when a run of it is launched without a reward model, then the launch refuses it
    with pytest.raises(ApplicationError, match="a reward-model run needs a registered reward"):
        launch()
    # when it is launched with one
    run = launch(reward_model=judge)
    # then the run keeps it, the trainer's config names it, the page draws as registered
    assert run.reward_model == judge
    assert execute._config(run)["reward_model"] == "/judge"
    assert [chart.title for chart in charts.run_curves(run)][1] == "Reward against √KL"
    run.summary = {"eval": {"reward_mean": 0.5}, "reference_eval": {"reward_mean": 0.25}}
    assert charts.evaluation_table(run) == [("Mean reward score", "0.500", "0.250")]


@pytest.mark.parametrize("case", TRAINER_CASES, ids=_ids)
def test_every_option_is_in_the_trainers_help(case, capsys):
    kind, f = case
    spec = RUN_KINDS[kind]
    with pytest.raises(SystemExit):
        importlib.import_module(spec.module).main([spec.command, "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert f"{f.flag} " in shown and f.help.split(" (")[0][:30] in shown


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_every_option_is_in_the_api_schema_with_its_help_and_bounds(case, hyperparameters_schema):
    kind, f = case
    schema = hyperparameters_schema["properties"][f.name]
    assert schema["type"] == {int: "integer", float: "number", str: "string",
                              bool: "boolean"}[f.type]  # fmt: skip
    assert f.help in schema["description"] and f"{kind} {f.default!r}" in schema["description"]
    if f.choices:
        assert set(f.choices) <= set(schema["enum"])
    if f.min is not None:
        assert schema["minimum"] <= f.min
    if f.max is not None:
        assert schema["maximum"] >= f.max
    assert hyperparameters_schema["additionalProperties"] is False


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_every_option_is_in_the_launch_form_of_its_kind(case, db):
    kind, f = case
    form = FORM_OF[kind](project=Project.objects.create(name="p", slug="p"))
    field = form.fields[f.name]
    # The help says what the option is: its help, or its reason where the help only
    # repeats the label ("Ranking loss": "ranking loss").
    said = f.reason if f.help.lower() == option_label(f.name).lower() else f.help
    assert field.label == option_label(f.name) and said.lower() in field.help_text.lower()
    if form.SHOW_DEFAULTS:
        assert field.initial == f.default
    html = str(form[f.name])
    if f.choices:
        assert all(f'value="{c}"' in html for c in f.choices)
    elif f.type in (int, float) and f.min is not None:
        assert 'min="' in html


@pytest.mark.parametrize("case", [c for c in CASES if _out_of_bounds(c[1]) is not None], ids=_ids)
def test_a_value_out_of_bounds_is_refused_by_the_api_as_by_the_cli(case, db):
    # given a value just outside an option's bounds
    kind, f = case
    value = _out_of_bounds(f)
    project, snapshot, engineer = project_with_listwise_snapshot(4)
    client = APIClient()
    client.force_authenticate(engineer)
    # when the API is asked to launch with it
    body = {"project": project.slug, "kind": kind, "snapshot": snapshot.pk,
            "hyperparameters": {f.name: value}}  # fmt: skip
    response = client.post("/api/v1/training-runs/", body, format="json")
    # then it is refused, naming the field
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == f"hyperparameters.{f.name}"
    assert not TrainingRun.objects.exists()
    if f.name in LAUNCH_NAMES:
        return
    # and the trainer's command line refuses it with the same words
    module, command, needed = TRAINERS[RUN_KINDS[kind].trainer]
    with pytest.raises(ConfigError) as refused:
        module.options_of([command, *_argv({**needed, f.name: value})])
    assert refused.value.name == f.name
    assert response.json()["message"] == f"hyperparameters.{f.name}: {refused.value.message}"
