"""docs/traceability.md names real tests: every test a row cites exists, and every built rule cites one.

A row's **test** cell names tests as ``alias::test_name`` (aliases are defined in the legend
above the tables, ``seed`` = tests/scenarios/test_seed_rules.py …) or ``tests/…/file.py::test_name``;
a parameter in brackets (``[parts]``) is ignored. A renamed or deleted test must take its rows
with it, or this test fails.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "traceability.md"
ALIAS = re.compile(r"`(\w+)` = (tests/[\w/]+\.py)")
REFERENCE = re.compile(r"(tests/[\w/]+\.py|\b[a-z_]+)::(test_\w+)")
BUILT = ("✅", "◐")


@cache
def defined_tests(path: Path) -> frozenset[str]:
    """The names of the test functions a file defines (at module level or in classes)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    )


def aliases() -> dict[str, str]:
    return dict(ALIAS.findall(TABLE.read_text(encoding="utf-8")))


def rows() -> list[list[str]]:
    """The rule rows of every table: cells of lines starting with ``| <number>``."""
    found = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if re.match(r"\|\s*\d+\.\d+\s*\|", line):
            found.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return found


def test_the_table_has_rows_with_a_test_and_a_status_column() -> None:
    table = rows()
    assert len(table) > 80
    assert all(len(row) == 9 for row in table), [row[0] for row in table if len(row) != 9]


def test_every_test_the_table_names_exists() -> None:
    files = aliases()
    missing = []
    for row in rows():
        for where, name in REFERENCE.findall(row[6]):
            path = ROOT / files.get(where, where)
            if not path.is_file() or name not in defined_tests(path):
                missing.append(f"{row[0]}: {where}::{name}")
    assert missing == []


def test_every_built_rule_names_a_test_that_fails_without_it() -> None:
    untested = [row[0] for row in rows() if row[8].startswith(BUILT) and not REFERENCE.search(row[6])]
    assert untested == []


def test_the_aliases_name_files_that_exist() -> None:
    assert {alias: path for alias, path in aliases().items() if not (ROOT / path).is_file()} == {}
