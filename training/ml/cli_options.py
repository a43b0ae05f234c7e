"""Running a trainer's command: its options come from its typed config
(``training.ml.configs``: defaults < a ``--config`` YAML or JSON file < the flags), and
what the command returns is printed as JSON."""

import json
import sys


def cli_run(argv: list[str] | None, options_of, commands: dict) -> int:
    """Parse, run the chosen command and print the JSON object it returns (nothing for
    None); a refused option or bad data is one ``error: ...`` line on stderr naming the
    field (or the file and line) and exit 2."""
    from training.ml.configs.base import ConfigError
    from training.ml.preference_data import DataError

    try:
        o = options_of(sys.argv[1:] if argv is None else argv)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        result = commands[o.command](o)
    except (DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if result is not None:
        print(json.dumps(result, indent=2 if o.command == "evaluate" else None))
    return 0
