"""How thin the web edges are: handler lengths and ORM reads in views and API modules.

A handler is a public top-level function of a ``views.py`` or a ``get``/``post``/``put``/
``patch``/``delete`` method of a class in a ``views.py`` or ``api.py``. Its length counts
the lines of its body (decorators and the docstring left out). An ORM statement is a
statement (or a compound statement's header) in the module that builds or runs a query:
``Model.objects...`` other than a primary-key ``get``, ``get_object_or_404`` other than by
primary key, or a queryset method (``filter``, ``exclude``, ``values_list``, ``order_by``...)
on anything. Reads belong in named selectors (STYLE.md, issue 20 item 6).

    .venv/bin/python -m benchmarks.edges            # the table, worst first
    .venv/bin/python -m benchmarks.edges --json     # the same as JSON
"""

import ast
import json
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EDGE_NAMES = ("views.py", "api.py")
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
QUERYSET_METHODS = {
    "filter", "exclude", "annotate", "aggregate", "values", "values_list", "order_by",
    "select_related", "prefetch_related", "distinct", "only", "defer", "exists", "in_bulk",
    "get_or_create", "update_or_create", "bulk_create",
}  # fmt: skip
PK_KEYWORDS = {"pk", "id"}
SKIP_DIRS = {".venv", "node_modules", "tests", "benchmarks", "migrations", ".git"}


@dataclass
class Handler:
    module: str
    name: str
    line: int
    lines: int


@dataclass
class OrmStatement:
    module: str
    line: int
    text: str


def edge_modules(root: Path = ROOT) -> list[Path]:
    """Every views.py and api.py of the apps (tests, benchmarks and the venv left out)."""
    found = []
    for name in EDGE_NAMES:
        for path in root.rglob(name):
            if not SKIP_DIRS & set(path.relative_to(root).parts):
                found.append(path)
    return sorted(found)


def _body_lines(fn: ast.FunctionDef) -> int:
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if not body:
        return 0
    return body[-1].end_lineno - body[0].lineno + 1


def handlers(tree: ast.Module, module: str, is_views: bool) -> list[Handler]:
    """The module's request handlers with their body lengths."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and is_views and not node.name.startswith("_"):
            found.append(Handler(module, node.name, node.lineno, _body_lines(node)))
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name in HTTP_METHODS:
                    name = f"{node.name}.{item.name}"
                    found.append(Handler(module, name, item.lineno, _body_lines(item)))
    return found


def _is_pk_lookup(call: ast.Call) -> bool:
    return bool(call.keywords) and all(k.arg in PK_KEYWORDS for k in call.keywords)


def _is_orm(node: ast.AST) -> bool:
    """Whether this one node builds or runs a query (a pk get is allowed)."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name) and func.id in {"get_object_or_404", "get_list_or_404"}:
        return func.id == "get_list_or_404" or not _is_pk_lookup(node)
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr in QUERYSET_METHODS:
        return True
    on_manager = isinstance(func.value, ast.Attribute) and func.value.attr == "objects"
    return on_manager and not (func.attr == "get" and _is_pk_lookup(node))


def _headers(stmt: ast.stmt) -> list[ast.AST]:
    """The parts of a statement that belong to it and not to a nested block."""
    if isinstance(stmt, (ast.If, ast.While)):
        return [stmt.test]
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return [stmt.iter]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [i.context_expr for i in stmt.items]
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return list(stmt.decorator_list)
    if isinstance(stmt, (ast.Try, ast.Match)):
        return [stmt.subject] if isinstance(stmt, ast.Match) else []
    return [stmt]


def orm_statements(tree: ast.Module, module: str, source: str) -> list[OrmStatement]:
    """Statements of the module that query the database by themselves."""
    lines = source.splitlines()
    found = []
    for stmt in ast.walk(tree):
        if not isinstance(stmt, ast.stmt):
            continue
        if any(_is_orm(n) for part in _headers(stmt) for n in ast.walk(part)):
            found.append(OrmStatement(module, stmt.lineno, lines[stmt.lineno - 1].strip()))
    return found


def measure(root: Path = ROOT) -> dict:
    """Handlers and ORM statements of every edge module, with a summary."""
    all_handlers: list[Handler] = []
    all_orm: list[OrmStatement] = []
    for path in edge_modules(root):
        module = str(path.relative_to(root))
        source = path.read_text()
        tree = ast.parse(source)
        all_handlers += handlers(tree, module, is_views=path.name == "views.py")
        all_orm += orm_statements(tree, module, source)
    sizes = [h.lines for h in all_handlers] or [0]
    return {
        "handlers": len(all_handlers),
        "handler_lines_median": statistics.median(sizes),
        "handler_lines_max": max(sizes),
        "handlers_over_25": sorted(
            (asdict(h) for h in all_handlers if h.lines > 25), key=lambda h: -h["lines"]
        ),
        "orm_statements": [asdict(o) for o in all_orm],
        "all_handlers": [asdict(h) for h in all_handlers],
    }


def main(argv: list[str]) -> None:
    report = measure()
    if "--json" in argv:
        print(json.dumps(report, indent=1))
        return
    print(
        f"{report['handlers']} handlers, median {report['handler_lines_median']} lines, "
        f"max {report['handler_lines_max']}; {len(report['handlers_over_25'])} over 25 lines; "
        f"{len(report['orm_statements'])} ORM statements in views/api modules"
    )
    for h in report["handlers_over_25"]:
        print(f"  {h['lines']:4d}  {h['module']}:{h['line']} {h['name']}")
    for o in report["orm_statements"]:
        print(f"  ORM  {o['module']}:{o['line']}  {o['text']}")


if __name__ == "__main__":
    main(sys.argv[1:])
