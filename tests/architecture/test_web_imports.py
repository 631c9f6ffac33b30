"""The web tier's import rules: no circle inside web/, and no blueprint importing the app factory.

Read from the source with ``ast`` (nothing is imported), so a rule broken in a module no test
imports still fails here. Every import counts, also one inside a function: a circle broken
only by importing late is still a circle. Imports under ``if TYPE_CHECKING:`` do not run and
are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The modules allowed to import ``web.app``: the entry points that serve the app it builds.
APP_IMPORTERS = frozenset({"web.cli", "web.wsgi"})


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Map every module of ``package`` under ``root`` to its file (a package by its __init__)."""
    modules: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_names(module: str, path: Path) -> Iterator[str]:
    """Yield the dotted names a module imports, relative imports resolved, TYPE_CHECKING left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.module, node.level)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from (n for child in node.orelse for n in _walk(child))
            continue
        yield from _walk(node)


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    yield from _runtime_nodes(node)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(module: str, is_package: bool, name: str | None, level: int) -> str:
    if level == 0:
        return name or ""
    parts = module.split(".")
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - (level - 1)]
    return ".".join([*anchor, name] if name else anchor)


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Return, for every module of ``package``, the modules of ``package`` it imports."""
    modules = module_names(root, package)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets: set[str] = set()
        for name in imported_names(module, path):
            # "from web.oversight import figures" imports the module web.oversight.figures;
            # "from web.i18n import current_lang" imports the module web.i18n.
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return every group of modules that import one another round a circle (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def test_no_import_circle_inside_web() -> None:
    circles = import_circles(import_graph(ROOT, "web"))
    assert circles == [], "modules of web/ importing one another round a circle: " + "; ".join(
        " ↔ ".join(group) for group in circles
    )


def test_only_the_command_line_imports_the_app_factory() -> None:
    graph = import_graph(ROOT, "web")
    importers = sorted(module for module, targets in graph.items() if "web.app" in targets)
    assert set(importers) <= APP_IMPORTERS, (
        f"{', '.join(sorted(set(importers) - APP_IMPORTERS))} import web.app: take extensions from "
        "web.extensions and language and formatting helpers from web.i18n"
    )


def test_extensions_and_helpers_import_no_blueprint() -> None:
    graph = import_graph(ROOT, "web")
    assert graph["web.extensions"] == set()
    assert graph["web.i18n"] == set()


def test_a_circle_is_found_also_through_a_late_import_and_a_relative_one(tmp_path: Path) -> None:
    package = tmp_path / "site"
    (package / "views").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text("def create():\n    from site.views import pages\n")
    (package / "views" / "__init__.py").write_text("from . import pages\n")
    (package / "views" / "pages.py").write_text("from ..helpers import when\n")
    (package / "helpers.py").write_text("from site.app import create\nwhen = create\n")
    (package / "typed.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from site.app import create\n"
    )

    graph = import_graph(tmp_path, "site")

    assert import_circles(graph) == [["site.app", "site.helpers", "site.views", "site.views.pages"]]
    assert graph["site.typed"] == set()


def test_modules_that_only_import_downwards_make_no_circle(tmp_path: Path) -> None:
    package = tmp_path / "site"
    package.mkdir()
    (package / "app.py").write_text("from site import views\nfrom site.helpers import when\n")
    (package / "views.py").write_text("from site.helpers import when\n")
    (package / "helpers.py").write_text("import datetime\nwhen = datetime.date\n")

    assert import_circles(import_graph(tmp_path, "site")) == []
