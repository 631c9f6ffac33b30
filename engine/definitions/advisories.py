"""Implicit parallel splits and unreachable elements: legal BPMN, most often a slip of the mouse.

Unlike problems, warnings do not stop a deploy. A start event whose several unconditioned
flows all run at once, and elements no path from a start event reaches, are warnings. A task
or an event other than a start with several outgoing flows is a problem: SpiffWorkflow splits
only at gateways and start events, so afterflow says what to draw instead.
"""

from __future__ import annotations

from typing import Any

from engine.definitions.documents import _bpmn
from engine.definitions.files import _is_element, _qname
from engine.definitions.results import Problem
from engine.definitions.vocabulary import _FLOW_NODE_TAGS, BPMN_NS

_GATEWAYS = frozenset(
    {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
)
_CONTAINERS = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})


def diagram_findings(process: Any, file: str) -> tuple[list[Problem], list[Problem]]:
    """The problems and the warnings of one process and every subprocess inside it."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for container in [process, *_nested_containers(process)]:
        container_problems, container_warnings = _container_findings(container, file)
        problems.extend(container_problems)
        warnings.extend(container_warnings)
    return problems, warnings


def _nested_containers(process: Any) -> list[Any]:
    return [
        node
        for node in process.iter()
        if node is not process and _is_element(node) and _qname(node) in {(BPMN_NS, t) for t in _CONTAINERS}
    ]


def _container_findings(container: Any, file: str) -> tuple[list[Problem], list[Problem]]:
    nodes: dict[str, Any] = {}
    flows: list[Any] = []
    for child in container:
        if not _is_element(child) or _qname(child)[0] != BPMN_NS or not child.get("id"):
            continue
        local = _qname(child)[1]
        if local == "sequenceFlow":
            flows.append(child)
        elif local in _FLOW_NODE_TAGS:
            nodes[child.get("id")] = child
    outgoing: dict[str, list[Any]] = {}
    for flow in flows:
        outgoing.setdefault(flow.get("sourceRef") or "", []).append(flow)
    splits = _implicit_splits(nodes, outgoing, file)
    starts = {node_id for node_id, node in nodes.items() if _qname(node)[1] == "startEvent"}
    problems = [p for p in splits if p.element_id not in starts]
    warnings = [p for p in splits if p.element_id in starts]
    return problems, [*warnings, *_unreachable(nodes, outgoing, flows, file)]


def _implicit_splits(nodes: dict[str, Any], outgoing: dict[str, list[Any]], file: str) -> list[Problem]:
    found: list[Problem] = []
    for node_id, node in nodes.items():
        if _qname(node)[1] in _GATEWAYS:
            continue
        leaving = outgoing.get(node_id, [])
        plain = [f for f in leaving if not _has_condition(f)]
        if len(leaving) < 2:
            continue
        if _qname(node)[1] == "startEvent":
            if plain:
                message = (
                    f"{len(leaving)} outgoing flows leave the start event, {len(plain)} without a "
                    "condition: all of them run at once (an implicit parallel split); draw a parallel "
                    "gateway if that is meant, or an exclusive gateway to choose one"
                )
                found.append(Problem(node_id, message, file))
            continue
        message = (
            f"{len(leaving)} outgoing flows leave this element ({len(plain)} without a condition): "
            "an implicit split, which afterflow runs only at gateways; draw a parallel gateway to run "
            "every path, or an exclusive gateway to choose one"
        )
        found.append(Problem(node_id, message, file))
    return found


def _unreachable(
    nodes: dict[str, Any], outgoing: dict[str, list[Any]], flows: list[Any], file: str
) -> list[Problem]:
    targets = {f.get("targetRef") for f in flows}
    roots = [node_id for node_id, node in nodes.items() if _is_root(node, node_id, targets)]
    attached: dict[str, list[str]] = {}
    for node_id, node in nodes.items():
        if _qname(node)[1] == "boundaryEvent" and node.get("attachedToRef"):
            attached.setdefault(node.get("attachedToRef"), []).append(node_id)
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        pending.extend(f.get("targetRef") for f in outgoing.get(current, []) if f.get("targetRef"))
        pending.extend(attached.get(current, []))
    return [
        Problem(
            node_id,
            "no path from a start event reaches this element, so it never runs; connect it or remove it",
            file,
        )
        for node_id, node in nodes.items()
        if node_id not in seen and node_id in targets and _qname(node)[1] != "boundaryEvent"
    ]


def _is_root(node: Any, node_id: str, targets: set[Any]) -> bool:
    """Where a path may begin: start events, event subprocesses, link catches, elements with no flows."""
    local = _qname(node)[1]
    if local == "startEvent":
        return True
    if local == "subProcess" and node.get("triggeredByEvent", "").lower() == "true":
        return True
    if node.find(_bpmn("linkEventDefinition")) is not None:
        return True
    return node_id not in targets and local != "boundaryEvent"


def _has_condition(flow: Any) -> bool:
    condition = flow.find(_bpmn("conditionExpression"))
    return condition is not None and bool((condition.text or "").strip())
