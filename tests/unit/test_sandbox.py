"""engine.sandbox: refusals, time limit, ordinary scripts, check_source and a real workflow."""

from __future__ import annotations

import ast
import copy
import sys
import threading
import time
from datetime import UTC, date, datetime
from types import FrameType
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.errors import ScriptError
from engine.sandbox import SandboxedScriptEngine, SandboxEnvironment, check_source, environment

FIXED_NOW = datetime(2025, 11, 3, 9, 30, tzinfo=UTC)


def _now() -> datetime:
    return FIXED_NOW


def _hours(n: float) -> datetime:
    return FIXED_NOW.replace(hour=FIXED_NOW.hour + int(n))


HELPERS = {"now": _now, "hours": _hours}


@pytest.fixture
def env() -> SandboxEnvironment:
    return SandboxEnvironment(HELPERS, time_limit=0.2)


def _data() -> dict[str, Any]:
    return {"x": {"k": 1}, "items": [1, 2, 3], "name": "Li"}


# --------------------------------------------------------------------------- refusals

REFUSED = [
    ("__import__('os')", "names starting with '_' are not allowed: '__import__'"),
    ("import os", "imports are not allowed in scripts"),
    ("from os import path", "imports are not allowed in scripts"),
    ("y = ().__class__.__mro__", "names starting with '_' are not allowed: '__class__'"),
    ("y = open('/etc/passwd')", "'open' is not available in scripts"),
    ("y = eval('1')", "'eval' is not available in scripts"),
    ("exec('y = 1')", "'exec' is not available in scripts"),
    ("y = getattr(x, 'y')", "'getattr' is not available in scripts"),
    ("y = type(x)", "'type' is not available in scripts"),
    ("y = 'a' * 10**9", "would make a string over 1,000,000 characters"),
    ("y = [0] * 10**7", "would make more than 100,000 items"),
    ("y = 2 ** 10**8", "'**' would make a number over 10,000 bits"),
    ("y = pow(3, 10**6)", "'**' would make a number over 10,000 bits"),
    ("y = 1 << 100000", "'<<' would make a number over 10,000 bits"),
    ("y = 2**5000 * 2**5001", "'*' would make a number over 10,000 bits"),
    ("y = [1]\ny *= 10**7", "would make more than 100,000 items"),
    ("y = list(range(10**9))", "range() would make more than 100,000 items"),
    ("class A:\n    pass", "class definitions are not allowed in scripts"),
    ("def f():\n    global x\n    x = 1", "'global' statements are not allowed in scripts"),
    ("def f():\n    yield 1", "'yield' is not allowed in scripts"),
    ("async def f():\n    pass", "'async' and 'await' are not allowed in scripts"),
    ("try:\n    y = 1\nfinally:\n    y = 2", "'finally' blocks are not allowed in scripts"),
    ("y = BaseException", "'BaseException' is not available in scripts"),
    ("y = '{}'.format(1)", "'.format' is not allowed in scripts"),
    ("x['k'] += 1", "augmented assignment to an item or attribute"),
    ("y = x.f_globals", "the attribute 'f_globals' is not allowed in scripts"),
]


@pytest.mark.parametrize(("script", "reason"), REFUSED, ids=[s for s, _ in REFUSED])
def test_refused_scripts_raise_script_error_and_leave_data_alone(
    env: SandboxEnvironment, script: str, reason: str
) -> None:
    data = _data()
    before = copy.deepcopy(data)
    with pytest.raises(ScriptError) as info:
        env.execute(script, data)
    assert reason in str(info.value)
    assert data == before


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os')", "names starting with '_'"),
        ("().__class__.__bases__", "'__class__'"),
        ("open('/etc/passwd').read()", "'open' is not available"),
        ("getattr(x, 'y')", "'getattr' is not available"),
        ("'a' * 10**9", "a string over 1,000,000 characters"),
        ("2 ** 10**8", "over 10,000 bits"),
        ("len(list(range(10**9)))", "range() would make more than 100,000 items"),
    ],
)
def test_refused_expressions(env: SandboxEnvironment, expression: str, reason: str) -> None:
    data = _data()
    before = copy.deepcopy(data)
    with pytest.raises(ScriptError) as info:
        env.evaluate(expression, data)
    assert reason in str(info.value)
    assert data == before


def test_compile_errors_carry_the_line_number(env: SandboxEnvironment) -> None:
    with pytest.raises(ScriptError) as info:
        env.execute("y = 1\nz = 2\nimport os", {})
    assert str(info.value) == "line 3: imports are not allowed in scripts"
    assert info.value.details["line"] == 3


def test_a_script_failing_half_way_does_not_change_the_task_data(env: SandboxEnvironment) -> None:
    data = _data()
    before = copy.deepcopy(data)
    with pytest.raises(ScriptError):
        env.execute("name = 'changed'\nadded = 1\ny = 'a' * 10**9", data)
    assert data == before


# --------------------------------------------------------------------------- time limit


@pytest.mark.timeout(10)  # fail fast instead of hanging if the limit breaks
def test_endless_loop_is_stopped_by_the_time_limit(env: SandboxEnvironment) -> None:
    data = _data()
    before = copy.deepcopy(data)
    started = time.monotonic()
    with pytest.raises(ScriptError, match=r"the script ran longer than the limit of 0\.2 s"):
        env.execute("while True: pass", data)
    assert time.monotonic() - started < 2
    assert data == before


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "script",
    [
        "n = 0\nwhile True:\n    n = n + 1",
        "while 1: continue",
        # 'except Exception' must not swallow the time limit.
        "try:\n    while True: pass\nexcept Exception:\n    caught = True",
        "def spin():\n    while True: pass\nspin()",
        "y = [i for i in range(100000) for j in range(100000)]",
    ],
)
def test_time_limit_cannot_be_dodged(env: SandboxEnvironment, script: str) -> None:
    data: dict[str, Any] = {}
    started = time.monotonic()
    with pytest.raises(ScriptError, match="ran longer than the limit"):
        env.execute(script, data)
    assert time.monotonic() - started < 2
    assert data == {}


@pytest.mark.timeout(10)  # fail fast instead of hanging if the limit breaks
def test_time_limit_applies_to_expressions(env: SandboxEnvironment) -> None:
    started = time.monotonic()
    with pytest.raises(ScriptError, match=r"ran longer than the limit of 0\.2 s"):
        env.evaluate("[i for i in range(100000) for j in range(100000)]", {})
    assert time.monotonic() - started < 2


@pytest.mark.timeout(10)  # fail fast instead of hanging if the limit breaks
def test_time_limit_works_in_a_worker_thread(env: SandboxEnvironment) -> None:
    outcome: list[BaseException | None] = []

    def work() -> None:
        try:
            env.execute("while True: pass", {})
            outcome.append(None)
        except BaseException as err:  # report anything back to the test thread
            outcome.append(err)

    worker = threading.Thread(target=work, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "the endless loop was not stopped in the worker thread"
    assert time.monotonic() - started < 2
    assert len(outcome) == 1
    assert isinstance(outcome[0], ScriptError)
    assert "ran longer than the limit" in str(outcome[0])


@pytest.mark.timeout(10)  # fail fast instead of hanging if the limit breaks
def test_previous_trace_function_is_restored(env: SandboxEnvironment) -> None:
    def sentinel(frame: FrameType, event: str, arg: Any) -> None:
        return None

    previous = sys.gettrace()
    sys.settrace(sentinel)
    try:
        env.execute("y = 1", {})
        assert sys.gettrace() is sentinel
        with pytest.raises(ScriptError):
            env.execute("while True: pass", {})
        assert sys.gettrace() is sentinel
        with pytest.raises(ZeroDivisionError):
            env.execute("y = 1 / 0", {})
        assert sys.gettrace() is sentinel
    finally:
        sys.settrace(previous)


def test_ordinary_loops_fit_in_the_time_limit() -> None:
    env = SandboxEnvironment(time_limit=1.0)
    data: dict[str, Any] = {}
    env.execute("n = 0\nfor i in range(10000):\n    n = n + i", data)
    assert data == {"n": sum(range(10000)), "i": 9999}


# --------------------------------------------------------------------------- ordinary scripts


def test_assignments_land_in_task_data(env: SandboxEnvironment) -> None:
    data = _data()
    env.execute("total = len(items) * 10\ngreeting = f'hello {name}'", data)
    assert data["total"] == 30
    assert data["greeting"] == "hello Li"
    assert data["items"] == [1, 2, 3]


def test_loops_comprehensions_and_container_operations(env: SandboxEnvironment) -> None:
    data = _data()
    script = "\n".join(
        [
            "squares = [i * i for i in items]",
            "lookup = {str(i): i for i in items if i > 1}",
            "acc = 0",
            "for a, b in zip(items, squares):",
            "    acc += a + b",
            "x['k'] = x['k'] + 1",
            "x['new'] = sorted(set([3, 1, 3]), reverse=True)",
            "items.append(4)",
            "pairs = list(enumerate(['a', 'b']))",
            "first, *rest = items",
            "q, r = divmod(7, 2)",
            "ok = all(isinstance(i, int) for i in items) and any(i > 3 for i in items)",
            "big = max(items, key=lambda i: -i)",
            "words = ' '.join(w.upper() for w in ['a', 'b'])",
            "half = round(7 / 2, 1)",
            "n = 0",
            "while n < 5:",
            "    n += 1",
            "try:",
            "    bad = int('x')",
            "except ValueError as err:",
            "    bad = -1",
            "print('not kept')",
        ]
    )
    env.execute(script, data)
    assert data["squares"] == [1, 4, 9]
    assert data["lookup"] == {"2": 2, "3": 3}
    assert data["acc"] == 1 + 1 + 2 + 4 + 3 + 9
    assert data["x"] == {"k": 2, "new": [3, 1]}
    assert data["items"] == [1, 2, 3, 4]
    assert data["pairs"] == [(0, "a"), (1, "b")]
    assert (data["first"], data["rest"]) == (1, [2, 3, 4])
    assert (data["q"], data["r"]) == (3, 1)
    assert data["ok"] is True
    assert data["big"] == 1
    assert data["words"] == "A B"
    assert data["half"] == 3.5
    assert data["n"] == 5
    assert data["bad"] == -1
    assert not any(key.startswith("_") for key in data), data.keys()


def test_helpers_are_callable_and_removed_afterwards(env: SandboxEnvironment) -> None:
    data: dict[str, Any] = {}
    script = "\n".join(
        [
            "due = hours(2)",
            "year = now().year",
            "def double(v):",
            "    return v * 2",
            "doubled = double(21)",
            "inc = lambda v: v + 1",
            "lazy = map(str, [1, 2])",
        ]
    )
    env.execute(script, data)
    assert data == {"due": FIXED_NOW.replace(hour=11), "year": 2025, "doubled": 42}


def test_task_data_shadowing_a_helper_is_refused(env: SandboxEnvironment) -> None:
    data = {"now": "yesterday"}
    with pytest.raises(ValueError, match="now"):
        env.execute("y = 1", data)
    assert data == {"now": "yesterday"}


def test_external_context_is_visible_but_not_kept(env: SandboxEnvironment) -> None:
    data: dict[str, Any] = {"a": 1}
    env.execute("b = a + shared", data, external_context={"shared": 10})
    assert data == {"a": 1, "b": 11}


def test_del_removes_from_task_data(env: SandboxEnvironment) -> None:
    data = _data()
    env.execute("del name", data)
    assert "name" not in data


def test_evaluate_returns_values_and_does_not_touch_data(env: SandboxEnvironment) -> None:
    data = _data()
    before = copy.deepcopy(data)
    assert env.evaluate("x['k'] + len(items)", data) == 4
    assert env.evaluate("(y := 5) + 1", data) == 6
    assert env.evaluate("name == 'Li' and sum(items) > 5", data) is True
    assert data == before


def test_evaluate_converts_top_level_dates_to_iso(env: SandboxEnvironment) -> None:
    assert env.evaluate("now()", {}) == "2025-11-03T09:30:00+00:00"
    assert env.evaluate("hours(2)", {}) == "2025-11-03T11:30:00+00:00"
    assert env.evaluate("d", {"d": date(2025, 1, 2)}) == "2025-01-02"
    # Only the top-level result is converted.
    assert env.evaluate("[now()]", {}) == [FIXED_NOW]


def test_environment_rejects_bad_configuration() -> None:
    with pytest.raises(ValueError):
        SandboxEnvironment({"_hidden": _now})
    with pytest.raises(ValueError):
        SandboxEnvironment({"open": _now})
    with pytest.raises(ValueError):
        SandboxEnvironment(time_limit=0)


# --------------------------------------------------------------------------- check_source


@pytest.mark.parametrize(
    ("source", "mode"),
    [
        ("total = price * qty\nif total > 100:\n    big = True", "exec"),
        ("amount > 100 and status == 'open'", "eval"),
        ("working_hours(4)", "eval"),
        ("", "exec"),
    ],
)
def test_check_source_accepts_good_code(source: str, mode: str) -> None:
    assert check_source(source, mode) is None


@pytest.mark.parametrize(
    ("source", "mode", "expected"),
    [
        ("import os", "exec", "line 1: imports are not allowed in scripts"),
        ("a = 1\nb = x.__dict__", "exec", "line 2: names starting with '_' are not allowed: '__dict__'"),
        ("open('f')", "eval", "line 1: 'open' is not available in scripts"),
        ("x = 1", "eval", "syntax error"),
        ("", "eval", "syntax error"),
    ],
)
def test_check_source_reports_bad_code(source: str, mode: str, expected: str) -> None:
    message = check_source(source, mode)
    assert message is not None
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "source",
    [
        "\x00",
        "(" * 1000,
        "def f(:",
        "[" * 150 + "]" * 150 + ".__class__",
        "-" * 100_000 + "1",
        "1" + "+1" * 100_000,
        "1" + "+1" * 900,
        "x = '\udcff'\nimport os",
        "\ufeffimport os",
    ],
    ids=[
        "null",
        "parens",
        "bad-def",
        "nested-list",
        "unary-chain",
        "long-sum",
        "medium-sum",
        "surrogate",
        "bom",
    ],
)
@pytest.mark.parametrize("mode", ["exec", "eval"])
def test_check_source_never_raises_on_junk(source: str, mode: str) -> None:
    message = check_source(source, mode)
    assert isinstance(message, str) and message
    assert "\n" not in message


def test_check_source_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError):
        check_source("1", "single")


# --------------------------------------------------------------------------- SpiffWorkflow

BPMN_NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)


def _process(body: str) -> bytes:
    return (
        f'<bpmn:definitions {BPMN_NS} id="defs" targetNamespace="http://bpmn.io/schema/bpmn">'
        f'<bpmn:process id="proc" isExecutable="true">{body}</bpmn:process>'
        "</bpmn:definitions>"
    ).encode()


def _script_process(script: str) -> bytes:
    return _process(
        '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:scriptTask id="calc" name="Calculate">'
        "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"
        f"<bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>"
        '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="end"/>'
    )


def _gateway_process(condition: str) -> bytes:
    return _process(
        '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:exclusiveGateway id="gw" default="f_small">'
        "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f_big</bpmn:outgoing>"
        "<bpmn:outgoing>f_small</bpmn:outgoing></bpmn:exclusiveGateway>"
        '<bpmn:endEvent id="end_big"><bpmn:incoming>f_big</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:endEvent id="end_small"><bpmn:incoming>f_small</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw"/>'
        '<bpmn:sequenceFlow id="f_big" sourceRef="gw" targetRef="end_big">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(condition)}'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="f_small" sourceRef="gw" targetRef="end_small"/>'
    )


def _service_process(operation: str, param_expression: str) -> bytes:
    return _process(
        '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:serviceTask id="svc" name="Look up"><bpmn:extensionElements>'
        f'<spiffworkflow:serviceTaskOperator id={quoteattr(operation)} resultVariable="looked_up">'
        "<spiffworkflow:parameters>"
        f'<spiffworkflow:parameter id="amount" type="int" value={quoteattr(param_expression)}/>'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>"
        "</bpmn:extensionElements>"
        "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>"
        '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="svc"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="svc" targetRef="end"/>'
    )


def _workflow(xml: bytes, engine: SandboxedScriptEngine, **data: Any) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml, "test.bpmn")
    workflow = BpmnWorkflow(parser.get_spec("proc"), script_engine=engine)
    workflow.task_tree.data.update(data)
    return workflow


def test_workflow_script_result_lands_in_task_data() -> None:
    workflow = _workflow(
        _script_process("total = price * qty\nif total > 10:\n    size = 'big'"),
        SandboxedScriptEngine(HELPERS),
        price=3,
        qty=4,
    )
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data == {"price": 3, "qty": 4, "total": 12, "size": "big"}


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("import os", "imports are not allowed in scripts"),
        ("x = ().__class__", "names starting with '_' are not allowed: '__class__'"),
        ("x = 'a' * 10**9", "would make a string over 1,000,000 characters"),
        ("while True: pass", "the script ran longer than the limit of 0.2 s"),
    ],
)
@pytest.mark.timeout(10)
def test_workflow_bad_script_raises_workflow_task_exception(script: str, reason: str) -> None:
    workflow = _workflow(_script_process(script), SandboxedScriptEngine(time_limit=0.2))
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    assert reason in str(info.value)
    assert info.value.task_spec.bpmn_id == "calc"
    assert info.value.error_type in ("ScriptError", "ScriptLimitExceeded")


def test_workflow_compile_error_reports_the_line() -> None:
    workflow = _workflow(_script_process("a = 1\nimport os"), SandboxedScriptEngine())
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    assert info.value.line_number == 2
    assert info.value.error_line == "import os"


def test_workflow_error_with_non_string_argument_is_reported() -> None:
    # SpiffWorkflow's own create_task_exec_exception does "':' + err.args[0]", which
    # raises TypeError for KeyError(1); ours must still give a WorkflowTaskException.
    workflow = _workflow(_script_process("d = {}\nv = d[1]"), SandboxedScriptEngine())
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    assert "KeyError: 1" in str(info.value)
    assert info.value.line_number == 2


@pytest.mark.parametrize(("amount", "end"), [(500, "end_big"), (5, "end_small")])
def test_workflow_gateway_condition_runs_in_the_sandbox(amount: int, end: str) -> None:
    workflow = _workflow(_gateway_process("amount > 100"), SandboxedScriptEngine(), amount=amount)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    completed = {task.task_spec.bpmn_id for task in workflow.get_tasks(state=TaskState.COMPLETED)}
    assert completed & {"end_big", "end_small"} == {end}


def test_workflow_bad_condition_message_names_the_reason() -> None:
    workflow = _workflow(_gateway_process("().__class__ is None"), SandboxedScriptEngine(), amount=1)
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    assert "names starting with '_' are not allowed: '__class__'" in str(info.value)
    assert "().__class__ is None" in str(info.value)


def test_workflow_service_task_calls_the_registered_handler() -> None:
    calls: list[int] = []

    def double(amount: int) -> dict[str, Any]:
        calls.append(amount)
        return {"doubled": amount * 2, "when": FIXED_NOW}

    engine = SandboxedScriptEngine(services={"double": double})
    workflow = _workflow(_service_process("double", "base + 1"), engine, base=20)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert calls == [21]
    assert workflow.data["looked_up"] == {"doubled": 42, "when": "2025-11-03T09:30:00+00:00"}


def test_workflow_unknown_service_operation_is_named() -> None:
    workflow = _workflow(_service_process("no_such_op", "1"), SandboxedScriptEngine(services={}))
    with pytest.raises(WorkflowTaskException, match="unknown service operation 'no_such_op'"):
        workflow.do_engine_steps()


def test_workflow_service_parameters_are_sandboxed() -> None:
    engine = SandboxedScriptEngine(services={"double": lambda amount: amount})
    workflow = _workflow(_service_process("double", "open('/etc/passwd')"), engine)
    with pytest.raises(WorkflowTaskException, match="'open' is not available in scripts"):
        workflow.do_engine_steps()


def test_a_decision_cell_is_parsed_once_and_a_wrong_one_refused_each_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SpiffWorkflow's decision tables parse every cell each time they check a rule."""
    engine = SandboxedScriptEngine()
    parsed: list[str] = []
    real_parse = ast.parse
    monkeypatch.setattr(
        environment.ast, "parse", lambda text, *a, **kw: parsed.append(text) or real_parse(text)
    )
    environment._parse_refusal.cache_clear()
    cell = "'维修' if fault_level > 2 else '更换'  # one rule's cell"
    for _ in range(3):
        engine.validate(cell)
    messages = []
    for _ in range(2):
        with pytest.raises(SyntaxError) as refused:
            engine.validate("> 5 and")
        messages.append(refused.value.msg)
    assert messages[0] and messages == [messages[0]] * 2
    assert parsed == [cell, "> 5 and"]
    long_cell = " + ".join(["amount"] * 400)  # too long to be remembered: parsed every time
    engine.validate(long_cell)
    engine.validate(long_cell)
    assert parsed[2:] == [long_cell, long_cell]
