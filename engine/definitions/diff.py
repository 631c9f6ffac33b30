"""Compare two sets of process files: which elements were added, removed or changed.

Elements are matched by id within their file. For BPMN a change is one of what afterflow
reads from a diagram (docs/modelling.md): the name, the lane (role), the spiffworkflow
properties, conditions, scripts, timers, the flow's ends, the decision or service called. For
DMN a change is a rule's cells or an input's/output's expression; for forms a component's
label, key, type, validation, options or properties.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.definitions import BPMN_NS, DMN_NAMESPACES, FORM_SUFFIX, SPIFF_NS
from engine.errors import NotFound
from engine.store.models import ProcessDefinition

Signature = dict[str, Any]

_BPMN_SKIP = frozenset(
    {"incoming", "outgoing", "flowNodeRef", "extensionElements", "documentation", "laneSet", "text"}
)
_FORM_FIELDS = ("type", "key", "label", "validate", "values", "properties", "description", "defaultValue")


@dataclass(frozen=True)
class ElementChange:
    """One element that differs between the versions."""

    element_id: str
    file: str
    kind: str  # "bpmn", "dmn" or "form"
    type: str
    name: str | None
    fields: tuple[str, ...] = ()
    #: What changed, one line each: ``到场时限: 4 → 8`` for a decision rule's cell, ``label: 旧 → 新``.
    details: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able form (for the web page)."""
        return {
            "id": self.element_id,
            "file": self.file,
            "kind": self.kind,
            "type": self.type,
            "name": self.name,
            "fields": list(self.fields),
            "details": list(self.details),
        }


@dataclass
class VersionDiff:
    """Elements added, removed and changed from one set of files to another."""

    added: list[ElementChange] = field(default_factory=list)
    removed: list[ElementChange] = field(default_factory=list)
    changed: list[ElementChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Tell whether nothing differs."""
        return not (self.added or self.removed or self.changed)

    def ids(self, which: str) -> set[str]:
        """The element ids of one list ("added", "removed" or "changed")."""
        return {change.element_id for change in getattr(self, which)}

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able form (for the web page)."""
        return {
            which: [c.as_dict() for c in getattr(self, which)] for which in ("added", "removed", "changed")
        }


def diff_files(old: Mapping[str, str], new: Mapping[str, str]) -> VersionDiff:
    """Compare two sets of files (``name → text``) element by element."""
    before = _elements(old)
    after = _elements(new)
    result = VersionDiff()
    for key, (kind, sig) in after.items():
        if key not in before:
            result.added.append(_change(key, kind, sig, ()))
    for key, (kind, sig) in before.items():
        if key not in after:
            result.removed.append(_change(key, kind, sig, ()))
            continue
        other = after[key][1]
        compared = (set(sig) | set(other)) - _CONTEXT_KEYS
        fields = tuple(sorted(k for k in compared if sig.get(k) != other.get(k)))
        if fields:
            change = _change(key, kind, other, fields)
            details = tuple(line for f in fields for line in _details(f, sig, other))
            result.changed.append(ElementChange(**{**change.__dict__, "details": details}))
    for part in (result.added, result.removed, result.changed):
        part.sort(key=lambda c: (c.file, c.element_id))
    return result


def compare_versions(session: Session, process_key: str, from_version: int, to_version: int) -> VersionDiff:
    """Compare two deployed versions of a process."""
    return diff_files(
        definition_of(session, process_key, from_version).files,
        definition_of(session, process_key, to_version).files,
    )


def definition_of(session: Session, process_key: str, version: int) -> ProcessDefinition:
    """Return one deployed version of a process."""
    definition = session.scalar(
        select(ProcessDefinition).where(
            ProcessDefinition.process_key == process_key, ProcessDefinition.version == version
        )
    )
    if definition is None:
        raise NotFound(f"{process_key} has no version {version}")
    return definition


#: Signature entries that describe an element's context (a rule's column names), never a change.
_CONTEXT_KEYS = frozenset({"columns"})


def _details(field_name: str, old: Signature, new: Signature) -> list[str]:
    """Say what one field changed from and to; a rule's cells one by one, under their columns."""
    before, after = old.get(field_name), new.get(field_name)
    if field_name == "cells" and isinstance(before, list) and isinstance(after, list):
        columns = new.get("columns") or old.get("columns") or []
        lines = []
        for index in range(max(len(before), len(after))):
            was = before[index] if index < len(before) else ""
            now = after[index] if index < len(after) else ""
            if was != now:
                column = columns[index] if index < len(columns) else f"#{index + 1}"
                lines.append(f"{column}: {was or '—'} → {now or '—'}")
        return lines
    return [f"{field_name}: {_shown(before)} → {_shown(after)}"]


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        return value if len(value) <= 120 else value[:117] + "…"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "…"


def _change(key: tuple[str, str], kind: str, sig: Signature, fields: tuple[str, ...]) -> ElementChange:
    file, element_id = key
    return ElementChange(element_id, file, kind, str(sig.get("type", "")), sig.get("name"), fields)


def _elements(files: Mapping[str, str]) -> dict[tuple[str, str], tuple[str, Signature]]:
    found: dict[tuple[str, str], tuple[str, Signature]] = {}
    for name, text in files.items():
        if name.endswith(FORM_SUFFIX):
            for element_id, sig in _form_elements(text):
                found[(name, element_id)] = ("form", sig)
            continue
        root = _xml(text)
        if root is None:
            continue
        if etree.QName(root).namespace == BPMN_NS:
            for element_id, sig in _bpmn_elements(root):
                found[(name, element_id)] = ("bpmn", sig)
        elif etree.QName(root).namespace in DMN_NAMESPACES:
            for element_id, sig in _dmn_elements(root):
                found[(name, element_id)] = ("dmn", sig)
    return found


def _xml(text: str) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.fromstring(text.lstrip("\ufeff").encode(), parser)
    except (etree.XMLSyntaxError, ValueError):
        return None


def _local(node: Any) -> str:
    return str(etree.QName(node).localname)


def _text(node: Any) -> str:
    return " ".join("".join(node.itertext()).split()) if node is not None else ""


def _bpmn_elements(root: Any) -> Iterator[tuple[str, Signature]]:
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        lanes = _lanes(process)
        for node in process.iter():
            if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN_NS:
                continue
            local = _local(node)
            element_id = node.get("id")
            if not element_id or local in _BPMN_SKIP or node is process:
                continue
            if node.getparent() is not None and _local(node.getparent()) not in (
                "process",
                "subProcess",
                "transaction",
                "adHocSubProcess",
                "laneSet",
                "lane",
                "childLaneSet",
            ):
                continue  # event definitions, scripts, conditions: part of their element's signature
            yield element_id, _bpmn_signature(node, local, lanes.get(element_id))


def _lanes(process: Any) -> dict[str, str | None]:
    lanes: dict[str, str | None] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
            if ref.text and ref.text.strip():
                lanes[ref.text.strip()] = lane.get("name")
    return lanes


def _bpmn_signature(node: Any, local: str, lane: str | None) -> Signature:
    sig: Signature = {"type": local, "name": node.get("name")}
    if lane is not None:
        sig["lane"] = lane
    for attr in ("sourceRef", "targetRef"):
        if node.get(attr):
            sig.setdefault("flow", {})[attr] = node.get(attr)
    for attr in ("attachedToRef", "cancelActivity", "calledElement", "default"):
        if node.get(attr) is not None:
            sig.setdefault("attributes", {})[attr] = node.get(attr)
    condition = node.find(f"{{{BPMN_NS}}}conditionExpression")
    if condition is not None:
        sig["condition"] = _text(condition)
    script = node.find(f"{{{BPMN_NS}}}script")
    if script is not None:
        sig["script"] = (script.text or "").strip()
    timers = {}
    for definition in node.findall(f"{{{BPMN_NS}}}timerEventDefinition"):
        for child in definition:
            if isinstance(child.tag, str):
                timers[_local(child)] = _text(child)
    if timers:
        sig["timer"] = timers
    events = sorted(
        _local(child)
        for child in node
        if isinstance(child.tag, str) and _local(child).endswith("EventDefinition")
    )
    if events:
        sig["events"] = events
    ext = node.find(f"{{{BPMN_NS}}}extensionElements")
    if ext is not None:
        props = {
            p.get("name"): p.get("value", "") for p in ext.iter(f"{{{SPIFF_NS}}}property") if p.get("name")
        }
        if props:
            sig["properties"] = props
        for tag in ("preScript", "postScript"):
            found = ext.find(f"{{{SPIFF_NS}}}{tag}")
            if found is not None and (found.text or "").strip():
                sig[tag] = found.text.strip()
        decision = ext.find(f"{{{SPIFF_NS}}}calledDecisionId")
        if decision is not None:
            sig["decision"] = _text(decision)
        operator = ext.find(f"{{{SPIFF_NS}}}serviceTaskOperator")
        if operator is not None:
            sig["service"] = etree.tostring(operator, encoding="unicode", with_tail=False)
        payload = ext.find(f"{{{SPIFF_NS}}}messagePayload")
        if payload is not None:
            sig["message"] = _text(payload)
    multi = node.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics")
    if multi is not None:
        sig["loop"] = etree.tostring(multi, encoding="unicode", with_tail=False)
    return sig


def _dmn_elements(root: Any) -> Iterator[tuple[str, Signature]]:
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        local = _local(node)
        element_id = node.get("id")
        if not element_id:
            continue
        if local == "rule":
            cells = [_text(c.find("{*}text")) for c in node if isinstance(c.tag, str) and c.get("id")]
            sig = {"type": "rule", "name": _text(node.find("{*}description")) or None, "cells": cells}
            sig["columns"] = _columns(node.getparent())
            yield element_id, sig
        elif local in ("input", "output"):
            expression = node.find("{*}inputExpression")
            yield (
                element_id,
                {
                    "type": local,
                    "name": node.get("label") or node.get("name"),
                    "expression": _text(expression),
                    "output_name": node.get("name"),
                },
            )
        elif local == "decision":
            yield element_id, {"type": local, "name": node.get("name")}
        elif local == "decisionTable":
            # DMN's default hit policy is UNIQUE: an editor that writes or drops it changes nothing.
            policy = (node.get("hitPolicy") or "UNIQUE").strip().upper()
            yield element_id, {"type": local, "name": node.get("name"), "hitPolicy": policy}


def _columns(table: Any) -> list[str]:
    """The names of a decision table's columns in cell order: its inputs, then its outputs."""
    if table is None:
        return []
    names = []
    for local in ("input", "output"):
        for column in table.findall(f"{{*}}{local}"):
            names.append(column.get("label") or column.get("name") or column.get("id") or local)
    return names


def _form_elements(text: str) -> Iterator[tuple[str, Signature]]:
    try:
        schema = json.loads(text.lstrip("\ufeff"))
    except ValueError:
        return
    if not isinstance(schema, dict):
        return
    yield str(schema.get("id") or "form"), {"type": "form", "name": schema.get("id")}

    def walk(components: Any) -> Iterator[tuple[str, Signature]]:
        for component in components if isinstance(components, list) else []:
            if not isinstance(component, dict):
                continue
            element_id = component.get("id") or component.get("key")
            if element_id:
                sig: Signature = {k: component.get(k) for k in _FORM_FIELDS if component.get(k) is not None}
                sig["name"] = component.get("label") or component.get("key")
                yield str(element_id), sig
            yield from walk(component.get("components"))

    yield from walk(schema.get("components"))
