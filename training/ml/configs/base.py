"""What a trainer's typed config is made of, and everything derived from one: the
defaults table, the ``train`` command's flags and ``--help``, a YAML or JSON file's
values, and the checks of every value, each error naming its field.

A config is a ``@dataclass`` whose every field is an ``option(...)``: its default, its
help, its unit (or, where a quantity has none, the reason it exists) and, where they
apply, its choices and bounds. ``config_fields`` reads them back for whatever else is
derived from the config (the API's validation, the launch forms, the run page).

Imports neither torch nor Django: the web process reads these.
"""

import argparse
import json
import types
import typing
from dataclasses import MISSING, dataclass, field, fields

GROUPS = ("data", "model", "training")


class ConfigError(ValueError):
    """A value a config refuses: ``name`` is the field's, ``message`` says why, and
    ``where`` (a config file) where the value came from."""

    def __init__(self, name: str, message: str, where: str = ""):
        super().__init__(f"{where}: {name}: {message}" if where else f"{name}: {message}")
        self.name, self.message, self.where = name, message, where


def option(
    default,
    help: str,
    *,
    unit: str = "",
    reason: str = "",
    choices: tuple | None = None,
    min: float | None = None,
    max: float | None = None,
    exclusive_min: bool = False,
    required: bool = False,
    group: str = "training",
    tunable: bool | None = None,
):
    """A config field. ``unit`` says what a number counts; ``reason`` why an option
    without a unit is there. ``min``/``max`` bound a number (``min`` itself refused
    when ``exclusive_min``). ``group``: ``data`` (files the run reads and writes, set
    per run), ``model`` (the models it starts from or is judged by) or ``training``.
    ``tunable``: whether the launch form and the API may set it (by default the
    ``training`` options). ``required``: the run cannot start without a value."""
    if group not in GROUPS:
        raise ValueError(f"group: one of {', '.join(GROUPS)}")
    if not (unit or reason):
        raise ValueError(f"{help!r}: an option says its unit or its reason")
    metadata = {
        "help": help, "unit": unit, "reason": reason, "choices": choices, "min": min,
        "max": max, "exclusive_min": exclusive_min, "required": required, "group": group,
        "tunable": group == "training" if tunable is None else tunable,
    }  # fmt: skip
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def option_like(config: type, name: str, default, **changes):
    """A subclass's field ``name`` as ``config`` describes it, with another default (and
    any other ``option`` argument changed)."""
    meta = {**config.__dataclass_fields__[name].metadata, **changes}
    return option(default, **meta)


@dataclass(frozen=True)
class ConfigField:
    """One option of a config, as forms, validation and ``--help`` read it."""

    name: str
    type: type  # int, float, str, bool, or list (of text: a repeatable option)
    default: object
    help: str
    unit: str
    reason: str
    choices: tuple | None
    min: float | None
    max: float | None
    exclusive_min: bool
    required: bool
    nullable: bool  # None is a value (an option left to the trainer's own choice)
    group: str
    tunable: bool

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def bounds(self) -> str:
        """The bounds in words: ``> 0``, ``0 to 1``, ``>= 1`` (empty when none)."""
        low = f"{'>' if self.exclusive_min else '>='} {self.min:g}" if self.min is not None else ""
        if self.max is None:
            return low
        if self.min is not None and not self.exclusive_min:
            return f"{self.min:g} to {self.max:g}"
        return f"{low}, <= {self.max:g}" if low else f"<= {self.max:g}"


def _type_of(annotation) -> tuple[type, bool]:
    """(base type, whether None is allowed) of ``int``, ``float | None``, ``list[str]``..."""
    nullable = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable, annotation = True, args[0]
    if typing.get_origin(annotation) is list:
        return list, nullable
    return annotation, nullable


def config_fields(config: type) -> tuple[ConfigField, ...]:
    """Every option of a config class (or instance), in its order."""
    out = []
    for f in fields(config):
        kind, nullable = _type_of(f.type)
        default = f.default if f.default is not MISSING else f.default_factory()
        out.append(ConfigField(name=f.name, type=kind, default=default, nullable=nullable,
                               **f.metadata))  # fmt: skip
    return tuple(out)


def config_field(config: type, name: str) -> ConfigField:
    return next(f for f in config_fields(config) if f.name == name)


def config_defaults(config: type, *, without: tuple[str, ...] = ()) -> dict:
    """Each option's default, by name (those in ``without`` left out)."""
    return {f.name: f.default for f in config_fields(config) if f.name not in without}


def value_check(f: ConfigField, value):
    """``value`` as the field's type (numbers written as text, as YAML reads ``5e-5``,
    become numbers; a single text a list of one), or a ConfigError naming the field."""
    if value is None:
        if f.nullable:
            return None
        raise ConfigError(f.name, "may not be empty")
    value = _as_type(f, value)
    if f.choices is not None and value not in f.choices:
        raise ConfigError(f.name, f"one of {', '.join(map(str, f.choices))}, got {value!r}")
    if f.type in (int, float):
        too_low = f.min is not None and (value <= f.min if f.exclusive_min else value < f.min)
        if too_low or (f.max is not None and value > f.max):
            raise ConfigError(f.name, f"must be {f.bounds()}, got {value!r}")
    return value


def _as_type(f: ConfigField, value):
    if f.type is bool:
        if not isinstance(value, bool):
            raise ConfigError(f.name, f"expected true or false, got {value!r}")
        return value
    if f.type is list:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise ConfigError(f.name, f"expected a file name or a list of them, got {value!r}")
        return items
    if f.type is str:
        if not isinstance(value, str):
            raise ConfigError(f.name, f"expected text, got {value!r}")
        return value
    number = _number(value)
    if number is None or (f.type is int and not float(number).is_integer()):
        what = "a whole number" if f.type is int else "a number"
        raise ConfigError(f.name, f"expected {what}, got {value!r}")
    return int(number) if f.type is int else float(number)


def _number(value) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def config_check(config: type, values: dict):
    """An instance of ``config`` from ``values`` (missing ones take their defaults),
    every value checked; a ConfigError names the first bad or unknown field."""
    by_name = {f.name: f for f in config_fields(config)}
    for key in values:
        if key not in by_name:
            raise ConfigError(key, f"not an option of {config.__name__}")
    checked = {k: value_check(by_name[k], v) for k, v in values.items()}
    instance = config(**checked)
    check = getattr(instance, "check", None)
    if check:
        check()
    return instance


def config_file_read(path: str) -> dict:
    """A config file's mapping of option names to values (JSON, which the platform
    writes, or YAML, which people write)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        loaded = json.loads(text)
    else:
        import yaml

        loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise ConfigError("config", f"{path}: expected a mapping of option names to values")
    return loaded


def config_load(config: type, path: str):
    """An instance of ``config`` from a YAML or JSON file (option names with ``_`` or
    ``-``); errors name the file and the field."""
    values = {str(k).replace("-", "_"): v for k, v in config_file_read(path).items()}
    try:
        return config_check(config, values)
    except ConfigError as exc:
        raise ConfigError(exc.name, exc.message, path) from None


def help_of(f: ConfigField) -> str:
    """The flag's ``--help`` line: help, unit, choices' default and bounds."""
    parts = [f.unit] if f.unit else []
    if f.default is not None and f.type is not bool and f.default != []:
        parts.append(f"default {f.default}")
    if f.bounds():
        parts.append(f.bounds())
    if f.required:
        parts.append("required")
    text = f"{f.help} ({'; '.join(parts)})" if parts else f.help
    return text.replace("%", "%%")


def config_arguments(parser: argparse.ArgumentParser, config: type) -> None:
    """A flag per option of ``config``, each defaulting to None (not given), so that a
    config file's value stands unless the command line sets it."""
    for f in config_fields(config):
        kwargs: dict = {"help": help_of(f), "default": None, "dest": f.name}
        if f.type is bool:
            kwargs["action"] = (
                "store_true" if f.default is False else argparse.BooleanOptionalAction
            )
        elif f.type is list:
            kwargs["action"] = "append"
        else:
            kwargs["type"] = f.type
            kwargs["metavar"] = f.name.upper() if f.choices is None else None
        if f.choices is not None:
            kwargs["choices"] = f.choices
        parser.add_argument(f.flag, **kwargs)
    parser.add_argument(
        "--config", help="a YAML or JSON file of these options (the command line wins)"
    )


def config_parser(prog: str, doc: str, commands: dict) -> argparse.ArgumentParser:
    """``prog COMMAND`` for each ``{command: (help, config class)}``: the flags of each
    derived from its config; a command with ``None`` for a class gets no flags (its
    caller adds its own to ``parser.commands[command]``)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=doc.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=doc.split("\n\n", 2)[2],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    parser.commands = {}
    for command, (help_text, config) in commands.items():
        parser.commands[command] = sub.add_parser(command, help=help_text)
        if config is not None:
            config_arguments(parser.commands[command], config)
    return parser


def config_options(
    config: type, parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.Namespace:
    """The options of a command parsed by ``parser`` into ``args``: ``config``'s
    defaults < its ``--config`` file < the flags given. An unknown option in the file or
    a required one missing is a usage error (exit 2); a value of the wrong type, out of
    its choices or bounds is a ConfigError naming the field (and the file)."""
    values = config_defaults(config)
    if args.config:
        raw = {str(k).replace("-", "_"): v for k, v in config_file_read(args.config).items()}
        by_name = {f.name: f for f in config_fields(config)}
        for key, value in raw.items():
            if key not in by_name:
                parser.error(f"{args.config}: unknown option {key!r}")
            try:
                values[key] = value_check(by_name[key], value)
            except ConfigError as exc:
                raise ConfigError(key, exc.message, args.config) from None
    values |= {k: v for k, v in vars(args).items() if v is not None and k in values}
    for f in config_fields(config):
        if f.required and not values.get(f.name):
            parser.error(f"{f.flag} is required (or in --config)")
    config_check(config, values)
    given = {"command": args.command, **({"config": args.config} if args.config else {})}
    return argparse.Namespace(**values, **given)
