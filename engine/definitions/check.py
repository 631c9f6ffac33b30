"""Check executable processes and the processes they call, element by element."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.definitions.documents import _bpmn, _CheckedProcess, _Decision, _Form, _Process
from engine.definitions.expressions import (
    _check_expression,
    _literal_number,
)
from engine.definitions.files import _is_element, _qname, _where
from engine.definitions.nodes import (
    _bpmn_elements,
    _Container,
    _default_prefix,
    _extension_text,
    _lanes_of,
    _needs_flows,
    _spiff_properties,
)
from engine.definitions.results import Problem
from engine.definitions.task_checks import _TaskChecker
from engine.definitions.vocabulary import (
    _FLOW_NODE_TAGS,
    _HUMAN_TASKS,
    _PYTHON_SCRIPT_FORMATS,
    _UNSUPPORTED,
    MAX_FLOW_NODES,
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PREFIX_LENGTH,
    RoleResolver,
    TimerEvaluator,
)
from engine.sandbox import SandboxLimits


class _ProcessChecker:
    """Checks executable processes and the processes they call, element by element."""

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
        self.tasks = _TaskChecker(forms, decisions, processes, resolve_role, evaluate_timer, problems, limits)
        self.processes = processes
        self.resolve_role = resolve_role
        self.problems = problems
        self._containers: dict[Any, _Container] = {}
        self._documents: dict[Any, set[str]] = {}

    def check_all(self) -> dict[str, _CheckedProcess]:
        """Check every executable process and, transitively, every process one calls."""
        checked: dict[str, _CheckedProcess] = {}
        pending = [p.key for p in self.processes.values() if p.executable]
        while pending:
            key = pending.pop(0)
            if key in checked:
                continue
            checked[key] = self.check(self.processes[key])
            pending.extend(k for k in sorted(checked[key].calls) if k in self.processes)
        return checked

    def check(self, process: _Process) -> _CheckedProcess:
        """Check one process and gather what it needs (decisions, forms, called processes)."""
        file = process.doc.name
        size = sum(1 for node in _bpmn_elements(process.node) if _qname(node)[1] in _FLOW_NODE_TAGS)
        if size > MAX_FLOW_NODES:
            self._add(
                process.key,
                f"the process has {size} elements; afterflow handles at most {MAX_FLOW_NODES} per process, "
                "so split it into called processes",
                file,
            )
        props = _spiff_properties(process.node)
        lanes = _lanes_of(process.node)
        result = _CheckedProcess(process, {})
        elements: dict[str, str] = {}
        tasks: dict[str, dict[str, Any]] = {}
        element_properties: dict[str, dict[str, str]] = {}
        attached_to: dict[str, str] = {}
        for node in _bpmn_elements(process.node):
            local = _qname(node)[1]
            node_id = node.get("id") or _where(node)
            if local in _FLOW_NODE_TAGS:
                elements[node_id] = node.get("name") or node_id
                node_props = _spiff_properties(node)
                if node_props:
                    element_properties[node_id] = node_props
            if local == "boundaryEvent" and node.get("attachedToRef"):
                attached_to[node_id] = node.get("attachedToRef")
            self._check_element(node, local, node_id, file, result)
            if local in _HUMAN_TASKS:
                tasks[node_id] = self.tasks.human_task(node, local, node_id, lanes, file, result)
        meta_process = self._check_process_level(process, props, lanes, file, result)
        result.meta = {
            "process": meta_process,
            "elements": elements,
            "tasks": tasks,
            "lanes": {element: self.resolve_role(lane) for element, lane in lanes.items()},
            "element_properties": element_properties,
            "attached_to": attached_to,
        }
        return result

    # -- one element --

    def _check_element(self, node: Any, local: str, node_id: str, file: str, result: _CheckedProcess) -> None:
        if local in _UNSUPPORTED:
            self._add(node_id, _UNSUPPORTED[local], file)
        if local == "sequenceFlow":
            self._check_flow(node, node_id, file)
        elif local in _FLOW_NODE_TAGS:
            self._check_connected(node, local, node_id, file)
            # Any task may carry SpiffWorkflow pre- and post-scripts; they run in the sandbox too.
            for script in ("preScript", "postScript"):
                text = _extension_text(node, script)
                if text:
                    _check_expression(text, "exec", node_id, script, file, self.problems, self.limits)
        if local in ("exclusiveGateway", "inclusiveGateway") and node.get("default"):
            self._check_default_flow(node, node_id, file)
        if local == "boundaryEvent":
            self._check_boundary(node, node_id, file)
        elif local == "scriptTask":
            self.tasks.script_task(node, node_id, file)
        elif local == "businessRuleTask":
            self.tasks.business_rule_task(node, node_id, file, result)
        elif local == "serviceTask":
            self.tasks.service_task(node, node_id, file)
        elif local == "callActivity":
            self.tasks.call_activity(node, node_id, file, result)
        elif local in ("timeDate", "timeDuration", "timeCycle"):
            owner = node.getparent().getparent()
            owner_id = (owner.get("id") if owner is not None else None) or node_id
            self.tasks.timer(local, node.text or "", owner_id, file)
        elif local in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics"):
            self._check_loop(node, file)

    def _container(self, node: Any) -> _Container:
        """The ids and flows of the (sub)process that holds ``node``, indexed once."""
        parent = node.getparent()
        index = self._containers.get(parent)
        if index is None:
            index = self._containers[parent] = _Container.of(parent)
        return index

    def _exists(self, ref: str, node: Any) -> bool:
        root = node.getroottree().getroot()
        ids = self._documents.get(root)
        if ids is None:
            ids = self._documents[root] = {n.get("id") for n in root.iter() if _is_element(n) and n.get("id")}
        return ref in ids

    def _check_flow(self, node: Any, node_id: str, file: str) -> None:
        siblings = self._container(node).ids
        for end in ("sourceRef", "targetRef"):
            ref = node.get(end)
            if not ref:
                self._add(node_id, f"the flow has no {end}", file)
            elif ref not in siblings:
                where = "lies in another (sub)process" if self._exists(ref, node) else "does not exist"
                self._add(node_id, f"the flow points to '{ref}', which {where}", file)
        condition = node.find(_bpmn("conditionExpression"))
        language = (condition.get("language") or "").strip() if condition is not None else ""
        if language.lower() not in _PYTHON_SCRIPT_FORMATS:
            self._add(
                node_id,
                f"the condition is written in {language}; afterflow runs Python conditions only",
                file,
            )
        elif condition is not None and (condition.text or "").strip():
            _check_expression(condition.text, "eval", node_id, "condition", file, self.problems, self.limits)

    def _check_connected(self, node: Any, local: str, node_id: str, file: str) -> None:
        if not _needs_flows(node, local):
            return
        index = self._container(node)
        if local != "startEvent" and node_id not in index.targets:
            self._add(node_id, "nothing leads to this element (no incoming flow)", file)
        if local != "endEvent" and node_id not in index.outgoing:
            self._add(node_id, "the element leads nowhere (no outgoing flow)", file)

    def _check_default_flow(self, node: Any, node_id: str, file: str) -> None:
        default = node.get("default")
        if default not in self._container(node).outgoing.get(node_id, []):
            self._add(
                node_id, f"the default flow '{default}' is not one of the gateway's outgoing flows", file
            )

    def _check_boundary(self, node: Any, node_id: str, file: str) -> None:
        attached = node.get("attachedToRef")
        if not attached or attached not in self._container(node).ids or attached == node_id:
            self._add(node_id, "the boundary event is not attached to a task of this process", file)

    def _check_loop(self, node: Any, file: str) -> None:
        owner_id = node.getparent().get("id") or _where(node)
        for sub in ("loopCardinality", "completionCondition", "loopCondition"):
            expr = node.find(_bpmn(sub))
            text = (expr.text or "") if expr is not None else ""
            if not text.strip():
                continue
            fine = _check_expression(text, "eval", owner_id, sub, file, self.problems, self.limits)
            if fine and sub == "loopCardinality":
                self._check_literal_count(text, owner_id, file)
        if _qname(node)[1] == "standardLoopCharacteristics":
            self._check_loop_maximum(node, owner_id, file)

    def _check_literal_count(self, expression: str, owner_id: str, file: str) -> None:
        """Refuse a cardinality that is a number over the cap (an expression is checked when it runs)."""
        cap = self.limits.max_cardinality
        value = _literal_number(expression)
        if value is not None and value > cap:
            self._add(
                owner_id,
                f"the loop cardinality {value:,} is more than the {cap:,} instances a multi-instance "
                f"activity may create (setting {self.limits.setting('max_cardinality')})",
                file,
            )

    def _check_loop_maximum(self, node: Any, owner_id: str, file: str) -> None:
        """A standard loop needs a condition or a maximum, and a maximum within the cap."""
        cap = self.limits.max_loop_count
        raw = node.get("loopMaximum")
        condition = node.find(_bpmn("loopCondition"))
        has_condition = condition is not None and bool((condition.text or "").strip())
        if raw is None and not has_condition:
            self._add(
                owner_id, "the loop has neither a loop condition nor a loop maximum: it would never end", file
            )
            return
        maximum = _literal_number(raw) if raw is not None else None
        if raw is not None and maximum is None:
            self._add(owner_id, f"the loop maximum {raw!r} is not a whole number", file)
        elif maximum is not None and maximum > cap:
            self._add(
                owner_id,
                f"the loop maximum {maximum:,} is more than the {cap:,} iterations a loop may run "
                f"(setting {self.limits.setting('max_loop_count')})",
                file,
            )

    # -- the process as a whole --

    def _check_process_level(
        self,
        process: _Process,
        props: Mapping[str, str],
        lanes: Mapping[str, str | None],
        file: str,
        result: _CheckedProcess,
    ) -> dict[str, Any]:
        key = process.key
        node = process.node
        start_roles = [r.strip() for r in props.get("startRoles", "").split(",") if r.strip()]
        for role_name in start_roles:
            if self.resolve_role(role_name) is None:
                self._add(key, f"startRoles names '{role_name}', which is not a known role", file)
        starts = [n.get("id") for n in node.findall(_bpmn("startEvent"))]
        if not starts:
            self._add(key, "the process has no start event", file)
        if not start_roles:
            start_roles = sorted({lane for s in starts if (lane := lanes.get(s))})
        start_form = props.get("startForm") or None
        if start_form:
            self.tasks.need_form(start_form, key, file, result)
        name = node.get("name") or key
        prefix = props.get("businessNumberPrefix") or _default_prefix(key)
        self._check_lengths(key, name, prefix, file)
        return {
            "key": key,
            "name": name,
            "prefix": prefix,
            "start_form": start_form,
            "start_roles": [self.resolve_role(r) or r for r in start_roles],
            "properties": dict(props),
        }

    def _check_lengths(self, key: str, name: str, prefix: str, file: str) -> None:
        if len(key) > MAX_KEY_LENGTH:
            self._add(key[:40] + "…", f"the process id is longer than {MAX_KEY_LENGTH} characters", file)
        if len(name) > MAX_NAME_LENGTH:
            self._add(key, f"the process name is longer than {MAX_NAME_LENGTH} characters", file)
        if not (prefix.isalnum() and len(prefix) <= MAX_PREFIX_LENGTH):
            self._add(
                key,
                f"businessNumberPrefix '{prefix}' must be 1 to {MAX_PREFIX_LENGTH} letters or digits",
                file,
            )

    def _add(self, element_id: str, message: str, file: str) -> None:
        self.problems.append(Problem(element_id or "(no id)", message, file))
