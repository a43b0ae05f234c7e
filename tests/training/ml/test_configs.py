"""Each trainer's typed config is the one definition of its options: every field says
its help and unit (or reason), appears in the trainer's ``--help``, parses from the
command line and from a YAML file, and a value out of its choices or bounds is refused
with the field named. The web tier reads them without torch."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from training.ml import dpo, grpo, policy_eval, ppo, reward, sft
from training.ml.configs import TRAINER_CONFIGS, ConfigError, config_fields

ROOT = Path(__file__).resolve().parents[3]
# module, its command, what the command cannot run without
TRAINERS = {
    "reward": (reward, "train", {"data": ["d.jsonl"], "out": "o"}),
    "ppo": (ppo, "train", {"reward_model": "rm", "prompts": ["p.jsonl"], "out": "o"}),
    "sft": (sft, "train", {"data": ["d.jsonl"], "out": "o"}),
    "dpo": (dpo, "train", {"data": ["d.jsonl"], "out": "o"}),
    "grpo": (grpo, "train", {"reward_model": "rm", "prompts": ["p.jsonl"], "out": "o"}),
    "policy_eval": (
        policy_eval,
        "evaluate",
        {"policy": "p", "reward_model": "rm", "prompts": ["p.jsonl"], "out": "o"},
    ),
}
CASES = [(name, f) for name, config in TRAINER_CONFIGS.items() for f in config_fields(config)]


def _ids(case) -> str:
    return f"{case[0]}.{case[1].name}" if isinstance(case, tuple) else str(case)


def _argv(values: dict) -> list[str]:
    argv = []
    for name, value in values.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, list):
            for item in value:
                argv += [flag, item]
        elif value is True:
            argv.append(flag)
        else:
            argv += [flag, str(value)]
    return argv


def _another(f):
    """A valid value of the field other than its default (doubling keeps every
    divisibility rule between options true)."""
    if f.choices:
        return next(c for c in f.choices if c != f.default)
    if f.type is bool:
        return not f.default
    if f.type is list:
        return ["a.jsonl", "b.jsonl"]
    if f.type is str:
        return f"some-{f.name}"
    if f.max is not None:
        low = f.min or 0
        return f.type((f.default + f.max) / 2 if f.default != f.max else (low + f.max) / 2)
    if f.default is None:
        return f.type(1)
    return f.type(f.default * 2) if f.default else f.type(1)


def _options(trainer: str, values: dict, tmp_path: Path | None = None):
    module, command, needed = TRAINERS[trainer]
    return module.options_of([command, *_argv({**needed, **values})])


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_every_option_says_what_it_is_and_is_in_the_help(case, capsys):
    trainer, f = case
    assert f.help and (f.unit or f.reason), f.name
    module, command, _ = TRAINERS[trainer]
    with pytest.raises(SystemExit):
        module.main([command, "--help"])
    shown = capsys.readouterr().out
    assert f"{f.flag} " in shown or f"{f.flag}\n" in shown, f.flag
    assert f.help.split(" (")[0][:30] in " ".join(shown.split()), f.help


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_every_option_parses_from_the_command_line(case):
    trainer, f = case
    value = _another(f)
    o = _options(trainer, {f.name: value})
    assert getattr(o, f.name) == value


@pytest.mark.parametrize("trainer", TRAINER_CONFIGS)
def test_a_yaml_file_sets_every_option_and_the_command_line_wins(trainer, tmp_path):
    # given a file that sets every option to another value than its default
    config = TRAINER_CONFIGS[trainer]
    values = {f.name: _another(f) for f in config_fields(config)}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({k.replace("_", "-"): v for k, v in values.items()}))
    module, command, _ = TRAINERS[trainer]
    # when
    o = module.options_of([command, "--config", str(path), "--seed", "7"])
    # then
    assert {k: getattr(o, k) for k in values} == values | {"seed": 7}


@pytest.mark.parametrize(
    "case", [c for c in CASES if c[1].min is not None or c[1].max is not None], ids=_ids
)
def test_a_value_out_of_bounds_is_refused_naming_the_field(case, tmp_path, capsys):
    trainer, f = case
    too_low = f.min if f.exclusive_min else f.min - 1 if f.min is not None else None
    bad = f.type(f.max + 1) if too_low is None else f.type(too_low)
    with pytest.raises(ConfigError) as refused:
        _options(trainer, {f.name: bad})
    assert refused.value.name == f.name and f.bounds() in str(refused.value)

    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({f.name: bad}))
    module, command, needed = TRAINERS[trainer]
    assert module.main([command, *_argv(needed), "--config", str(path)]) == 2
    assert f"error: {path}: {f.name}: must be" in capsys.readouterr().err


@pytest.mark.parametrize("case", [c for c in CASES if c[1].choices], ids=_ids)
def test_a_value_out_of_its_choices_is_refused_naming_the_field(case, tmp_path, capsys):
    trainer, f = case
    module, command, needed = TRAINERS[trainer]
    with pytest.raises(SystemExit):
        module.options_of([command, *_argv(needed), f.flag, "nonsense"])
    assert f"argument {f.flag}: invalid choice" in capsys.readouterr().err

    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({f.name: "nonsense"}))
    with pytest.raises(ConfigError) as refused:
        module.options_of([command, *_argv(needed), "--config", str(path)])
    assert refused.value.name == f.name and refused.value.where == str(path)
    assert f"one of {', '.join(f.choices)}" in str(refused.value)


def test_a_value_of_the_wrong_kind_in_a_file_names_the_file_and_the_field(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text("lr: fast\nhead_lr: 5e-4\n")
    assert reward.main(["train", "--data", "d", "--out", "o", "--config", str(path)]) == 2
    assert f"error: {path}: lr: expected a number, got 'fast'" in capsys.readouterr().err
    path.write_text("batch_size: 3.5\n")
    with pytest.raises(ConfigError, match="batch_size: expected a whole number"):
        reward.options_of(["train", "--data", "d", "--out", "o", "--config", str(path)])


def test_rules_between_options_are_the_configs(capsys):
    with pytest.raises(ConfigError) as refused:
        _options("ppo", {"batch_size": 16, "mini_batch_size": 6})
    assert refused.value.name == "mini_batch_size"
    assert grpo.main(["train", *_argv(TRAINERS["grpo"][2]), "--batch-size", "6"]) == 2
    assert "batch_size: counts responses" in capsys.readouterr().err


@pytest.mark.parametrize("trainer", TRAINER_CONFIGS)
def test_the_defaults_table_is_the_configs(trainer):
    module = TRAINERS[trainer][0]
    fields = {f.name: f for f in config_fields(TRAINER_CONFIGS[trainer])}
    assert module.DEFAULTS == {k: fields[k].default for k in module.DEFAULTS}
    left_out = set(fields) - set(module.DEFAULTS)
    assert all(fields[k].group in ("data", "model") for k in left_out), left_out


def test_the_web_tier_reads_configs_and_defaults_without_torch():
    code = (
        "import sys; from training.ml import reward, ppo, sft, dpo, grpo, policy_eval; "
        "from training.ml.configs import TRAINER_CONFIGS, config_fields; "
        "[config_fields(c) for c in TRAINER_CONFIGS.values()]; "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
