"""Try a decision table before deploying it: typed inputs → the rules that match → the outputs.

The table is read from the editor's (unsaved, undeployed) DMN text, checked as a deploy would
check it, and evaluated by the same SpiffWorkflow decision engine and sandboxed expressions the
runtime uses for a business rule task. Each input column gets the value typed for it (converted by
the column's type: a number, true/false, or text) — whatever its input expression — and when the
expression is a plain name, that variable holds the value too, so output cells may read it.

The answer lists every rule whose input cells accept the values, the rules the table's hit
policy chooses among them (FIRST: the first one; COLLECT: all) and the outputs the case would get.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.definitions.dmn import _check_dmn_files, _dmn_for_spiff
from engine.definitions.documents import _Document
from engine.definitions.files import _parse_xml
from engine.definitions.results import Problem

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMBER_TYPES = frozenset({"number", "integer", "long", "double"})
_TRUE = frozenset({"true", "yes", "1", "是"})
_FALSE = frozenset({"false", "no", "0", "否"})
#: At most this many input columns are taken from a request.
MAX_INPUTS = 50


@dataclass(frozen=True)
class TrialInput:
    """An input column: its id, label, expression and type."""

    id: str
    label: str
    expression: str
    type_ref: str


@dataclass(frozen=True)
class TrialRule:
    """A rule of the table: its id, row number (from 1) and description."""

    id: str
    row: int
    description: str


@dataclass
class DecisionTrial:
    """What the table decided for the typed inputs, or why it could not."""

    decision_id: str = ""
    hit_policy: str = "UNIQUE"
    inputs: list[TrialInput] = field(default_factory=list)
    matched: list[TrialRule] = field(default_factory=list)
    chosen: list[TrialRule] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The answer as JSON-ready data."""
        return {
            "ok": not self.problems,
            "decision": self.decision_id,
            "hit_policy": self.hit_policy,
            "inputs": [vars(i) for i in self.inputs],
            "matched": [vars(r) for r in self.matched],
            "chosen": [vars(r) for r in self.chosen],
            "outputs": {k: _jsonable(v) for k, v in self.outputs.items()},
            "problems": [
                {"element_id": p.element_id, "message": p.message, "file": p.file} for p in self.problems
            ],
        }


def try_decision(script_engine: Any, name: str, text: str, values: Mapping[str, str]) -> DecisionTrial:
    """Evaluate the decision table in the DMN ``text`` (file ``name``) for ``values`` by input column id."""
    trial = DecisionTrial()
    table = _table(name, text, trial)
    if table is None:
        return trial
    trial.inputs = [
        TrialInput(i.id, i.label or i.name or i.id, i.expression or "", (i.typeRef or "string").lower())
        for i in table.inputs
    ]
    data: dict[str, Any] = {}
    for index, column in enumerate(trial.inputs):
        value = _typed(values.get(column.id, ""), column, trial.problems)
        data[f"dmn_test_input_{index}"] = value
        if _NAME.match(column.expression):
            data[column.expression] = value
    if trial.problems:
        return trial
    for index, column in enumerate(table.inputs):
        column.expression = f"dmn_test_input_{index}"
    task = _task(script_engine, data)
    try:
        everything = copy.copy(table)
        everything.hit_policy = "COLLECT"
        trial.matched = [_rule(r) for r in DMNEngine(everything).decide(task)]
        runtime = DMNEngine(table)
        trial.chosen = [_rule(r) for r in runtime.decide(task)]
        trial.outputs = dict(runtime.result(task))
    except Exception as error:  # an expression of the table failed on these values
        trial.problems.append(Problem(trial.decision_id, _plain(error), name))
    return trial


def _table(name: str, text: str, trial: DecisionTrial) -> Any | None:
    """The decision table of the file, checked as a deploy checks it; None (with problems) otherwise."""
    root = _parse_xml(name, text, trial.problems)
    if root is None:
        return None
    namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    decisions = _check_dmn_files({name: _Document(name, text, root, namespace)}, trial.problems)
    if trial.problems or not decisions:
        return None
    trial.decision_id = next(iter(decisions))
    parser = SpiffBpmnParser()
    parser.add_dmn_xml(copy.deepcopy(_dmn_for_spiff(root, namespace)), filename=name)
    dmn_parser = parser.dmn_parsers[trial.decision_id]
    dmn_parser.parse()
    table = dmn_parser.decision.decisionTables[0]
    raw = root.find(f".//{{{namespace}}}decisionTable")
    trial.hit_policy = ((raw.get("hitPolicy") if raw is not None else None) or "UNIQUE").upper()
    return table


def _typed(text: str, column: TrialInput, problems: list[Problem]) -> Any:
    value = str(text).strip()
    if value == "":
        return None
    if column.type_ref in _NUMBER_TYPES:
        try:
            number = float(value)
        except ValueError:
            problems.append(Problem(column.id, f"the input '{column.label}' takes a number, not '{value}'"))
            return None
        return int(number) if number.is_integer() and "." not in value else number
    if column.type_ref == "boolean":
        if value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        problems.append(Problem(column.id, f"the input '{column.label}' takes true or false, not '{value}'"))
        return None
    return value


def _task(script_engine: Any, data: dict[str, Any]) -> Any:
    """The little of a task a decision table reads: its data, its spec, its workflow's script engine."""
    spec = SimpleNamespace(name="decision_test", bpmn_id=None, bpmn_name=None)
    workflow = SimpleNamespace(script_engine=script_engine, tasks={}, subprocesses={})
    workflow.top_workflow = workflow
    return SimpleNamespace(data=data, task_spec=spec, workflow=workflow, internal_data={})


def _rule(rule: Any) -> TrialRule:
    return TrialRule(str(rule.id), int(rule.row_number), (rule.description or "").strip())


def _plain(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
