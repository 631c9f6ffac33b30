"""The layers hold: engine ← processes ← web, and the engine knows none of our processes.

Read from the source with ``ast`` (nothing is imported), so a regression fails here even when
the offending module is never loaded by another test.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
DIAGRAMS = ROOT / "diagrams"
#: The longest a function of the engine may be: longer ones hide several steps behind one name.
MAX_FUNCTION_LINES = 60
#: Words of the engine's own vocabulary that a form may also use as a field key: a suspension's
#: ``reason``, a case ``comment``, the ``amount`` of working time a due time was counted in, and
#: ``customer_name``, the case's list column every list shows (the instance row carries it; which
#: form keys fill it is plugged in by ``processes/wiring.py``).
ENGINE_WORDS = frozenset({"reason", "comment", "amount", "customer_name"})
TASK_TAGS = (
    "task",
    "userTask",
    "manualTask",
    "serviceTask",
    "scriptTask",
    "businessRuleTask",
    "callActivity",
    "sendTask",
    "receiveTask",
)


def python_files(package: str, root: Path = ROOT) -> list[Path]:
    """Every module of a top-level package."""
    return sorted((root / package).rglob("*.py"))


def imported_modules(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """Yield (line, module) for every import of a source file, relative ones made absolute."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module


def forbidden_imports(package: str, forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    """The imports of ``package`` that reach one of the ``forbidden`` top-level packages."""
    found = []
    for path in python_files(package, root):
        for line, module in imported_modules(path, root):
            top = module.split(".")[0]
            if top in forbidden or (top.startswith("flask_") and "flask" in forbidden):
                found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


def test_the_engine_imports_neither_processes_nor_web_nor_flask() -> None:
    assert forbidden_imports("engine", ("processes", "web", "flask")) == []


def test_the_domain_imports_neither_web_nor_flask() -> None:
    assert forbidden_imports("processes", ("web", "flask")) == []


def test_the_import_rule_sees_a_violation(tmp_path: Path) -> None:
    (tmp_path / "engine" / "store").mkdir(parents=True)
    probe = tmp_path / "engine" / "store" / "probe.py"
    probe.write_text("from processes.roles import ROLES\nfrom .. import clock\nimport flask_login\n")
    assert forbidden_imports("engine", ("processes", "web", "flask"), tmp_path) == [
        "engine/store/probe.py:1 imports processes.roles",
        "engine/store/probe.py:3 imports flask_login",
    ]


# --- the engine names none of our processes, roles or form fields ----------------------------------


def diagram_names() -> dict[str, set[str]]:
    """Process keys, role keys and form field keys, read from the files in ``diagrams/``."""
    processes: set[str] = set()
    roles: set[str] = set()
    tasks: set[str] = set()
    for path in DIAGRAMS.glob("*.bpmn"):
        tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False))
        processes.update(p.get("id") for p in tree.iter("{*}process") if p.get("id"))
        tasks.update(n.get("id") for tag in TASK_TAGS for n in tree.iter(f"{{*}}{tag}") if n.get("id"))
        roles.update(lane.get("id")[len("lane_") :] for lane in tree.iter("{*}lane") if lane.get("id"))
        for prop in tree.iter("{*}property"):
            if prop.get("name") == "startRoles":
                roles.update(r.strip() for r in (prop.get("value") or "").split(",") if r.strip())
    fields: set[str] = set()
    for path in (DIAGRAMS / "forms").glob("*.form.json"):
        fields.update(_field_keys(json.loads(path.read_text(encoding="utf-8"))))
    return {"process": processes, "task": tasks, "role": roles, "field": fields - ENGINE_WORDS}


def _field_keys(component: object) -> Iterator[str]:
    if isinstance(component, dict):
        if isinstance(component.get("key"), str):
            yield component["key"]
        for value in component.values():
            yield from _field_keys(value)
    elif isinstance(component, list):
        for value in component:
            yield from _field_keys(value)


def names_in_source(path: Path) -> Iterator[tuple[int, str, str]]:
    """Yield (line, name, how it is used) for the names and strings of a module.

    How: ``string`` (a literal), ``prose`` (a word of a literal), ``attribute`` (``x.name``),
    ``declared`` (a class or module attribute, a function or class name) or ``local`` (a local
    variable or argument).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value, "string"
            for word in node.value.replace("'", " ").replace('"', " ").split():
                yield node.lineno, word.strip(".,;:()`"), "prose"
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            yield node.lineno, node.target.id, "declared"
        elif isinstance(node, ast.Name):
            yield node.lineno, node.id, "local"
        elif isinstance(node, ast.Attribute):
            yield node.lineno, node.attr, "attribute"
        elif isinstance(node, ast.arg):
            yield node.lineno, node.arg, "local"
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            yield node.lineno, node.name, "declared"


#: Where each kind of name counts. A process key even in prose ties the engine to it; a field
#: key counts as data (a string, an attribute, a declared column), not as a local variable's
#: ordinary English name ("amount", "method"); nor does a role's or field's word in prose.
COUNTS = {
    "process": {"string", "prose", "attribute", "declared", "local"},
    "task": {"string", "prose", "attribute", "declared", "local"},
    "role": {"string", "attribute", "declared", "local"},
    "field": {"string", "attribute", "declared"},
}


def domain_names_in_engine(root: Path = ROOT) -> list[str]:
    """Every place in ``engine/`` that names a process, role or form field of ``diagrams/``."""
    names = diagram_names()
    found = []
    for path in python_files("engine", root):
        for line, name, how in names_in_source(path):
            for kind, known in names.items():
                if name in known and how in COUNTS[kind]:
                    found.append(f"{path.relative_to(root)}:{line} names the {kind} '{name}'")
    return sorted(set(found))


def test_the_diagrams_give_the_names_to_look_for() -> None:
    names = diagram_names()
    assert {"repair_service", "complaint", "recall"} <= names["process"]
    assert {"task_follow_up", "task_cause_analysis"} <= names["task"]
    assert {"technician", "service_supervisor", "quality"} <= names["role"]
    assert {"urgency", "responsible_department", "rating_attitude"} <= names["field"]


def test_the_engine_names_none_of_our_processes_roles_or_form_fields() -> None:
    assert domain_names_in_engine() == []


def test_the_name_rule_sees_a_violation(tmp_path: Path) -> None:
    (tmp_path / "engine").mkdir()
    probe = tmp_path / "engine" / "probe.py"
    probe.write_text(
        'DEPARTMENTS = {"repair_service": "technical"}\n'
        "\n"
        "\n"
        "def rate(method):  # a field's key as a local name is an ordinary word\n"
        '    """Rate a recall for quality."""\n'
        '    return method.get("urgency")\n'
        "\n"
        "\n"
        'FOLLOW_UP = "task_follow_up"\n'
    )
    assert domain_names_in_engine(tmp_path) == [
        "engine/probe.py:1 names the process 'repair_service'",
        "engine/probe.py:1 names the role 'technical'",
        "engine/probe.py:5 names the process 'recall'",
        "engine/probe.py:6 names the field 'urgency'",
        "engine/probe.py:9 names the task 'task_follow_up'",
    ]


# --- small functions ------------------------------------------------------------------------------


def long_functions(package: str, limit: int, root: Path = ROOT) -> list[str]:
    """The functions of ``package`` longer than ``limit`` lines (docstring included)."""
    found = []
    for path in python_files(package, root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > limit:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} has {length} lines")
    return found


def test_no_engine_function_is_longer_than_sixty_lines() -> None:
    assert long_functions("engine", MAX_FUNCTION_LINES) == []


def test_the_length_rule_sees_a_long_function(tmp_path: Path) -> None:
    (tmp_path / "engine").mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(60))
    (tmp_path / "engine" / "probe.py").write_text(f"def short():\n    pass\n\n\ndef long():\n{body}")
    assert long_functions("engine", MAX_FUNCTION_LINES, tmp_path) == ["engine/probe.py:5 long has 61 lines"]
