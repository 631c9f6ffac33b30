"""Diagrams drawn for other engines, rewritten into afterflow's conventions before validation.

Camunda 7, Flowable and Activiti keep roles, forms, due dates and conditions in their own
attributes (``camunda:candidateGroups``, ``camunda:formKey``, ``camunda:dueDate``, JUEL
conditions ``${amount > 100}``); Camunda 8 keeps them in ``zeebe:`` extension elements.
afterflow offers a task to the role of the lane it lies in, names its form and due time in
``spiffworkflow:property`` elements and writes conditions in Python. ``convert_foreign``
rewrites what has a faithful equivalent and reports every change, and every attribute it
could not carry over, so the process owner sees what happened to the diagram.
"""

from __future__ import annotations

import ast
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine.definitions.convert_forms import embedded_form
from engine.definitions.documents import _bpmn
from engine.definitions.files import _parse_xml, _qname
from engine.definitions.vocabulary import _HUMAN_TASKS, BPMN_NS, FORM_SUFFIX, SPIFF_NS, ZEEBE_NS

#: The namespaces of the engines whose attributes afterflow reads: Camunda 7, Flowable, Activiti.
FOREIGN_NS = {
    "http://camunda.org/schema/1.0/bpmn": "camunda",
    "http://flowable.org/bpmn": "flowable",
    "http://activiti.org/bpmn": "activiti",
}
_FORM_PREFIXES = re.compile(r"^(embedded:|camunda-forms:)?(app:|deployment:)?(forms/)?", re.IGNORECASE)
_FORM_SUFFIXES = (FORM_SUFFIX, ".form", ".html", ".json")
_ISO_DURATION = re.compile(r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?)?$")
_JUEL = re.compile(r"^\s*[$#]\{(?P<inner>.*)\}\s*$", re.DOTALL)
_JUEL_TOKENS = re.compile(
    r"""(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<op>&&|\|\||!(?!=))|(?P<word>[A-Za-z_]\w*)"""
)
_JUEL_WORDS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "and": "and",
    "or": "or",
    "not": "not",
    "empty": "not",
    "true": "True",
    "false": "False",
    "null": "None",
}
_JUEL_OPS = {"&&": " and ", "||": " or ", "!": " not "}
_PLAIN_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Mod,
    ast.Name,
    ast.Load,
    ast.Constant,
)


@dataclass(frozen=True)
class Conversion:
    """One change made to a diagram, or one foreign setting that could not be carried over."""

    element_id: str
    message: str
    file: str
    converted: bool = True

    def line(self) -> str:
        """Render as ``file: element: message`` for the CLI and the modeler's report."""
        mark = "converted" if self.converted else "not converted"
        return f"{self.file}: {self.element_id}: {mark}: {self.message}"


@dataclass
class ConversionReport:
    """The files after conversion and what was changed in them."""

    files: dict[str, str]
    changes: list[Conversion] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Tell whether any file was rewritten or any foreign setting was found."""
        return bool(self.changes)


def convert_foreign(
    files: Mapping[str, str], known_forms: Iterable[str] = (), known_users: Iterable[str] = ()
) -> ConversionReport:
    """Rewrite the Camunda/Flowable/Activiti/Zeebe settings of every BPMN file into afterflow's.

    ``known_forms`` names forms deployed already (the library); forms among ``files`` count too.
    ``known_users`` are the user names an ``assignee`` or single ``candidateUsers`` may name.
    Files without foreign settings, and files that do not parse, are returned unchanged:
    validation reports their problems.
    """
    forms = {name[: -len(FORM_SUFFIX)] for name in files if name.endswith(FORM_SUFFIX)}
    forms.update(known_forms)
    report = ConversionReport(dict(files))
    for name, text in files.items():
        if not name.endswith(".bpmn") or not _mentions_foreign(text):
            continue
        root = _parse_xml(name, text, [])
        if root is None:
            continue
        converter = _DiagramConverter(name, forms, report.changes, set(known_users))
        if converter.convert(root):
            report.files[name] = _serialize(root)
        for form_name, form_text in converter.new_files.items():
            report.files.setdefault(form_name, form_text)
    return report


def juel_to_python(source: str) -> str | None:
    """Translate a JUEL condition such as ``${amount > 100 && urgent}`` into Python, or None.

    Only comparisons, arithmetic and the logical operators of plain variables and literals are
    translated; method calls, property paths and the conditional operator are not, because their
    meaning depends on the other engine's Java objects.
    """
    match = _JUEL.match(source)
    if match is None:
        return None
    inner = match.group("inner")
    if "?" in inner or "[" in inner:
        return None

    def replace(token: re.Match[str]) -> str:
        if token.group("string") is not None:
            return token.group("string")
        if token.group("op") is not None:
            return _JUEL_OPS[token.group("op")]
        return _JUEL_WORDS.get(token.group("word"), token.group("word"))

    python = " ".join(_JUEL_TOKENS.sub(replace, inner).split())
    try:
        tree = ast.parse(python, mode="eval")
    except SyntaxError:
        return None
    if not all(isinstance(node, _PLAIN_NODES) for node in ast.walk(tree)):
        return None
    return python


def duration_to_due(value: str) -> str | None:
    """Turn an ISO 8601 duration (``P2D``, ``PT4H``, ``PT30M``) into a ``due_in`` expression."""
    match = _ISO_DURATION.match(value.strip().upper())
    if match is None or not any(match.groupdict().values()):
        return None
    days, hours, minutes = (int(match.group(k) or 0) for k in ("days", "hours", "minutes"))
    if days and not hours and not minutes:
        return f"due_in({days}, 'days')"
    total = days * 24 + hours + minutes / 60
    return f"due_in({round(total, 2):g}, 'hours')"


def _mentions_foreign(text: str) -> bool:
    return any(uri in text for uri in FOREIGN_NS) or ZEEBE_NS in text


def _serialize(root: Any) -> str:
    etree.cleanup_namespaces(root, top_nsmap={"spiffworkflow": SPIFF_NS})
    out = io.BytesIO()
    root.getroottree().write(out, xml_declaration=True, encoding="UTF-8")
    return out.getvalue().decode("utf-8")


class _DiagramConverter:
    """Rewrites one BPMN document in place and records each change."""

    def __init__(self, file: str, forms: set[str], changes: list[Conversion], users: set[str]) -> None:
        self.file = file
        self.forms = forms
        self.users = users
        self.new_files: dict[str, str] = {}
        self.changes = changes
        self.dirty = False

    def convert(self, root: Any) -> bool:
        for process in root.iter(_bpmn("process")):
            self._process(process)
        for flow in root.iter(_bpmn("sequenceFlow")):
            self._condition(flow)
        return self.dirty

    def _note(self, element_id: str, message: str, converted: bool = True) -> None:
        self.changes.append(Conversion(element_id, message, self.file, converted))
        self.dirty = self.dirty or converted

    def _process(self, process: Any) -> None:
        groups: dict[str, list[str]] = {}
        for node in process.iter():
            if not isinstance(node.tag, str) or _qname(node)[1] not in _HUMAN_TASKS:
                continue
            node_id = node.get("id") or "?"
            group = self._candidate_group(node, node_id)
            if group:
                groups.setdefault(group, []).append(node_id)
            self._form(node, node_id)
            self._due(node, node_id)
            self._assignee(node, node_id)
        if groups:
            self._lanes(process, groups)

    def _candidate_group(self, node: Any, node_id: str) -> str | None:
        found = _foreign_attr(node, "candidateGroups")
        value = found[1] if found else None
        zeebe = _zeebe(node, "assignmentDefinition")
        if value is None and zeebe is not None:
            value = zeebe.get("candidateGroups")
        if not value:
            return None
        if found is not None:
            del node.attrib[found[0]]
        names = [part.strip() for part in value.split(",") if part.strip()]
        if not names or names[0].startswith(("$", "#", "=")):
            self._note(
                node_id, f"candidate groups '{value}' are an expression; put the task in a lane", False
            )
            return None
        if len(names) > 1:
            self._note(
                node_id,
                f"offered to '{names[0]}' only: afterflow offers a task to one role (dropped: "
                f"{', '.join(names[1:])})",
                converted=False,
            )
        return names[0]

    def _lanes(self, process: Any, groups: dict[str, list[str]]) -> None:
        lane_set = process.find(_bpmn("laneSet"))
        placed: set[str] = set()
        if lane_set is None:
            lane_set = etree.Element(_bpmn("laneSet"), id=f"{process.get('id') or 'process'}_lanes")
            process.insert(_first_flow_position(process), lane_set)
        else:
            for ref in lane_set.iter(_bpmn("flowNodeRef")):
                placed.add((ref.text or "").strip())
        lanes = {lane.get("name"): lane for lane in lane_set.findall(_bpmn("lane"))}
        for group, node_ids in groups.items():
            for node_id in node_ids:
                if node_id in placed:
                    self._note(node_id, f"already in a lane; candidate group '{group}' ignored", False)
                    continue
                lane = lanes.get(group)
                if lane is None:
                    lane = etree.SubElement(
                        lane_set, _bpmn("lane"), id=_lane_id(group, len(lanes)), name=group
                    )
                    lanes[group] = lane
                etree.SubElement(lane, _bpmn("flowNodeRef")).text = node_id
                self._note(node_id, f"candidate group '{group}' → lane '{group}'")

    def _form(self, node: Any, node_id: str) -> None:
        found = _foreign_attr(node, "formKey") or _foreign_attr(node, "formRef")
        value = found[1] if found else None
        zeebe = _zeebe(node, "formDefinition")
        if value is None and zeebe is not None:
            value = zeebe.get("formId") or zeebe.get("formKey")
        if not value:
            self._embedded_form(node, node_id)
            return
        key = _form_key(value)
        if key not in self.forms:
            self._note(
                node_id, f"form '{value}': no afterflow form '{key}' in the files or the library", False
            )
            return
        if found is not None:
            del node.attrib[found[0]]
        if zeebe is not None:
            zeebe.getparent().remove(zeebe)
        _set_property(node, "formKey", key)
        self._note(node_id, f"form '{value}' → formKey '{key}'")

    def _embedded_form(self, node: Any, node_id: str) -> None:
        key = re.sub(r"[^a-z0-9_]", "_", node_id.lower())
        made = embedded_form(node, key)
        if made is None:
            return
        text, left_out = made
        self.new_files[f"{key}{FORM_SUFFIX}"] = text
        self.forms.add(key)
        _set_property(node, "formKey", key)
        self._note(node_id, f"embedded form fields → generated form '{key}{FORM_SUFFIX}'")
        for what in left_out:
            self._note(node_id, what, converted=False)

    def _assignee(self, node: Any, node_id: str) -> None:
        """``assignee`` or a single ``candidateUsers`` name becomes the assignee expression."""
        done = False
        for attr in ("assignee", "candidateUsers"):
            found = _foreign_attr(node, attr)
            if found is None:
                continue
            value = found[1].strip()
            expression = None if done else _assignee_expression(value, self.users)
            if expression is None:
                why = "another one is carried over" if done else "it names no single user of afterflow"
                self._note(
                    node_id,
                    f"{attr} '{value}' is not carried over ({why}): someone of the lane's role claims the task",
                    converted=False,
                )
                continue
            del node.attrib[found[0]]
            _set_property(node, "assignee", expression)
            self._note(node_id, f"{attr} '{value}' → assignee {expression}")
            done = True

    def _due(self, node: Any, node_id: str) -> None:
        found = _foreign_attr(node, "dueDate")
        value = found[1] if found else None
        zeebe = _zeebe(node, "taskSchedule")
        if value is None and zeebe is not None:
            value = zeebe.get("dueDate")
        if not value:
            return
        due = duration_to_due(value)
        if due is None:
            self._note(
                node_id,
                f"due date '{value}' is not a duration (P2D, PT4H); set the due time in the side panel",
                converted=False,
            )
            return
        if found is not None:
            del node.attrib[found[0]]
        if zeebe is not None and zeebe.get("followUpDate") is None:
            zeebe.getparent().remove(zeebe)
        _set_property(node, "dueTime", due)
        self._note(node_id, f"due date '{value}' → dueTime {due}")

    def _condition(self, flow: Any) -> None:
        expression = flow.find(_bpmn("conditionExpression"))
        if expression is None or not (expression.text or "").strip():
            return
        source = expression.text.strip()
        flow_id = flow.get("id") or "?"
        if source.startswith("="):
            self._note(flow_id, f"FEEL condition '{source}' is not translated; write it in Python", False)
            return
        if _JUEL.match(source) is None:
            return
        python = juel_to_python(source)
        if python is None:
            self._note(flow_id, f"JUEL condition '{source}' is not translated; write it in Python", False)
            return
        expression.text = python
        self._note(flow_id, f"condition {source} → {python}")


def _foreign_attr(node: Any, name: str) -> tuple[str, str] | None:
    for uri in FOREIGN_NS:
        key = f"{{{uri}}}{name}"
        if key in node.attrib:
            return key, str(node.attrib[key])
    return None


def _zeebe(node: Any, local: str) -> Any | None:
    ext = node.find(_bpmn("extensionElements"))
    return ext.find(f"{{{ZEEBE_NS}}}{local}") if ext is not None else None


def _form_key(value: str) -> str:
    key = _FORM_PREFIXES.sub("", value.strip()).rsplit("/", 1)[-1]
    for suffix in _FORM_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key


def _set_property(node: Any, name: str, value: str) -> None:
    ext = node.find(_bpmn("extensionElements"))
    if ext is None:
        ext = etree.Element(_bpmn("extensionElements"))
        docs = node.find(_bpmn("documentation"))
        node.insert(0 if docs is None else node.index(docs) + 1, ext)
    props = ext.find(f"{{{SPIFF_NS}}}properties")
    if props is None:
        props = etree.SubElement(ext, f"{{{SPIFF_NS}}}properties", nsmap={"spiffworkflow": SPIFF_NS})
    for prop in props.findall(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") == name:
            prop.set("value", value)
            return
    etree.SubElement(props, f"{{{SPIFF_NS}}}property", name=name, value=value)


def _assignee_expression(value: str, users: set[str]) -> str | None:
    """A known user's name (``sup1``) as a quoted expression, a JUEL variable (``${starter}``) as itself."""
    if value.startswith(("${", "#{")):
        python = juel_to_python(value)
        return python if python is not None and python.isidentifier() else None
    return repr(value) if value in users else None


def _first_flow_position(process: Any) -> int:
    for index, child in enumerate(process):
        own = isinstance(child.tag, str) and child.tag.startswith(f"{{{BPMN_NS}}}")
        if own and etree.QName(child).localname not in ("documentation", "extensionElements", "laneSet"):
            return index
    return len(process)


def _lane_id(group: str, index: int) -> str:
    slug = re.sub(r"[^A-Za-z0-9_]", "_", group).strip("_")
    return f"lane_{slug or index}_{index}"
