"""Read BPMN elements: containers and their flows, lanes, and SpiffWorkflow's extension properties."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from engine.definitions.documents import _bpmn
from engine.definitions.files import _is_element, _qname
from engine.definitions.vocabulary import _FLOW_NODE_TAGS, _SUBPROCESS_TAGS, BPMN_NS, SPIFF_NS, ZEEBE_NS


@dataclass
class _Container:
    """The element ids of a process or subprocess and the flows between them."""

    ids: set[str]
    targets: set[str]
    outgoing: dict[str, list[str]]

    @classmethod
    def of(cls, container: Any) -> _Container:
        """Index the direct children of ``container``."""
        index = cls(set(), set(), {})
        for child in container:
            if not _is_element(child) or not child.get("id"):
                continue
            index.ids.add(child.get("id"))
            if _qname(child) == (BPMN_NS, "sequenceFlow"):
                index.targets.add(child.get("targetRef") or "")
                index.outgoing.setdefault(child.get("sourceRef") or "", []).append(child.get("id"))
        return index


def _bpmn_elements(process: Any) -> Iterator[Any]:
    for node in process.iter():
        if _is_element(node) and _qname(node)[0] == BPMN_NS:
            yield node


def _needs_flows(node: Any, local: str) -> bool:
    """Whether an element must have incoming and outgoing flows where it stands."""
    if local == "boundaryEvent" or node.get("isForCompensation", "").lower() == "true":
        return False
    if local == "subProcess" and node.get("triggeredByEvent", "").lower() == "true":
        return False  # an event subprocess starts on its event
    if _qname(node.getparent())[1] == "adHocSubProcess":
        return False  # the activities of an ad-hoc subprocess have no flows
    return node.find(_bpmn("linkEventDefinition")) is None  # link events jump without flows


def _spiff_properties(node: Any) -> dict[str, str]:
    props: dict[str, str] = {}
    ext = node.find(_bpmn("extensionElements"))
    if ext is None:
        return props
    for holder in ext.findall(f"{{{SPIFF_NS}}}properties"):
        for prop in holder.findall(f"{{{SPIFF_NS}}}property"):
            if prop.get("name"):
                props[prop.get("name")] = prop.get("value", "")
    return props


def _extension_text(node: Any, tag: str) -> str | None:
    ext = node.find(_bpmn("extensionElements"))
    child = ext.find(f"{{{SPIFF_NS}}}{tag}") if ext is not None else None
    text = (child.text or "").strip() if child is not None else ""
    return text or None


def _vendor_service(node: Any) -> str | None:
    found = _vendor_attribute(node, ("class", "delegateExpression", "expression", "type", "topic"))
    if found:
        return found[0]
    ext = node.find(_bpmn("extensionElements"))
    if ext is not None and ext.find(f"{{{ZEEBE_NS}}}taskDefinition") is not None:
        return "zeebe:taskDefinition"
    return None


def _vendor_attribute(node: Any, names: tuple[str, ...]) -> tuple[str, str] | None:
    """The first of ``names`` set on ``node`` in another tool's namespace: ('prefix:name', value)."""
    prefixes = {uri: prefix for prefix, uri in node.nsmap.items() if prefix}
    for attr, value in node.attrib.items():
        name = etree.QName(attr)
        if name.namespace and name.namespace not in (BPMN_NS, SPIFF_NS) and name.localname in names:
            return f"{prefixes.get(name.namespace, 'vendor')}:{name.localname}", value
    return None


def _default_prefix(key: str) -> str:
    letters = "".join(part[0] for part in re.split(r"[^A-Za-z0-9]+", key) if part).upper()
    return (letters or "CASE")[:4]


def _lanes_of(process: Any) -> dict[str, str | None]:
    """Map each flow node id to the name of the lane its task runs in, as SpiffWorkflow sees it.

    A node lies in the innermost lane listing it; a node inside a subprocess runs in the lane of
    its outermost enclosing subprocess that lies in a lane.
    """
    own: dict[str, str | None] = {}
    for lane in process.iter(_bpmn("lane")):
        for ref in lane.findall(_bpmn("flowNodeRef")):
            if ref.text and ref.text.strip():
                own[ref.text.strip()] = lane.get("name")
    lanes: dict[str, str | None] = {}
    for node in _bpmn_elements(process):
        node_id = node.get("id")
        if not node_id or _qname(node)[1] not in _FLOW_NODE_TAGS:
            continue
        enclosing = [a.get("id") for a in node.iterancestors() if _qname(a)[1] in _SUBPROCESS_TAGS]
        for candidate in [*reversed(enclosing), node_id]:
            if candidate in own:
                lanes[node_id] = own[candidate]
                break
    return lanes
