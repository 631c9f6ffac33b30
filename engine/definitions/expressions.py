"""Check the Python expressions and scripts of a diagram before they ever run, with hints for other dialects."""

from __future__ import annotations

import ast
import re
from datetime import date, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.definitions.results import Problem, _one_line
from engine.sandbox import SandboxLimits, check_source


def _check_expression(
    source: str,
    mode: str,
    element_id: str,
    what: str,
    file: str,
    problems: list[Problem],
    limits: SandboxLimits | None = None,
) -> bool:
    """Report an expression or script the sandbox would refuse; return whether it is fine."""
    message = _expression_problem(source, mode, what, limits)
    if message is None:
        return True
    problems.append(Problem(element_id, message, file))
    return False


def _expression_problem(source: str, mode: str, what: str, limits: SandboxLimits | None = None) -> str | None:
    source = source.strip() if mode == "eval" else source
    error = check_source(source, mode, limits)
    if error is None:
        lowercase = _lowercase_literal(source) if mode == "eval" else None
        return f"the {what} {_quote(source)} {lowercase}" if lowercase else None
    hint = _foreign_hint(source) if not _parses(source, mode) else None
    if hint:
        return f"the {what} {_quote(source)} is not a Python expression afterflow can run ({hint})"
    return f"the {what} is not allowed or does not compile: {error}"


_JUEL = re.compile(r"^\s*[$#]\{(?P<inner>.*)\}\s*$", re.DOTALL)
_FEEL_MARKERS = re.compile(
    r"\.\.|\bthen\b|\bnull\b|\btrue\b|\bfalse\b|date and time\(|\bduration\(|\bsatisfies\b|\binstance of\b"
)
_BARE_ISO = re.compile(
    r"^(R\d*/)?(P(?=\d|T\d)[\dYMWDTHS.,]*|\d{4}-\d{2}-\d{2}(T[\d:.]+)?(Z|[+-]\d{2}:?\d{2})?)(/\S*)?$",
    re.IGNORECASE,
)
_LOWERCASE_LITERALS = {"true": "True", "false": "False", "null": "None"}


def _foreign_hint(source: str) -> str | None:
    """Say which other tool's expression language an expression that is not Python looks like."""
    juel = _JUEL.match(source)
    if juel:
        return _suggest(
            "a JUEL expression, as Camunda 7, Flowable and Activiti write them", juel.group("inner")
        )
    stripped = source.strip()
    if stripped.startswith("="):
        return _suggest("a FEEL expression, as Camunda 8 writes them", stripped[1:])
    if _FEEL_MARKERS.search(source):
        return "it looks like FEEL, the expression language of Camunda and other tools; write it in Python"
    return None


def _suggest(kind: str, inner: str) -> str:
    inner = inner.strip()
    if (
        inner
        and check_source(inner, "eval") is None
        and _lowercase_literal(inner) is None
        and not _calls(inner)
    ):
        return f"it looks like {kind}; write the Python expression itself: {inner}"
    return f"it looks like {kind}; write it as a Python expression"


def _lowercase_literal(source: str) -> str | None:
    for name in sorted(_free_names(source) & _LOWERCASE_LITERALS.keys()):
        return f"uses '{name}', which Python writes {_LOWERCASE_LITERALS[name]}"
    return None


def _calls(expression: str) -> bool:
    """Whether an expression calls a function (another tool's functions are not afterflow's)."""
    try:
        return any(isinstance(n, ast.Call) for n in ast.walk(ast.parse(expression, mode="eval")))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def _literal_number(text: str) -> int | None:
    """The whole number ``text`` spells (digits only, so reading it costs nothing), else None."""
    stripped = text.strip().replace("_", "")
    if not stripped.isascii() or not stripped.isdigit():
        return None
    return int(stripped) if len(stripped) <= 18 else 10**18


def _parses(source: str, mode: str) -> bool:
    try:
        ast.parse(source, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _free_names(expression: str) -> set[str]:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _quote(source: str, limit: int = 60) -> str:
    text = _one_line(source)
    return f"'{text if len(text) <= limit else text[: limit - 1] + '…'}'"


def _check_timer_value(kind: str, value: Any) -> None:
    if kind == "timeDate":
        if isinstance(value, datetime | date):
            return
        if not isinstance(value, str) or not isinstance(_parse_moment(value), datetime):
            raise ValueError(
                f'a timeDate must give a date-time such as "2026-01-31T09:00:00+08:00", not {value!r}'
            )
    elif kind == "timeDuration":
        if not isinstance(value, str) or not value.upper().startswith("P") or _parse_moment(value) is None:
            raise ValueError(f'a timeDuration must give an ISO 8601 duration such as "PT4H", not {value!r}')
    else:
        if not isinstance(value, str) or not value.upper().startswith("R") or not _is_recurring(value):
            raise ValueError(
                f'a timeCycle must give an ISO 8601 repeating interval such as "R3/PT1H", not {value!r}'
            )


def _parse_moment(value: str) -> Any:
    """What SpiffWorkflow makes of a timer string (a datetime or a duration), or None."""
    try:
        return TimerEventDefinition.parse_time_or_duration(value)
    except Exception:
        return None


def _is_recurring(value: str) -> bool:
    try:
        TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:
        return False
    return True
