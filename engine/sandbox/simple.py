"""Which scripts and expressions are *simple*: cheap enough to run in the server process.

A simple script has no loops, comprehensions, functions or lambdas, so each of its operations
runs at most once; it holds at most ``MAX_OPERATIONS`` operations (calls, operators,
comparisons, subscripts, f-string fields); it calls only the helpers and the builtins and
methods below, whose cost is bounded by their (already size-limited) arguments; it stores
only to plain names (no item or attribute writes) and calls no method that changes a value, so
running it has no effect but its result — which lets the sandbox run it again in a script
process when, at run time, an operator would build a nested value (see ``NeedsIsolation``).
Gateway conditions, timer and due-time expressions and DMN cells are simple; everything else
runs in a script process under OS limits (``engine.sandbox.script_processes``).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable

from engine.sandbox.attributes import CONTAINERS

#: Operations one simple script may hold: a tenfold margin over the gateway conditions and
#: DMN cells of the shipped diagrams, and small enough that the worst of them over maximal
#: case data stays far below the time limit (tests/unit/test_sandbox_simple_class.py).
MAX_OPERATIONS = 16

#: Builtins whose cost is bounded by their arguments and whose result is a scalar.
SIMPLE_BUILTINS = frozenset({"len", "str", "int", "float", "bool", "abs", "round", "isinstance"})

#: Methods (of str, dict, dates) that read a value and return a scalar, a flat list or a part of it.
SIMPLE_METHODS = frozenset(
    {
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "startswith",
        "endswith",
        "isdigit",
        "isdecimal",
        "isoformat",
        "get",
        "keys",
        "values",
        "year",
        "month",
        "day",
        "weekday",
        "date",
        "total_seconds",
    }
)

_STATEMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.If, ast.Expr, ast.Pass)
_EXPRESSIONS = (
    ast.BoolOp,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Name,
    ast.Constant,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
)
_OPERATIONS = (ast.BinOp, ast.Compare, ast.Call, ast.Subscript, ast.FormattedValue, ast.AugAssign)
_CONTEXTS = (ast.Load, ast.Store)


class NeedsIsolation(BaseException):
    """Raised in a simple script that is about to build a nested value: run it in a script process.

    A BaseException, so no script can catch it (see ``guards.exception_type``).
    """


def is_simple(tree: ast.AST, helpers: Iterable[str] = ()) -> bool:
    """Tell whether the parsed script may run in the server process (see the module docstring)."""
    callable_names = SIMPLE_BUILTINS | frozenset(helpers)
    operations = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.Expression | ast.expr_context | ast.operator | ast.cmpop):
            continue
        if isinstance(node, ast.boolop | ast.unaryop | ast.keyword):
            continue
        if not isinstance(node, _STATEMENTS + _EXPRESSIONS):
            return False
        if isinstance(node, _OPERATIONS):
            operations += 1
            if operations > MAX_OPERATIONS:
                return False
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not all(isinstance(target, ast.Name) for target in targets):
                return False
        elif not _simple_value(node, callable_names):
            return False
    return True


def _simple_value(node: ast.AST, callable_names: frozenset[str]) -> bool:
    if isinstance(node, ast.Call):
        return _simple_call(node, callable_names)
    if isinstance(node, ast.List | ast.Tuple | ast.Set | ast.Dict):
        return _constant_display(node)
    return True


def _simple_call(node: ast.Call, callable_names: frozenset[str]) -> bool:
    if any(isinstance(arg, ast.Starred) for arg in node.args) or any(k.arg is None for k in node.keywords):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in callable_names
    return isinstance(func, ast.Attribute) and func.attr in SIMPLE_METHODS


def _constant_display(node: ast.expr) -> bool:
    """A list, tuple, set or dict written out of constants only (its size is the source's)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return all(_constant_display(item) for item in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _constant_display(k) for k in node.keys) and all(
            _constant_display(v) for v in node.values
        )
    return isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant)


@functools.lru_cache(maxsize=1024)
def is_simple_source(source: str, mode: str, helpers: frozenset[str]) -> bool:
    """``is_simple`` of a source that already compiled under the sandbox policy (cached)."""
    try:
        return is_simple(ast.parse(source, mode=mode), helpers)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False


#: Items a simple script may have walked in one C call (compared, rendered, searched) before
#: it goes to a script process: a walk this long takes well under a millisecond.
SIMPLE_WALK = 1_000


def walks_far(value: object) -> bool:
    """Tell whether comparing or rendering ``value`` would walk more than SIMPLE_WALK items.

    Counts nested items too (a list of ten lists of 10**5 items), stopping at the bound.
    """
    if not isinstance(value, CONTAINERS):
        return False
    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            seen += len(item)
            stack.extend(item.values())
            stack.extend(item.keys())
        elif isinstance(item, CONTAINERS):
            seen += len(item)
            stack.extend(item)
        if seen > SIMPLE_WALK:
            return True
    return False


def nests(value: object) -> bool:
    """Tell whether a list or tuple holds a container (repeating it would alias that container)."""
    return isinstance(value, list | tuple) and any(isinstance(item, CONTAINERS) for item in value)
