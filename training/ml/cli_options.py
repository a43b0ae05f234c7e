"""Options of a trainer's ``train`` command: its defaults, overlaid by a config file
(JSON, which the platform writes, or YAML, which people write), overlaid by the command
line. Unknown config keys are errors; config values go through the flag's own type
(PyYAML reads ``5e-5`` as text)."""

import argparse
import json
import sys


def config_load(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        loaded = json.loads(text)
    else:
        import yaml

        loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise SystemExit(f"error: {path}: expected a mapping of option names to values")
    return loaded


def command_actions(parser: argparse.ArgumentParser, command: str) -> list:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]._actions


def options_merge(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    defaults: dict,
    *,
    extra: dict,
    required: tuple[str, ...],
    lists: tuple[str, ...],
) -> argparse.Namespace:
    """``defaults`` and ``extra`` (options without a default in the trainer's table)
    < ``args.config`` < the flags given (of the command chosen: ``train``, ``evaluate``)."""
    merged = {**defaults, **extra}
    if args.config:
        types = {
            a.dest: a.type for a in command_actions(parser, args.command) if a.type is not None
        }
        for key, value in config_load(args.config).items():
            name = key.replace("-", "_")
            if name not in merged:
                parser.error(f"{args.config}: unknown option {key!r}")
            if value is not None and name in types and not isinstance(value, list):
                try:
                    value = types[name](value)
                except (TypeError, ValueError):
                    parser.error(f"{args.config}: {key}: {value!r} is not a {types[name].__name__}")
            merged[name] = value
    for key, value in vars(args).items():
        if value is not None and not (key == "resume" and value is False):
            merged[key] = value
    for name in required:
        if not merged.get(name):
            parser.error(f"--{name.replace('_', '-')} is required (or in --config)")
    for key in lists:
        if isinstance(merged.get(key), str):
            merged[key] = [merged[key]]
    return argparse.Namespace(**merged)


def cli_run(argv: list[str] | None, options_of, commands: dict) -> int:
    """Parse, run the chosen command and print the JSON object it returns (nothing for
    None); bad data is one ``error: file:line: field ...`` line on stderr and exit 2."""
    from training.ml.preference_data import DataError

    o = options_of(sys.argv[1:] if argv is None else argv)
    try:
        result = commands[o.command](o)
    except (DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if result is not None:
        print(json.dumps(result, indent=2 if o.command == "evaluate" else None))
    return 0
