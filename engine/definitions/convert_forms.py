"""Embedded Camunda form fields (``camunda:formData``/``camunda:formField``) as a form-js form.

Camunda Modeler keeps a generated task form inside the diagram; afterflow's forms are form-js
files. Each field becomes a component with the same key, label, type, default value, options
and ``required`` constraint; a label in plain ASCII is taken as its English text too, so the
form reads in both languages. What has no form-js counterpart is named, never dropped silently.
"""

from __future__ import annotations

import json
from typing import Any

from engine.definitions.files import _qname

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_TYPES = {
    "string": "textfield",
    "long": "number",
    "boolean": "checkbox",
    "date": "datetime",
    "enum": "select",
}


def embedded_form(node: Any, key: str) -> tuple[str, list[str]] | None:
    """The form-js text for the task's embedded fields and what was left out; None without any."""
    data = node.find(f".//{{{CAMUNDA_NS}}}formData")
    if data is None:
        return None
    components: list[dict[str, Any]] = []
    left_out: list[str] = []
    for field in data.findall(f"{{{CAMUNDA_NS}}}formField"):
        component = _component(field, left_out)
        if component is not None:
            components.append(component)
    if not components:
        return None
    form = {"id": key, "type": "default", "schemaVersion": 16, "components": components}
    data.getparent().remove(data)
    return json.dumps(form, ensure_ascii=False, indent=2) + "\n", left_out


def _component(field: Any, left_out: list[str]) -> dict[str, Any] | None:
    name = (field.get("id") or "").strip()
    kind = field.get("type") or "string"
    if not name.isidentifier() or kind not in _TYPES:
        left_out.append(f"form field '{name}' of type '{kind}' has no form-js counterpart")
        return None
    label = (field.get("label") or name).strip()
    component: dict[str, Any] = {"id": f"field_{name}", "key": name, "type": _TYPES[kind], "label": label}
    if label.isascii():
        component["properties"] = {"label_en": label}
    if kind == "date":
        component["subtype"] = "date"
        component["dateLabel"] = label
    default = field.get("defaultValue")
    if default is not None and kind in ("string", "long", "boolean"):
        component["defaultValue"] = _default(kind, default)
    if kind == "enum":
        component["values"] = [
            {"value": value.get("id") or "", "label": value.get("name") or value.get("id") or ""}
            for value in field.findall(f"{{{CAMUNDA_NS}}}value")
        ]
    for constraint in field.iter(f"{{{CAMUNDA_NS}}}constraint"):
        rule = constraint.get("name")
        if rule == "required":
            component["validate"] = {"required": True}
        else:
            left_out.append(f"form field '{name}': the constraint '{rule}' is not carried over")
    for child in field:
        if isinstance(child.tag, str) and _qname(child)[1] == "properties":
            left_out.append(f"form field '{name}': its properties are not carried over")
    return component


def _default(kind: str, text: str) -> Any:
    if kind == "boolean":
        return text.strip().lower() == "true"
    if kind == "long":
        try:
            return int(text)
        except ValueError:
            return None
    return text
