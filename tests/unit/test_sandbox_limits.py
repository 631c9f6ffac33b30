"""The sandbox's limits: settings, ordinary scripts that stay within them, deploy-time loop caps."""

from __future__ import annotations

from typing import Any

import pytest

from engine.definitions import validate_files
from engine.errors import ScriptError
from engine.sandbox import SandboxEnvironment, SandboxLimits, ScriptLimitExceeded
from processes.roles import role_for_lane
from tests.security.diagrams import attack_diagram


def test_limits_are_read_from_their_settings_and_bad_values_refused() -> None:
    limits = SandboxLimits.from_environ(
        {"AFTERFLOW_SCRIPT_TIME_LIMIT": "0.25", "AFTERFLOW_MAX_MULTI_INSTANCE": "50", "OTHER": "x"}
    )
    assert (limits.time_limit, limits.max_cardinality) == (0.25, 50)
    assert limits.max_items == SandboxLimits().max_items
    with pytest.raises(ValueError, match="AFTERFLOW_SCRIPT_MAX_ITEMS must be a number"):
        SandboxLimits.from_environ({"AFTERFLOW_SCRIPT_MAX_ITEMS": "many"})
    with pytest.raises(ValueError, match="AFTERFLOW_SCRIPT_MEMORY_MB must be positive"):
        SandboxLimits.from_environ({"AFTERFLOW_SCRIPT_MEMORY_MB": "0"})


ORDINARY = [
    ("x = ', '.join(['a', 'b'])", "a, b"),
    ("x = 'ab'.ljust(4, '.') + '7'.zfill(3)", "ab..007"),
    ("x = 'a-b-c'.replace('-', '')", "abc"),
    ("x = f'{12.345:>8.2f}|{name!r}'", "   12.35|'张三'"),
    ("x = '%5d|%.1f' % (42, 2.25)", "   42|2.2"),
    ("x = sorted([[2, 1], [1, 2]])", [[1, 2], [2, 1]]),
    ("x = [1, 2] == [1, 2] and 2 in [1, 2]", True),
    ("x = round(2.675, 2)", 2.67),
    ("x = [3, 1, 2]\nx.sort(key=lambda v: -v)", [3, 2, 1]),
    ("x = 2 ** 100 // 3 % 1000", 2**100 // 3 % 1000),
    ("x = sum([0.5, 1.5])", 2.0),
    ("try:\n    x = 1 / 0\nexcept ZeroDivisionError:\n    x = 'caught'", "caught"),
    ("try:\n    x = int('a')\nexcept:\n    x = 'bare'", "bare"),
    ("x = max([[1], [2]])", [2]),
]


@pytest.mark.parametrize(("script", "expected"), ORDINARY, ids=[s for s, _ in ORDINARY])
def test_ordinary_scripts_run_as_python_does(script: str, expected: Any) -> None:
    data: dict[str, Any] = {"name": "张三"}
    SandboxEnvironment().execute(script, data)
    assert data["x"] == expected


def test_a_limit_is_a_script_error_naming_its_setting() -> None:
    limits = SandboxLimits(max_string=10)
    with pytest.raises(ScriptLimitExceeded) as hit:
        SandboxEnvironment(limits=limits).execute("x = 'a' * 11", {})
    assert isinstance(hit.value, ScriptError)
    assert hit.value.details["limit"] == "AFTERFLOW_SCRIPT_MAX_STRING"
    assert "a string over 10 characters" in hit.value.message


def _loop_diagram(characteristics: str) -> str:
    text = attack_diagram("script", "x = 1")
    return text.replace(
        "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>",
        f"<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>{characteristics}<bpmn:script>",
    )


@pytest.mark.parametrize(
    ("characteristics", "words"),
    [
        ("<bpmn:standardLoopCharacteristics />", "neither a loop condition nor a loop maximum"),
        ('<bpmn:standardLoopCharacteristics loopMaximum="5000" />', "more than the 1,000 iterations"),
        ('<bpmn:standardLoopCharacteristics loopMaximum="many" />', "not a whole number"),
    ],
)
def test_deploy_refuses_loops_that_would_not_end_in_time(characteristics: str, words: str) -> None:
    result = validate_files({"loop.bpmn": _loop_diagram(characteristics)}, role_for_lane)
    messages = [p.message for p in result.problems if p.element_id == "attack"]
    assert any(words in m for m in messages), result.problems


def test_deploy_accepts_a_loop_within_its_caps() -> None:
    loop = '<bpmn:standardLoopCharacteristics loopMaximum="3" />'
    assert not validate_files({"loop.bpmn": _loop_diagram(loop)}, role_for_lane).problems


def test_isinstance_reads_the_checked_constructors_as_their_types() -> None:
    data: dict[str, Any] = {"d": {"a": 1}, "s": "x"}
    SandboxEnvironment().execute(
        "x = [isinstance(d, dict), isinstance(s, (list, str)), isinstance(s, tuple), issubclass(bool, int)]",
        data,
    )
    assert data["x"] == [True, True, False, True]
