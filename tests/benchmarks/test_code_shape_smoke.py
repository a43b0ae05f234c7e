"""The code-shape benchmark's figures on a tiny package written here: a cycle closed only by a
function-local import, an import in an app's ready(), one that loads torch through a
first-party module, a suffix-named layer module, a long function, and a skipped migration."""

from pathlib import Path

from benchmarks.code_shape import Commit, measure, report

LONG_BODY = "".join(f"    x{n} = {n}\n" for n in range(60))

FILES = {
    "projects/__init__.py": "",
    "projects/models_quality.py": (
        '"""Imports services at module level: one half of the cycle."""\n'
        "from projects import services\n"
        "\n"
        "\n"
        "def score():\n"
        "    return services.rescore()\n"
    ),
    "projects/services.py": (
        "def rescore():\n"
        "    from .models_quality import score  # closes the cycle, inside a function\n"
        "\n"
        "    return score\n"
        "\n"
        "\n"
        "def train():\n"
        "    from training import trainer\n"
        "\n"
        "    return trainer\n"
        "\n"
        "\n"
        f"def long():\n{LONG_BODY}"
    ),
    "projects/apps.py": (
        "from common.apps import SubdomainModelsConfig\n"
        "\n"
        "\n"
        "class ProjectsConfig(SubdomainModelsConfig):\n"
        "    def ready(self):\n"
        "        from projects import services  # noqa: F401\n"
    ),
    "projects/migrations/0001_initial.py": "def forwards():\n    import torch\n",
    "training/__init__.py": '"""Docstring only."""\n',
    "training/trainer.py": "import torch\n\n\ndef fit():\n    return torch\n",
}


def _package(root: Path) -> Path:
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_tiny_package_gives_its_cycle_local_imports_suffix_module_and_sizes(tmp_path):
    # given
    root = _package(tmp_path)

    # when
    shape = measure(root)

    # then
    assert shape["packages"] == ["projects", "training"]
    assert shape["suffix_named"] == ["projects/models_quality.py"]
    assert shape["cycles"] == [["projects.models_quality", "projects.services"]]
    assert shape["cycles_module_level"] == []  # only the function-local import closes it
    local = shape["local_imports"]
    assert (local["total"], local["in_ready"]) == (3, 1)  # the migration's is not read
    assert (local["ml_direct"], local["ml_through_first_party"]) == (0, 1)  # training.trainer
    assert (local["rest_first_party"], local["rest_other"]) == (1, 0)  # the cycle's
    assert local["ml_loading_modules_list"] == ["training.trainer"]  # its import torch at the top
    modules = shape["modules"]  # the empty __init__ and the docstring-only one left out
    assert (modules["count"], modules["max"], shape["modules_without_code"]) == (4, 73, 2)
    functions = shape["functions"]
    assert functions["count"] == 6  # score, rescore, train, long, ready, fit
    assert (functions["max"], functions["over_50"], functions["over_80"]) == (61, 1, 0)
    assert shape["longest_functions"][0].name == "long"


def test_report_has_a_table_per_metric_with_a_column_per_commit(tmp_path):
    # given
    shape = measure(_package(tmp_path))
    commits = [Commit("abc1234", "abc1234" + "0" * 33, "before"), Commit("HEAD", "f" * 40, "now")]

    # when
    text = report(commits, [shape, shape], command="python benchmarks/code_shape.py", started="t")

    # then
    for title in ("Module sizes", "Function sizes", "Suffix-named", "Import cycles", "Function-"):
        assert f"\n## {title}" in text
    assert "|  | before: abc1234 | after: HEAD (fffffff) |" in text
    assert "| functions over 50 lines |" not in text and "| over 50 lines | 1 | 1 |" in text
