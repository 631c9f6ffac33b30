"""The settings a draft may not keep: the values the editor's side panel edits, checked on save.

A draft may be unfinished (a task in no lane, a form not written yet); a deploy reports that.
What it may not hold is a setting that is wrong the moment it is typed: a service task's
handler no one provides, a parameter or payload that is not an expression the sandbox runs,
a multi-instance cardinality above the cap, a collection or element variable that is no
variable name. Saving such a draft is refused with one message per setting (and so is a deploy
of such files, from the editor or the command line), as codes the web
words in the user's language.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.definitions.expressions import _literal_number
from engine.definitions.files import _is_element, _parse_xml, _qname
from engine.definitions.vocabulary import BPMN_NS, SPIFF_NS
from engine.sandbox import SandboxLimits, check_source
from engine.user_messages import Message

_MESSAGE_HOLDERS = ("sendTask", "receiveTask")
_CODE = "modeler.setting"


@dataclass(frozen=True)
class DraftProblem:
    """One setting of one element that a draft may not keep."""

    file: str
    element_id: str
    message: Message


def check_draft_settings(
    files: Mapping[str, str], limits: SandboxLimits, services: Mapping[str, Callable[..., Any]]
) -> list[DraftProblem]:
    """The problems of the side panel's settings in the BPMN files of a draft (empty when fine).

    ``services`` are the handlers service tasks may call: a task names one of them and gives
    the parameters its handler takes (all it requires, none it does not know).
    """
    found: list[DraftProblem] = []
    for name, text in sorted(files.items()):
        if not name.endswith(".bpmn"):
            continue
        root = _parse_xml(name, text, [])
        if root is None:
            continue  # a file that does not parse is the deploy's to report
        checker = _SettingsChecker(name, root, limits, services, found)
        for node in root.iter():
            if _is_element(node):
                checker.element(node)
    return found


def _field(key: str, **params: Any) -> Message:
    return Message(f"modeler.field.{key}", params)


def _is_variable(text: str) -> bool:
    return text.isidentifier() and text.isascii() and not text.startswith("_")


class _SettingsChecker:
    def __init__(
        self,
        file: str,
        root: Any,
        limits: SandboxLimits,
        services: Mapping[str, Callable[..., Any]],
        found: list[DraftProblem],
    ) -> None:
        self.file = file
        self.limits = limits
        self.services = services
        self.found = found
        self.messages = {n.get("id") for n in root.iter(f"{{{BPMN_NS}}}message") if n.get("id") is not None}

    def element(self, node: Any) -> None:
        namespace, local = _qname(node)
        if namespace == SPIFF_NS and local == "serviceTaskOperator":
            self.service(node)
        elif namespace == BPMN_NS and local == "multiInstanceLoopCharacteristics":
            self.multi_instance(node)
        elif namespace == BPMN_NS and (local == "messageEventDefinition" or local in _MESSAGE_HOLDERS):
            self.message(node)

    def service(self, operator: Any) -> None:
        owner = _owner_id(operator)
        name = (operator.get("id") or "").strip()
        if not name:
            self.add(owner, "service_missing")
        elif name not in self.services:
            self.add(owner, "service_unknown", name=name, known=", ".join(sorted(self.services)))
        result = operator.get("resultVariable")
        if result and not _is_variable(result):
            self.add(owner, "not_variable", field=_field("result_variable"), value=result)
        seen: set[str] = set()
        for param in operator.iter(f"{{{SPIFF_NS}}}parameter"):
            key = (param.get("id") or "").strip()
            if not _is_variable(key):
                self.add(owner, "not_variable", field=_field("parameter_name"), value=key)
            elif key in seen:
                self.add(owner, "parameter_repeated", name=key)
            seen.add(key)
            self.expression(owner, param.get("value") or "", _field("parameter", name=key), required=True)
        if name in self.services:
            self.signature(owner, name, seen)

    def signature(self, owner: str, name: str, given: set[str]) -> None:
        """Parameters the service's handler does not take, and those it requires that are not given."""
        accepted = _parameters(self.services[name])
        if accepted is None:
            return  # the handler takes any keyword
        known, required = accepted
        for key in sorted(given - known):
            self.add(
                owner, "parameter_unknown", name=key, service=name, known=", ".join(sorted(known)) or "—"
            )
        for key in sorted(required - given):
            self.add(owner, "parameter_missing", name=key, service=name)

    def message(self, node: Any) -> None:
        owner = _owner_id(node) if _qname(node)[1] == "messageEventDefinition" else node.get("id") or ""
        ref = (node.get("messageRef") or "").strip()
        if ref and ref not in self.messages:
            self.add(owner, "message_unknown", name=ref)
        for holder in _spiff_children(node):
            local = _qname(holder)[1]
            value = (holder.text or "").strip()
            if local == "messagePayload" and value:
                self.expression(owner, value, _field("payload"))
            elif local == "messageVariable" and value and not _is_variable(value):
                self.add(owner, "not_variable", field=_field("message_variable"), value=value)

    def multi_instance(self, node: Any) -> None:
        owner = _owner_id(node)
        cardinality = _child_text(node, "loopCardinality")
        collection = _child_text(node, "loopDataInputRef")
        if cardinality and collection:
            self.add(owner, "loop_both")
        elif not cardinality and not collection:
            self.add(owner, "loop_none")
        if cardinality and self.expression(owner, cardinality, _field("cardinality")):
            value = _literal_number(cardinality)
            cap = self.limits.max_cardinality
            if value is not None and value > cap:
                self.add(owner, "cardinality_cap", value=value, cap=cap)
        for tag, key in (("loopDataInputRef", "collection"), ("loopDataOutputRef", "output_collection")):
            text = _child_text(node, tag)
            if text and not _is_variable(text):
                self.add(owner, "not_variable", field=_field(key), value=text)
        for tag, key in (("inputDataItem", "element_variable"), ("outputDataItem", "output_element")):
            item = node.find(f"{{{BPMN_NS}}}{tag}")
            text = ((item.get("name") or item.get("id") or "") if item is not None else "").strip()
            if item is not None and not _is_variable(text):
                self.add(owner, "not_variable", field=_field(key), value=text)
        condition = _child_text(node, "completionCondition")
        if condition:
            self.expression(owner, condition, _field("completion"))

    def expression(self, owner: str, source: str, field: Message, required: bool = False) -> bool:
        if not source.strip():
            if required:
                self.add(owner, "empty", field=field)
            return not required
        error = check_source(source.strip(), "eval", self.limits)
        if error is not None:
            self.add(owner, "not_expression", field=field, detail=error)
        return error is None

    def add(self, owner: str, code: str, **params: Any) -> None:
        self.found.append(DraftProblem(self.file, owner, Message(f"{_CODE}.{code}", params)))


def _parameters(handler: Callable[..., Any]) -> tuple[set[str], set[str]] | None:
    """The keyword parameters a handler takes and those it requires; None when it takes any."""
    try:
        params = list(inspect.signature(handler).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    named = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return {p.name for p in named}, {p.name for p in named if p.default is p.empty}


def _owner_id(node: Any) -> str:
    """The id of the flow element a setting belongs to (the nearest ancestor outside extensions)."""
    for ancestor in node.iterancestors():
        namespace, local = _qname(ancestor)
        if namespace == BPMN_NS and local not in ("extensionElements",) and ancestor.get("id"):
            if local.endswith("EventDefinition"):
                continue
            return str(ancestor.get("id"))
    return str(node.get("id") or "")


def _child_text(node: Any, tag: str) -> str:
    child = node.find(f"{{{BPMN_NS}}}{tag}")
    return (child.text or "").strip() if child is not None else ""


def _spiff_children(node: Any) -> Iterator[Any]:
    ext = node.find(f"{{{BPMN_NS}}}extensionElements")
    if ext is None:
        return
    for child in ext:
        if _is_element(child) and _qname(child)[0] == SPIFF_NS:
            yield child
