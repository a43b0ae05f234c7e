"""The shape of PrefLab's code at git commits, side by side (issue 20's before and after).

    .venv/bin/python benchmarks/code_shape.py                              # f28d8ad and HEAD
    .venv/bin/python benchmarks/code_shape.py --commit 32dcf8c --commit HEAD --out /tmp/x.md

Each commit is exported with ``git archive COMMIT | tar -x`` into a temporary folder (the
working tree is never touched; uncommitted changes are in no column) and read with the
standard library's ``ast``: nothing is imported or run, so the figures depend on the code
alone. The modules are the ``.py`` files of the first-party packages present at the commit
(config, common, projects, annotation, training, demo), migrations, tests, benchmarks and
virtual environments left out. Per commit:

- module sizes: physical lines of each module that holds code (empty files and files with
  only a docstring are counted apart); median, p90 (nearest rank), max, how many over 400;
- function sizes: every ``def`` (functions, methods, nested functions, each on its own),
  from the ``def`` line to its last line, decorators left out; median, p90, max, how many
  over 50 and over 80 lines;
- suffix-named layer modules: a module named ``<layer>_<something>.py`` where the layer is
  models, views, api, serializers, selectors, services, forms, tasks, urls or admin
  (``views_runs.py``): a layer split by file name instead of by package;
- import cycles: the strongly connected components with more than one module in the
  module import graph, built here from the ``ast`` (not grimp, so it needs no installed
  package and reads the exported tree as files). Every import statement counts, those
  inside functions too. ``import a.b.c`` is an edge to the longest first-party module
  prefix of ``a.b.c``; ``from a.b import c`` to ``a.b.c`` when that is a module, else to
  ``a.b``; relative imports are resolved; parent packages run by an import are not edges
  (grimp's graph, which import-linter checks, is built the same way). The same count from
  module-level imports alone shows how many cycles only function-local imports close;
- function-local imports outside ``training/ml`` (whose modules are meant to be loaded
  lazily and to import torch freely): import statements inside a function, of them those
  in an ``AppConfig.ready`` and those that load the ML stack (torch, transformers, ...):
  by naming it, or by importing a first-party module whose module-level imports load it,
  its parent packages included. Beside them, the modules outside ``training/ml`` that load
  the ML stack through their own module-level imports: where a deferred import moved to the
  top of a module would show.
"""

import argparse
import ast
import shlex
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make `benchmarks` importable

from benchmarks.machine import machine_facts, machine_markdown  # noqa: E402
from benchmarks.stats import percentile  # noqa: E402

FIRST_PARTY = ("config", "common", "projects", "annotation", "training", "demo")
SKIP_DIRS = {"migrations", "tests", "benchmarks", ".venv", "node_modules", "__pycache__"}
LAYERS = (
    "models", "views", "api", "serializers", "selectors", "services", "forms", "tasks",
    "urls", "admin",
)  # fmt: skip
# Libraries a web process should never load: the reason a deferred import is worth its cost.
ML_STACK = (
    "torch", "transformers", "peft", "trl", "accelerate", "datasets", "safetensors",
    "sentence_transformers", "tokenizers", "huggingface_hub", "gguf",
)  # fmt: skip
LAZY_PACKAGE = "training.ml"  # torch-only code; its own local imports are by design
MODULE_LIMIT = 400  # STYLE.md: modules under ~400 lines
FUNCTION_LIMITS = (50, 80)  # STYLE.md: functions under ~50 lines; 80 is clearly over
DEFAULT_COMMITS = ("f28d8ad", "HEAD")


@dataclass(frozen=True)
class Function:
    module: str
    name: str  # qualified within the module: Class.method, outer.inner
    line: int
    lines: int


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    line: int
    targets: tuple[str, ...]  # absolute dotted names, relative ones resolved
    function: str | None  # the enclosing function's qualified name; None at module level
    in_ready: bool  # inside an AppConfig subclass's ready()
    type_checking: bool  # under `if TYPE_CHECKING:`, never run


@dataclass
class Module:
    name: str
    path: str
    lines: int
    has_code: bool
    functions: list[Function] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)


# --- reading a tree --------------------------------------------------------------------------


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for the first-party packages present under root."""
    found = {}
    for package in FIRST_PARTY:
        if not (root / package).is_dir():
            continue
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if SKIP_DIRS & set(parts[:-1]):
                continue
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)


def _is_type_checking(test: ast.expr) -> bool:
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", None)
    return name == "TYPE_CHECKING"


def _is_app_config(cls: ast.ClassDef, module: str) -> bool:
    """An app's config: any class of an apps.py (they subclass AppConfig through a base of
    their own, e.g. common.apps.SubdomainModelsConfig), or one naming AppConfig as its base."""
    if module.rpartition(".")[2] == "apps":
        return True
    names = (b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in cls.bases)
    return any(name.endswith("AppConfig") for name in names)


def import_base(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a `from ... import` reads from, relative levels resolved."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


class _Scanner(ast.NodeVisitor):
    """Collects a module's functions and import statements with their enclosing scopes."""

    def __init__(self, module: str, is_package: bool):
        self.module, self.is_package = module, is_package
        self.scopes: list[tuple[str, ast.AST]] = []  # (name, FunctionDef or ClassDef)
        self.type_checking = False
        self.functions: list[Function] = []
        self.imports: list[Import] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scopes.append((node.name, node))
        self.generic_visit(node)
        self.scopes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        name = ".".join([*(s for s, _ in self.scopes), node.name])
        lines = node.end_lineno - node.lineno + 1
        self.functions.append(Function(self.module, name, node.lineno, lines))
        self.scopes.append((node.name, node))
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            return self.generic_visit(node)
        outer, self.type_checking = self.type_checking, True
        for stmt in node.body:
            self.visit(stmt)
        self.type_checking = outer
        for stmt in node.orelse:
            self.visit(stmt)

    def visit_Import(self, node: ast.Import) -> None:
        self._record(node, tuple(alias.name for alias in node.names))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = import_base(self.module, self.is_package, node)
        names = (a.name for a in node.names)
        self._record(node, tuple(base if n == "*" else f"{base}.{n}" for n in names))

    def _record(self, node: ast.stmt, targets: tuple[str, ...]) -> None:
        scopes = [s for _, s in self.scopes]
        functions = [(i, s) for i, s in enumerate(scopes) if not isinstance(s, ast.ClassDef)]
        function = ".".join(n for n, _ in self.scopes) if functions else None
        in_ready = any(
            s.name == "ready"
            and i > 0
            and isinstance(scopes[i - 1], ast.ClassDef)
            and _is_app_config(scopes[i - 1], self.module)
            for i, s in functions
        )
        self.imports.append(
            Import(self.module, node.lineno, targets, function, in_ready, self.type_checking)
        )


def module_read(name: str, path: Path, root: Path) -> Module:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    scanner = _Scanner(name, is_package=path.name == "__init__.py")
    scanner.visit(tree)
    has_code = any(not _is_docstring(stmt) for stmt in tree.body)
    relative = str(path.relative_to(root))
    return Module(
        name, relative, len(source.splitlines()), has_code, scanner.functions, scanner.imports
    )


def tree_read(root: Path) -> dict[str, Module]:
    """Every first-party module under root, read."""
    return {name: module_read(name, path, root) for name, path in module_files(root).items()}


# --- the figures -----------------------------------------------------------------------------


def distribution(values: Iterable[int], limits: Iterable[int]) -> dict:
    """Count, median, p90 (nearest rank) and max of the values, and how many exceed each limit."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "median": 0, "p90": 0, "max": 0, **{f"over_{n}": 0 for n in limits}}
    return {
        "count": len(ordered),
        "median": statistics.median(ordered),
        "p90": percentile(ordered, 90),
        "max": ordered[-1],
        **{f"over_{n}": sum(1 for v in ordered if v > n) for n in limits},
    }


def suffix_named(modules: dict[str, Module]) -> list[str]:
    """Modules named `<layer>_<something>.py`: a layer split by file name, not by package."""
    found = []
    for module in modules.values():
        stem = Path(module.path).stem
        if any(stem.startswith(f"{layer}_") and stem != f"{layer}_" for layer in LAYERS):
            found.append(module.path)
    return sorted(found)


def resolve(target: str, known: Iterable[str] | set[str]) -> str | None:
    """The longest first-party module that is `target` or a package above it."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        if (candidate := ".".join(parts[:end])) in known:
            return candidate
    return None


def import_graph(modules: dict[str, Module], *, module_level_only: bool = False) -> dict:
    """Module -> the first-party modules it imports (itself left out)."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for module in modules.values():
        for imp in module.imports:
            if module_level_only and (imp.function or imp.type_checking):
                continue
            for target in imp.targets:
                found = resolve(target, modules)
                if found and found != module.name:
                    graph[module.name].add(found)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while (member := stack.pop()) != node:
                        on_stack.discard(member)
                        component.append(member)
                    on_stack.discard(node)
                    if component:
                        found.append(sorted([node, *component]))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(found, key=lambda c: (-len(c), c))


def _top(target: str) -> str:
    return target.split(".")[0]


def ml_loaders(modules: dict[str, Module]) -> set[str]:
    """First-party modules whose loading loads the ML stack, through their module-level
    imports (the packages above an imported module run first, so they count too)."""
    loaders: set[str] = set()
    changed = True
    while changed:
        changed = False
        for module in modules.values():
            if module.name not in loaders and _loads_ml(module, modules, loaders):
                loaders.add(module.name)
                changed = True
    return loaders


def _loads_ml(module: Module, modules: dict[str, Module], loaders: set[str]) -> bool:
    runs = [imp for imp in module.imports if not (imp.function or imp.type_checking)]
    return any(_target_loads_ml(t, modules, loaders) for imp in runs for t in imp.targets)


def _target_loads_ml(target: str, modules: dict[str, Module], loaders: set[str]) -> bool:
    if _top(target) in ML_STACK:
        return True
    found = resolve(target, modules)
    if found is None:
        return False
    parts = found.split(".")
    return any(".".join(parts[:end]) in loaders for end in range(1, len(parts) + 1))


def local_imports(modules: dict[str, Module]) -> dict:
    """Function-local import statements outside training/ml, sorted by why they might be."""
    lazy = [
        imp
        for module in modules.values()
        if not _is_lazy(module.name)
        for imp in module.imports
        if imp.function
    ]
    loaders = ml_loaders(modules)
    outside = [m for m in loaders if not _is_lazy(m)]
    direct = [i for i in lazy if any(_top(t) in ML_STACK for t in i.targets)]
    through = [
        i
        for i in lazy
        if i not in direct and any(_target_loads_ml(t, modules, loaders) for t in i.targets)
    ]
    rest = [i for i in lazy if i not in direct and i not in through and not i.in_ready]
    first_party = [i for i in rest if any(resolve(t, modules) for t in i.targets)]
    return {
        "total": len(lazy),
        "in_ready": sum(1 for i in lazy if i.in_ready),
        "ml_direct": len(direct),
        "ml_through_first_party": len(through),
        "rest_first_party": len(first_party),
        "rest_other": len(rest) - len(first_party),
        "rest_first_party_list": first_party,
        "ml_loading_modules": len(outside),
        "ml_loading_modules_list": sorted(outside),
    }


def _is_lazy(module: str) -> bool:
    return module == LAZY_PACKAGE or module.startswith(f"{LAZY_PACKAGE}.")


def measure(root: Path) -> dict:
    """Every figure of the report for the tree under root."""
    modules = tree_read(root)
    with_code = [m for m in modules.values() if m.has_code]
    functions = [f for m in modules.values() for f in m.functions]
    return {
        "packages": [p for p in FIRST_PARTY if (root / p).is_dir()],
        "modules": distribution((m.lines for m in with_code), [MODULE_LIMIT]),
        "modules_without_code": len(modules) - len(with_code),
        "largest_modules": sorted(with_code, key=lambda m: -m.lines)[:5],
        "functions": distribution((f.lines for f in functions), FUNCTION_LIMITS),
        "longest_functions": sorted(functions, key=lambda f: -f.lines)[:10],
        "suffix_named": suffix_named(modules),
        "cycles": cycles(import_graph(modules)),
        "cycles_module_level": cycles(import_graph(modules, module_level_only=True)),
        "local_imports": local_imports(modules),
    }


# --- exporting a commit ----------------------------------------------------------------------


@dataclass(frozen=True)
class Commit:
    ref: str
    sha: str
    subject: str


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit_resolve(ref: str) -> Commit:
    sha = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    return Commit(ref, sha, _git("log", "-1", "--format=%s", sha))


def commit_export(commit: Commit, folder: Path) -> Path:
    """The commit's tree as files under folder (git archive | tar -x), the checkout untouched."""
    folder.mkdir(parents=True)
    archive = subprocess.Popen(["git", "archive", commit.sha], cwd=ROOT, stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(folder)], stdin=archive.stdout, check=True)
    archive.stdout.close()
    if archive.wait():
        raise RuntimeError(f"git archive {commit.sha} failed")
    return folder


# --- the report ------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return f"{value:g}"


def _spread(d: dict) -> str:
    return f"{_fmt(d['median'])} / {_fmt(d['p90'])} / {_fmt(d['max'])}"


def _table(columns: list[str], results: list[dict], rows: list[tuple[str, Callable]]) -> list[str]:
    """A Markdown table: a row per (label, figure of one commit's results), a column per commit."""
    lines = [f"|  | {' | '.join(columns)} |", f"| --- |{' ---: |' * len(columns)}"]
    for label, figure in rows:
        lines.append(f"| {label} | {' | '.join(str(figure(r)) for r in results)} |")
    return [*lines, ""]


def _per_commit(
    columns: list[str], results: list[dict], what: str, item: Callable, title: str
) -> list[str]:
    """A bullet per commit naming the items of results[what]."""
    return [
        f"{title}:",
        "",
        *(
            f"- {col}: {', '.join(map(item, r[what])) or 'none'}"
            for col, r in zip(columns, results, strict=True)
        ),
        "",
    ]


def _size_sections(columns: list[str], results: list[dict]) -> list[str]:
    low, high = FUNCTION_LIMITS
    module_rows = [
        ("modules with code", lambda r: r["modules"]["count"]),
        ("median / p90 / max lines", lambda r: _spread(r["modules"])),
        (f"over {MODULE_LIMIT} lines", lambda r: r["modules"][f"over_{MODULE_LIMIT}"]),
        ("files without code (empty, docstring only)", lambda r: r["modules_without_code"]),
    ]
    function_rows = [
        ("functions and methods", lambda r: r["functions"]["count"]),
        ("median / p90 / max lines", lambda r: _spread(r["functions"])),
        (f"over {low} lines", lambda r: r["functions"][f"over_{low}"]),
        (f"over {high} lines", lambda r: r["functions"][f"over_{high}"]),
    ]
    return [
        "## Module sizes (lines)",
        "",
        *_table(columns, results, module_rows),
        *_per_commit(
            columns, results, "largest_modules", lambda m: f"`{m.path}` {m.lines}", "Largest"
        ),
        "## Function sizes (lines, `def` to last line)",
        "",
        *_table(columns, results, function_rows),
        *_per_commit(
            columns,
            results,
            "longest_functions",
            lambda f: f"`{f.module}.{f.name}` {f.lines}",
            "Longest",
        ),
    ]


def _suffix_section(columns: list[str], results: list[dict]) -> list[str]:
    return [
        "## Suffix-named layer modules (`<layer>_<something>.py`)",
        "",
        *_table(columns, results, [("modules", lambda r: len(r["suffix_named"]))]),
        *_per_commit(columns, results, "suffix_named", lambda path: f"`{path}`", "Which"),
    ]


def _cycle_section(columns: list[str], results: list[dict]) -> list[str]:
    rows = [
        ("cycles, every import (function-local too)", lambda r: len(r["cycles"])),
        ("modules in them", lambda r: sum(map(len, r["cycles"]))),
        ("largest (modules)", lambda r: max(map(len, r["cycles"]), default=0)),
        ("cycles, module-level imports only", lambda r: len(r["cycles_module_level"])),
    ]
    lines = [
        "## Import cycles (strongly connected components of more than one module)",
        "",
        *_table(columns, results, rows),
    ]
    for col, r in zip(columns, results, strict=True):
        members = [f"- {len(c)}: {', '.join(f'`{m}`' for m in c)}" for c in r["cycles"]]
        lines += [f"{col}:", "", *(members or ["- none"]), ""]
    return lines


def _local_section(columns: list[str], results: list[dict]) -> list[str]:
    rows = [
        ("import statements inside a function", "total"),
        ("of them in an app's `ready()`", "in_ready"),
        ("of them naming the ML stack (torch, transformers, ...)", "ml_direct"),
        ("of them loading it through a first-party module", "ml_through_first_party"),
        ("the rest: importing a first-party module", "rest_first_party"),
        ("the rest: stdlib or other third-party", "rest_other"),
        ("modules outside `training/ml` loading the ML stack at import", "ml_loading_modules"),
    ]
    return [
        "## Function-local imports outside `training/ml`",
        "",
        *_table(columns, results, [(label, _local_figure(key)) for label, key in rows]),
        f"The ML stack: {', '.join(ML_STACK)}. The last row counts modules whose own "
        "module-level imports load it (not function-local imports), so a deferred import moved "
        "to the top of a module shows there.",
        "",
        *_per_commit(
            columns,
            [r["local_imports"] for r in results],
            "rest_first_party_list",
            lambda i: f"`{i.module}:{i.line}`",
            "The rest that import a first-party module",
        ),
        *_per_commit(
            columns,
            [r["local_imports"] for r in results],
            "ml_loading_modules_list",
            lambda name: f"`{name}`",
            "Modules outside `training/ml` loading the ML stack at import",
        ),
    ]


def _local_figure(key: str) -> Callable:
    return lambda r: r["local_imports"][key]


def _columns(commits: list[Commit]) -> list[str]:
    """`before: f28d8ad`, `after: HEAD (79f8cee)`; with more commits than two, just the refs."""
    names = [c.sha[:7] if c.sha.startswith(c.ref) else f"{c.ref} ({c.sha[:7]})" for c in commits]
    if len(names) != 2:
        return names
    return [f"before: {names[0]}", f"after: {names[1]}"]


def report(commits: list[Commit], results: list[dict], command: str, started: str) -> str:
    """The Markdown report: how it was made, the machine, then a table per metric."""
    columns = _columns(commits)
    facts = machine_facts(postgres_version="PostgreSQL: not used (the source is read, not run)")
    packages = "; ".join(
        f"{c.sha[:7]}: {', '.join(r['packages'])}" for c, r in zip(commits, results, strict=True)
    )
    lines = [
        "# Code shape, before and after (issue 20)",
        "",
        f"Measured {started} with",
        "",
        "```",
        command,
        "```",
        "",
        *(f"- `{c.ref}` = `{c.sha[:10]}` ({c.subject})" for c in commits),
        "",
        "Each commit is exported with `git archive COMMIT | tar -x` and read with `ast`: nothing "
        "is imported or run, so the figures depend on the code alone, and uncommitted changes "
        f"are in no column. Packages read: {packages}; migrations, tests and benchmarks left "
        "out. What each figure counts: the docstring of `benchmarks/code_shape.py`.",
        "",
        *machine_markdown(facts),
        *_size_sections(columns, results),
        *_suffix_section(columns, results),
        *_cycle_section(columns, results),
        *_local_section(columns, results),
    ]
    return "\n".join(lines).rstrip() + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a = p.add_argument
    a("--commit", action="append", help="a git ref, once per column (default: f28d8ad, HEAD)")
    a("--out", type=Path, default=ROOT / "benchmarks" / "results" / "code_shape.md",
      help="the Markdown report (default: benchmarks/results/code_shape.md)")  # fmt: skip
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    commits = [commit_resolve(ref) for ref in args.commit or DEFAULT_COMMITS]
    with tempfile.TemporaryDirectory(prefix="code_shape_") as work:
        results = [measure(commit_export(c, Path(work) / c.sha)) for c in commits]
    python = Path(sys.executable)
    inside = python.is_relative_to(ROOT)  # the project's venv, else whatever Python ran it
    command = shlex.join([str(python.relative_to(ROOT)) if inside else python.name, *sys.argv])
    args.out.write_text(report(commits, results, command, started))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
