"""The simple class: which scripts run in the server process, and the bound on what they cost."""

from __future__ import annotations

import ast
import time
from typing import Any

import pytest

from engine.sandbox import SandboxEnvironment, SandboxLimits
from engine.sandbox.simple import MAX_OPERATIONS, SIMPLE_WALK, is_simple, walks_far

HELPERS = frozenset({"now", "today", "due_in", "working_hours", "working_days"})

SIMPLE = [
    "customer_accepts == 'yes'",
    "amount > 1000 and category == 'A' and customer_name.startswith('华东')",
    "due_in(sla_amount, sla_unit)",
    "working_days(5)",
    "serial_number or ''",
    "dmninputexpr in ('A', 'B')",
    "dmninputexpr >= 1000 and dmninputexpr < 5000",
    "f'PT{hours}H' if urgent else 'P1D'",
    "return_outcome = 'refunded' if requested_remedy == 'refund' else 'replaced'",
    "archive = product or {}\nfound = bool(archive.get('found'))\nif found:\n    number = archive.get('n')",
]
NOT_SIMPLE = [
    "[i for i in items]",
    "x = 0\nfor i in items:\n    x = x + i",
    "while True:\n    pass",
    "def f():\n    return 1\nx = f()",
    "(lambda: 1)()",
    "hash(t)",
    "sum(values)",
    "sorted(values)",
    "tuple(values)",
    "{t}",
    "{t: 1}",
    "[a, b]",
    "lines.append(1)",
    "d['k'] = 1",
    "x = {**d}",
    "len(*args)",
    " and ".join(["a == b"] * (MAX_OPERATIONS + 1)),
]


@pytest.mark.parametrize("source", SIMPLE)
def test_conditions_due_times_and_dmn_cells_are_simple(source: str) -> None:
    assert is_simple(_parse(source), HELPERS)


@pytest.mark.parametrize("source", NOT_SIMPLE)
def test_loops_functions_unlisted_calls_and_displays_of_names_are_not_simple(source: str) -> None:
    assert not is_simple(_parse(source), HELPERS)


def _parse(source: str) -> ast.AST:
    try:
        return ast.parse(source, mode="eval")
    except SyntaxError:
        return ast.parse(source, mode="exec")


def test_a_walk_is_measured_with_nested_items_and_stops_at_the_bound() -> None:
    assert not walks_far([1] * SIMPLE_WALK)
    assert walks_far([[0] * 100] * 11)
    assert walks_far({"k": list(range(SIMPLE_WALK + 1))})
    assert not walks_far("x" * 10**6)


def _maximal_data(limits: SandboxLimits) -> dict[str, Any]:
    """Case data at the limits: strings of max_string characters, lists of max_items items."""
    text = "华" * (limits.max_string - 1)
    return {
        "s": text,
        "t": text[:-1] + "东",
        "items": [f"value {i}" for i in range(limits.max_items)],
        "table": {f"k{i}": i for i in range(limits.max_items)},
        "n": 2**limits.max_int_bits - 1,
    }


# The costliest simple expressions we know, each with MAX_OPERATIONS operations over maximal data.
WORST = {
    "string methods": " and ".join(["s.upper() != t"] * (MAX_OPERATIONS // 2)),
    "string search": " and ".join(["t in s"] * MAX_OPERATIONS),
    "string concatenation": " and ".join(["len(s[1:] + 'x') > 0"] * (MAX_OPERATIONS // 4)),
    "big integers": " and ".join(["n // 7 > 0"] * (MAX_OPERATIONS // 2)),
    "big integer text": " and ".join(["len(str(n)) > 0"] * (MAX_OPERATIONS // 3)),
    "lookups": " and ".join(["table.get(s) is None"] * (MAX_OPERATIONS // 2)),
    "membership": " and ".join(["'k5' in table"] * (MAX_OPERATIONS // 2)),
}


@pytest.mark.parametrize("name", list(WORST))
def test_the_worst_simple_expression_over_maximal_case_data_stays_far_below_the_limit(name: str) -> None:
    """The bound of the simple class, measured: an order of magnitude under the 1 s time limit.

    The assertion leaves room for a loaded machine; the printed figure is what to read.
    """
    limits = SandboxLimits()
    env = SandboxEnvironment({}, limits=SandboxLimits(script_processes=0))
    source = WORST[name]
    assert is_simple(ast.parse(source, mode="eval"))
    data = _maximal_data(limits)
    began = time.perf_counter()
    try:
        env.evaluate(source, data)
    except Exception as err:  # a refusal is an answer too, and usually a quicker one
        print(f"{name}: refused: {err}")
    elapsed = time.perf_counter() - began
    print(f"{name}: {elapsed * 1000:.1f} ms")
    assert elapsed < limits.time_limit / 2
