"""The README and the manual in docs/ stay in step with each other and with the code.

`make docs` (mkdocs build --strict) already fails on a broken link or anchor between
pages of docs/; the README sits outside docs/, so its links are checked here. Every
environment variable config/settings.py reads must be named on the operations page.
"""

import ast
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
OPERATIONS = DOCS / "operations.md"
SETTINGS = ROOT / "config" / "settings.py"

# [text](target) and ![alt](target); the target up to a space or the closing bracket.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$", re.MULTILINE)
EXPLICIT_ID = re.compile(r"\{\s*#([\w-]+)[^}]*\}\s*$")
ENV_READERS = {"env_str", "env_bool", "env_int", "env_list"}


def _slug(text: str) -> str:
    """The anchor Python-Markdown's toc extension (MkDocs' default) gives a heading."""
    text = re.sub(r"`([^`]*)`", r"\1", text)  # inline code is kept as its text
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # so is a link's text
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors_of(page: Path) -> set[str]:
    """Every anchor a Markdown page's headings make: an explicit {#id} or the slug."""
    found = set()
    for heading in HEADING.findall(page.read_text(encoding="utf-8")):
        explicit = EXPLICIT_ID.search(heading)
        found.add(explicit.group(1) if explicit else _slug(heading))
    return found


def local_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")
    ]


def broken_links(page: Path) -> list[str]:
    """The page's relative links whose file, or whose anchor in a Markdown file, is missing."""
    broken = []
    for target in local_links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve()
        if not resolved.exists():
            broken.append(f"{target}: no file {resolved}")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors_of(resolved):
            broken.append(f"{target}: no heading with the anchor #{anchor}")
    return broken


def settings_variables() -> set[str]:
    """Names of the environment variables config/settings.py reads, by any reader."""
    names = set()
    for node in ast.walk(ast.parse(SETTINGS.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            reads_environ = called in {"get", "getenv"} and "environ" in ast.unparse(func)
            reads_environ |= called == "getenv"
            if (called in ENV_READERS or reads_environ) and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.add(first.value)
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("environ"):
            if isinstance(node.slice, ast.Constant):
                names.add(node.slice.value)
    return names


def configuration_table_variables() -> set[str]:
    """The `NAME`s in the first column of the operations page's Configuration table."""
    page = OPERATIONS.read_text(encoding="utf-8")
    section = page.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1])}


def test_the_readme_links_only_to_docs_pages_and_anchors_that_exist():
    # given the README's relative links (pages, anchors, the screenshot)
    links = local_links(README)

    # when each is resolved against the tree
    broken = broken_links(README)

    # then it points into docs/, and every one is there
    assert any(link.startswith("docs/") for link in links)
    assert broken == []


def test_a_link_to_a_missing_anchor_is_caught(tmp_path):
    # given a page linking to a real page, a real anchor and a missing one
    (tmp_path / "target.md").write_text("# Title\n\n## The `make run` step\n\n## Keys {#keys}\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[a](target.md) [b](target.md#the-make-run-step) [c](target.md#keys) "
        "[d](target.md#nowhere) [e](missing.md) [f](https://example.org/x.md#y)\n"
    )

    # when its links are checked
    broken = broken_links(page)

    # then exactly the missing anchor and the missing page are reported
    assert [entry.split(":")[0] for entry in broken] == ["target.md#nowhere", "missing.md"]


def test_every_environment_variable_the_settings_read_is_documented():
    # given the variables config/settings.py reads
    variables = settings_variables()

    # when the operations page's configuration table is searched for each
    documented = configuration_table_variables()
    undocumented = sorted(variables - documented)

    # then none is missing
    assert {"DATABASE_URL", "PREFLAB_DATA_DIR", "SECRET_KEY"} <= variables
    assert undocumented == [], f"add these to docs/operations.md#configuration: {undocumented}"


@pytest.mark.parametrize(
    "source, expected",
    [
        ('X = env_int("PREFLAB_A", 1)', {"PREFLAB_A"}),
        ('import os\nX = os.environ.get("B", "")', {"B"}),
        ('import os\nX = os.getenv("C")', {"C"}),
        ('import os\nX = os.environ["D"]', {"D"}),
        ('X = int(env_str("E", "5"))', {"E"}),
    ],
)
def test_every_way_of_reading_a_variable_is_found(source, expected, monkeypatch, tmp_path):
    # given a settings module that reads a variable one way
    settings = tmp_path / "settings.py"
    settings.write_text(source)
    monkeypatch.setattr(f"{__name__}.SETTINGS", settings)

    # when its variables are listed
    found = settings_variables()

    # then the variable is among them
    assert found == expected
