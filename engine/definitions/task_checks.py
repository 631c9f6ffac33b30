"""Check each kind of task of a process: scripts, decisions, services, called processes, timers, people."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.definitions.documents import _bpmn, _CheckedProcess, _Decision, _Form, _Process
from engine.definitions.expressions import (
    _BARE_ISO,
    _check_expression,
    _check_timer_value,
    _free_names,
    _quote,
)
from engine.definitions.names import TITLE_PREFIX, translated_titles
from engine.definitions.nodes import (
    _extension_text,
    _spiff_properties,
    _vendor_attribute,
    _vendor_service,
)
from engine.definitions.results import Problem, _plain
from engine.definitions.vocabulary import (
    _HUMAN_TASKS,
    _PYTHON_SCRIPT_FORMATS,
    FORM_SUFFIX,
    MAX_NAME_LENGTH,
    SPIFF_NS,
    TIMER_HELPERS,
    ZEEBE_NS,
    RoleResolver,
    TimerEvaluator,
)
from engine.sandbox import SandboxLimits

#: The longest meaning a signed task may give its signature (批准, 审核, 放行 …).
MAX_SIGNATURE_MEANING = 32


class _TaskChecker:
    """Checks each kind of task: scripts, decisions, services, called processes, timers and people."""

    def __init__(
        self,
        forms: Mapping[str, _Form | None],
        decisions: Mapping[str, _Decision],
        processes: Mapping[str, _Process],
        resolve_role: RoleResolver,
        evaluate_timer: TimerEvaluator | None,
        problems: list[Problem],
        limits: SandboxLimits,
    ) -> None:
        self.limits = limits
        self.forms = forms
        self.decisions = decisions
        self.processes = processes
        self.resolve_role = resolve_role
        self.evaluate_timer = evaluate_timer
        self.problems = problems

    def script_task(self, node: Any, node_id: str, file: str) -> None:
        """Check a script task: Python, and a script that parses and keeps the sandbox's rules."""
        script_format = (node.get("scriptFormat") or "").strip().lower()
        if script_format not in _PYTHON_SCRIPT_FORMATS:
            self._add(
                node_id,
                f"the script is written in {node.get('scriptFormat')}; afterflow runs Python scripts only",
                file,
            )
            return
        script = node.find(_bpmn("script"))
        if script is None or not (script.text or "").strip():
            self._add(node_id, "the script task has no script", file)
        else:
            _check_expression(script.text, "exec", node_id, "script", file, self.problems, self.limits)

    def business_rule_task(self, node: Any, node_id: str, file: str, result: _CheckedProcess) -> None:
        """Check that a business rule task calls a decision some DMN file defines."""
        called = _extension_text(node, "calledDecisionId")
        if called is None:
            vendor = _vendor_attribute(node, ("decisionRef",))
            hint = f" ({vendor[0]} '{vendor[1]}' is not read)" if vendor else ""
            self._add(
                node_id,
                f"the business rule task names no decision (spiffworkflow:calledDecisionId){hint}",
                file,
            )
        elif called not in self.decisions:
            self._add(node_id, f"calls decision '{called}', which no DMN file defines", file)
        else:
            result.decisions.add(called)

    def service_task(self, node: Any, node_id: str, file: str) -> None:
        """Check that a service task names a service and that its parameters are expressions."""
        ext = node.find(_bpmn("extensionElements"))
        operator = ext.find(f"{{{SPIFF_NS}}}serviceTaskOperator") if ext is not None else None
        if operator is None:
            vendor = _vendor_service(node)
            hint = f"; {vendor} is not read by afterflow" if vendor else ""
            self._add(
                node_id, f"the service task names no service (spiffworkflow:serviceTaskOperator){hint}", file
            )
            return
        if not operator.get("id"):
            self._add(node_id, "the service task's operator has no id (the name of the service)", file)
        for param in operator.iter(f"{{{SPIFF_NS}}}parameter"):
            if param.get("value"):
                what = f"parameter '{param.get('id') or '?'}'"
                _check_expression(param.get("value"), "eval", node_id, what, file, self.problems, self.limits)

    def call_activity(self, node: Any, node_id: str, file: str, result: _CheckedProcess) -> None:
        """Check that a call activity calls an executable process of this deploy."""
        called = (node.get("calledElement") or "").strip()
        if not called:
            self._add(node_id, "the call activity names no process (calledElement)", file)
        elif called not in self.processes:
            self._add(node_id, f"calls process '{called}', which no BPMN file in this deploy defines", file)
        elif not self.processes[called].executable:
            self._add(
                node_id,
                f"calls process '{called}', which is not marked executable (isExecutable=\"true\")",
                file,
            )
        else:
            result.calls.add(called)

    def timer(self, kind: str, expression: str, element_id: str, file: str) -> None:
        """Check a timer expression, and evaluate it now when it needs no case data."""
        expression = expression.strip()
        if not expression:
            self._add(element_id, "the timer has no expression", file)
            return
        if _BARE_ISO.match(expression):
            self._add(
                element_id,
                f"the timer expression {expression} is not quoted: timers are Python expressions, "
                f'so write "{expression}"',
                file,
            )
            return
        if not _check_expression(
            expression, "eval", element_id, "timer expression", file, self.problems, self.limits
        ):
            return
        if self.evaluate_timer is None or _free_names(expression) - TIMER_HELPERS:
            return  # depends on case data: it can only be evaluated when the timer starts
        try:
            _check_timer_value(kind, self.evaluate_timer(expression))
        except Exception as error:
            self._add(
                element_id,
                f"the timer expression {_quote(expression)} does not evaluate: {_plain(error)}",
                file,
            )

    def human_task(
        self,
        node: Any,
        local: str,
        node_id: str,
        lanes: Mapping[str, str | None],
        file: str,
        result: _CheckedProcess,
    ) -> dict[str, Any]:
        """Check a user or manual task (lane, form, expressions) and return its metadata."""
        kind = _HUMAN_TASKS[local]
        props = _spiff_properties(node)
        lane = lanes.get(node_id)
        role = self.resolve_role(lane) if lane else None
        if node_id not in lanes:
            self._add(node_id, f"the {kind} lies in no lane, so no role can do it", file)
        elif not lane:
            self._add(node_id, f"the {kind}'s lane has no name; name the lane after a role", file)
        elif role is None:
            self._add(node_id, f"the {kind}'s lane '{lane}' names no known role", file)
        form_key = props.get("formKey") or None
        if form_key:
            self.need_form(form_key, node_id, file, result)
        else:
            self._vendor_form(node, node_id, file)
        titles = translated_titles(props)
        for prop in ("dueTime", "assignee", "title", *(f"{TITLE_PREFIX}{lang}" for lang in titles)):
            if props.get(prop):
                _check_expression(props[prop], "eval", node_id, prop, file, self.problems, self.limits)
        if len(node.get("name") or "") > MAX_NAME_LENGTH:
            self._add(node_id, f"the task name is longer than {MAX_NAME_LENGTH} characters", file)
        return {
            "id": node_id,
            "name": node.get("name") or node_id,
            "lane": lane,
            "role": role,
            "form": form_key,
            "due": props.get("dueTime") or None,
            "assignee": props.get("assignee") or None,
            "title": props.get("title") or None,
            # The title in other languages (``title_en``), computed like the title.
            "titles": titles or None,
            # Separation of duties: who completed one of these tasks of the case may not do this one.
            "separate_from": _id_list(props.get("separateFrom")),
            "signature": self._signature_meaning(props, node_id, file),
        }

    def _signature_meaning(self, props: Mapping[str, str], node_id: str, file: str) -> str | None:
        """The ``signature`` property: what completing the task signs (such as 批准), checked."""
        meaning = (props.get("signature") or "").strip()
        if len(meaning) > MAX_SIGNATURE_MEANING:
            self._add(
                node_id, f"the signature's meaning is longer than {MAX_SIGNATURE_MEANING} characters", file
            )
        return meaning or None

    def _vendor_form(self, node: Any, node_id: str, file: str) -> None:
        found = _vendor_attribute(node, ("formKey",))
        vendor = f"{found[0]} '{found[1]}'" if found else None
        ext = node.find(_bpmn("extensionElements"))
        zeebe = ext.find(f"{{{ZEEBE_NS}}}formDefinition") if ext is not None else None
        if vendor is None and zeebe is not None:
            vendor = f"zeebe:formDefinition '{zeebe.get('formKey') or zeebe.get('formId') or ''}'"
        if vendor is not None:
            self._add(
                node_id,
                f"the form is given as {vendor}, which afterflow does not read; "
                "set the spiffworkflow property formKey to the key of a form file",
                file,
            )

    def need_form(self, form_key: str, element_id: str, file: str, result: _CheckedProcess) -> None:
        """Record that a form is used, or report that no form file defines it."""
        if form_key in self.forms:
            result.forms.add(form_key)  # a broken form file is reported on its own
        else:
            self._add(
                element_id, f"uses form '{form_key}', but no file forms/{form_key}{FORM_SUFFIX} exists", file
            )

    def _add(self, element_id: str, message: str, file: str) -> None:
        self.problems.append(Problem(element_id or "(no id)", message, file))


def _id_list(value: str | None) -> list[str]:
    """The element ids of a comma-separated property (empty when absent)."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]
