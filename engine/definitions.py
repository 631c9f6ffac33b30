"""Read BPMN, DMN and form files, check them, and turn each executable process into a bundle.

Validation collects *every* problem, each tied to an element id and phrased for a process
owner, and never lets an exception from a parser escape as a traceback: whatever a file
holds — a diagram from another modelling tool included — the answer is a list of problems
or a set of deployable bundles.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.forms import FormDefinition, FormProblem, parse_form
from engine.sandbox import check_source
from engine.serialization import ProcessSpecs

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)
FORM_SUFFIX = ".form.json"
MAX_FILE_BYTES = 5 * 1024 * 1024

RoleResolver = Callable[[str | None], str | None]

_HUMAN_TASKS = ("userTask", "manualTask")
_FLOW_NODE_TAGS = [
    "task",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "businessRuleTask",
    "sendTask",
    "receiveTask",
    "callActivity",
    "subProcess",
    "transaction",
    "adHocSubProcess",
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "complexGateway",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the files, tied to the element (or file) it concerns."""

    element_id: str
    message: str
    file: str | None = None

    def line(self) -> str:
        """Render as ``element_id: message``."""
        where = f" ({self.file})" if self.file and self.file != self.element_id else ""
        return f"{self.element_id}: {self.message}{where}"


@dataclass
class ProcessBundle:
    """One executable process ready to deploy: its files, parsed specs and task metadata."""

    key: str
    name: str
    files: dict[str, str]
    specs: ProcessSpecs
    meta: dict[str, Any]
    checksum: str = ""

    def __post_init__(self) -> None:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode())
            digest.update(b"\0")
            digest.update(self.files[name].encode())
            digest.update(b"\0")
        self.checksum = digest.hexdigest()


@dataclass
class ValidationResult:
    """What reading a set of files gave: bundles to deploy, or the problems found."""

    bundles: list[ProcessBundle] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether the files can be deployed."""
        return not self.problems


def collect_files(paths: Iterable[str | Path]) -> tuple[dict[str, str], list[Problem]]:
    """Read ``*.bpmn``, ``*.dmn`` and ``*.form.json`` files from files and folders (recursively)."""
    files: dict[str, str] = {}
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*") if p.is_file() and _is_model_file(p.name))
        elif path.is_file():
            candidates = [path]
        else:
            problems.append(Problem(str(path), "no such file or folder"))
            continue
        for candidate in candidates:
            if not _is_model_file(candidate.name):
                problems.append(Problem(candidate.name, "not a .bpmn, .dmn or .form.json file"))
                continue
            if candidate.stat().st_size > MAX_FILE_BYTES:
                problems.append(Problem(candidate.name, "the file is larger than 5 MB"))
                continue
            try:
                text = candidate.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                problems.append(Problem(candidate.name, "the file is not UTF-8 text"))
                continue
            if candidate.name in files:
                problems.append(
                    Problem(candidate.name, "two files have this name; file names must be unique")
                )
                continue
            files[candidate.name] = text
    return files, problems


def _is_model_file(name: str) -> bool:
    return name.endswith((".bpmn", ".dmn", FORM_SUFFIX))


def validate_files(
    files: Mapping[str, str],
    resolve_role: RoleResolver,
    evaluate_timer: Callable[[str], Any] | None = None,
) -> ValidationResult:
    """Check every file and build a bundle per executable process; collect all problems."""
    result = ValidationResult()
    forms: dict[str, FormDefinition] = {}
    form_texts: dict[str, tuple[str, str]] = {}
    dmn_docs: dict[str, tuple[str, Any]] = {}
    bpmn_docs: dict[str, Any] = {}

    for name, text in files.items():
        if name.endswith(FORM_SUFFIX):
            key = name[: -len(FORM_SUFFIX)]
            try:
                forms[key] = parse_form(key, text)
                form_texts[key] = (name, text)
            except FormProblem as problem:
                result.problems.extend(Problem(key, msg, name) for msg in problem.problems)
        elif name.endswith(".dmn"):
            doc = _parse_xml(name, text, result.problems)
            if doc is not None:
                dmn_docs[name] = (text, doc)
        elif name.endswith(".bpmn"):
            doc = _parse_xml(name, text, result.problems)
            if doc is not None:
                bpmn_docs[name] = doc

    decisions = _check_dmn_files(dmn_docs, result.problems)
    seen_processes: dict[str, str] = {}
    for name, doc in bpmn_docs.items():
        for bundle in _check_bpmn_file(
            name,
            files[name],
            doc,
            decisions,
            forms,
            form_texts,
            resolve_role,
            evaluate_timer,
            result.problems,
        ):
            if bundle.key in seen_processes:
                result.problems.append(
                    Problem(bundle.key, f"the process id is also used in {seen_processes[bundle.key]}", name)
                )
                continue
            seen_processes[bundle.key] = name
            result.bundles.append(bundle)
    if not bpmn_docs and not result.problems and not files:
        result.problems.append(Problem("files", "nothing to deploy: no .bpmn, .dmn or .form.json files"))
    if result.problems:
        result.bundles = []
    return result


def _parse_xml(name: str, text: str, problems: list[Problem]) -> Any | None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
    try:
        return etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as error:
        problems.append(Problem(name, f"the file is not well-formed XML: {error}"))
    except ValueError as error:
        problems.append(Problem(name, f"the file cannot be read as XML: {error}"))
    return None


# --- DMN -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Decision:
    file: str
    text: str


def _check_dmn_files(docs: Mapping[str, tuple[str, Any]], problems: list[Problem]) -> dict[str, _Decision]:
    decisions: dict[str, _Decision] = {}
    for name, (text, doc) in docs.items():
        ns = etree.QName(doc).namespace
        if etree.QName(doc).localname != "definitions" or ns not in DMN_NAMESPACES:
            problems.append(Problem(name, "not a DMN 1.x file (the root element is not dmn:definitions)"))
            continue
        before = len(problems)
        for decision in doc.iter(f"{{{ns}}}decision"):
            decision_id = decision.get("id") or "decision"
            if decision_id in decisions:
                problems.append(Problem(decision_id, "two decisions have this id", name))
            _check_decision_table(decision, ns, name, problems)
            decisions[decision_id] = _Decision(name, text)
        if len(problems) == before:
            _parse_dmn_with_spiff(name, text, problems)
    return decisions


def _check_decision_table(decision: Any, ns: str, name: str, problems: list[Problem]) -> None:
    decision_id = decision.get("id") or "decision"
    table = decision.find(f"{{{ns}}}decisionTable")
    if table is None:
        problems.append(Problem(decision_id, "the decision has no decision table", name))
        return
    policy = table.get("hitPolicy", "UNIQUE")
    if policy not in ("UNIQUE", "FIRST", "COLLECT"):
        problems.append(
            Problem(decision_id, f"hit policy {policy} is not supported (use UNIQUE or COLLECT)", name)
        )
    for inp in table.iter(f"{{{ns}}}inputExpression"):
        text = _child_text(inp, ns, "text")
        if text:
            _check_expression(text, "eval", decision_id, "input expression", name, problems)
    for index, rule in enumerate(table.iter(f"{{{ns}}}rule"), start=1):
        rule_id = rule.get("id") or f"{decision_id} rule {index}"
        for entry in rule.iter(f"{{{ns}}}inputEntry"):
            text = (_child_text(entry, ns, "text") or "").strip()
            if text and text != "-":
                _check_dmn_input_entry(text, rule_id, name, problems)
        for entry in rule.iter(f"{{{ns}}}outputEntry"):
            text = (_child_text(entry, ns, "text") or "").strip()
            if text:
                _check_expression(text, "eval", rule_id, "output entry", name, problems)


def _check_dmn_input_entry(text: str, rule_id: str, name: str, problems: list[Problem]) -> None:
    # Mirror SpiffWorkflow's DMNEngine: '?' stands for the input value; otherwise the entry is
    # compared with '==' if it parses alone, or appended to the input ("> 5").
    if "?" in text:
        candidate = re.sub(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)", "dmninputexpr", text)
    elif check_source(text, "eval") is None:
        candidate = f"(dmninputexpr) == ({text})"
    else:
        candidate = f"dmninputexpr {text}"
    error = check_source(candidate, "eval")
    if error:
        problems.append(
            Problem(rule_id, f"the input entry '{text}' is not a valid expression: {error}", name)
        )


def _parse_dmn_with_spiff(name: str, text: str, problems: list[Problem]) -> None:
    parser = SpiffBpmnParser()
    try:
        parser.add_dmn_str(text.encode("utf-8"), filename=name)
        for dmn_parser in parser.dmn_parsers.values():
            dmn_parser.parse()
    except Exception as error:  # the parser's own errors vary by type; all become problems
        problems.append(_problem_from_exception(error, name))


def _child_text(node: Any, ns: str, tag: str) -> str | None:
    child = node.find(f"{{{ns}}}{tag}")
    return child.text if child is not None else None


# --- BPMN ----------------------------------------------------------------------------------


def _bpmn(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _spiff_properties(node: Any) -> dict[str, str]:
    props: dict[str, str] = {}
    ext = node.find(_bpmn("extensionElements"))
    if ext is None:
        return props
    for prop in ext.iter(f"{{{SPIFF_NS}}}property"):
        if prop.get("name"):
            props[prop.get("name")] = prop.get("value", "")
    return props


def _check_bpmn_file(
    name: str,
    text: str,
    doc: Any,
    decisions: Mapping[str, _Decision],
    forms: Mapping[str, FormDefinition],
    form_texts: Mapping[str, tuple[str, str]],
    resolve_role: RoleResolver,
    evaluate_timer: Callable[[str], Any] | None,
    problems: list[Problem],
) -> list[ProcessBundle]:
    if etree.QName(doc).namespace != BPMN_NS or etree.QName(doc).localname != "definitions":
        problems.append(Problem(name, "not a BPMN 2.0 file (the root element is not bpmn:definitions)"))
        return []
    before = len(problems)
    ids: dict[str, Any] = {}
    for node in doc.iter():
        if not isinstance(node.tag, str):
            continue
        node_id = node.get("id")
        if node_id and etree.QName(node).namespace == BPMN_NS:
            if node_id in ids:
                problems.append(Problem(node_id, "two elements have this id", name))
            ids[node_id] = node

    processes = doc.findall(_bpmn("process"))
    executable = [p for p in processes if p.get("isExecutable", "false").lower() == "true"]
    if not executable:
        if processes:
            problems.append(Problem(name, 'no process is marked executable (isExecutable="true")'))
        else:
            problems.append(Problem(name, "the file holds no process"))
        return []

    bundles_meta: list[tuple[Any, dict[str, Any], set[str], set[str]]] = []
    for process in executable:
        process_problems_before = len(problems)
        meta, used_decisions, used_forms = _check_process(
            process, ids, name, forms, resolve_role, evaluate_timer, problems
        )
        for decision_id, element_id in sorted(used_decisions):
            if decision_id not in decisions:
                problems.append(
                    Problem(element_id, f"calls decision '{decision_id}', which no DMN file defines", name)
                )
        if len(problems) == process_problems_before:
            bundles_meta.append((process, meta, {d for d, _ in used_decisions}, used_forms))
    if len(problems) > before:
        return []

    bundles: list[ProcessBundle] = []
    for process, meta, decision_ids, used_forms in bundles_meta:
        key = process.get("id")
        dmn_files = {decisions[d].file: decisions[d].text for d in decision_ids}
        specs = _parse_with_spiff(key, name, text, dmn_files, problems)
        if specs is None:
            continue
        meta["forms"] = {k: json.loads(form_texts[k][1]) for k in sorted(used_forms)}
        bundle_files = {name: text, **dmn_files, **{form_texts[k][0]: form_texts[k][1] for k in used_forms}}
        bundles.append(
            ProcessBundle(key=key, name=meta["process"]["name"], files=bundle_files, specs=specs, meta=meta)
        )
    return bundles


def _check_process(
    process: Any,
    ids: Mapping[str, Any],
    file: str,
    forms: Mapping[str, FormDefinition],
    resolve_role: RoleResolver,
    evaluate_timer: Callable[[str], Any] | None,
    problems: list[Problem],
) -> tuple[dict[str, Any], set[tuple[str, str]], set[str]]:
    key = process.get("id") or "process"
    props = _spiff_properties(process)
    own_ids = {n.get("id") for n in process.iter() if isinstance(n.tag, str) and n.get("id")}
    lanes = _lanes_of(process)
    used_decisions: set[tuple[str, str]] = set()
    used_forms: set[str] = set()
    elements: dict[str, str] = {}
    tasks: dict[str, dict[str, Any]] = {}

    def need_form(form_key: str, element_id: str) -> None:
        if form_key not in forms:
            problems.append(
                Problem(
                    element_id,
                    f"uses form '{form_key}', but no file forms/{form_key}{FORM_SUFFIX} exists",
                    file,
                )
            )
        else:
            used_forms.add(form_key)

    for node in process.iter():
        if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN_NS:
            continue
        tag = etree.QName(node).localname
        node_id = node.get("id") or ""
        if tag in _FLOW_NODE_TAGS:
            elements[node_id] = node.get("name") or node_id
        if tag == "sequenceFlow":
            for end in ("sourceRef", "targetRef"):
                ref = node.get(end)
                if not ref:
                    problems.append(Problem(node_id, f"the flow has no {end}", file))
                elif ref not in own_ids:
                    problems.append(
                        Problem(node_id, f"the flow points to '{ref}', which does not exist", file)
                    )
            condition = node.find(_bpmn("conditionExpression"))
            if condition is not None and (condition.text or "").strip():
                _check_expression(condition.text.strip(), "eval", node_id, "condition", file, problems)
        elif tag in _FLOW_NODE_TAGS:
            _check_node_is_connected(node, tag, node_id, process, file, problems)
        if tag == "boundaryEvent" and node.get("attachedToRef") not in own_ids:
            problems.append(
                Problem(node_id, "the boundary event is not attached to a task of this process", file)
            )
        if tag == "scriptTask":
            script = node.find(_bpmn("script"))
            if script is None or not (script.text or "").strip():
                problems.append(Problem(node_id, "the script task has no script", file))
            else:
                _check_expression(script.text, "exec", node_id, "script", file, problems)
        if tag == "businessRuleTask":
            called = None
            ext = node.find(_bpmn("extensionElements"))
            if ext is not None:
                ref = ext.find(f"{{{SPIFF_NS}}}calledDecisionId")
                called = ref.text.strip() if ref is not None and ref.text else None
            if called is None:
                problems.append(
                    Problem(node_id, "the business rule task names no decision (calledDecisionId)", file)
                )
            else:
                used_decisions.add((called, node_id))
        if tag in ("timeDate", "timeDuration", "timeCycle"):
            owner = node.getparent().getparent()
            owner_id = owner.get("id") if owner is not None else node_id
            _check_timer(tag, (node.text or "").strip(), owner_id, file, evaluate_timer, problems)
        if tag in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics"):
            owner_id = node.getparent().get("id") or node_id
            for sub in ("loopCardinality", "completionCondition", "loopCondition"):
                expr = node.find(_bpmn(sub))
                if expr is not None and (expr.text or "").strip():
                    _check_expression(expr.text.strip(), "eval", owner_id, sub, file, problems)
        if tag in _HUMAN_TASKS:
            tasks[node_id] = _check_human_task(node, node_id, lanes, file, resolve_role, need_form, problems)
        if tag == "callActivity" and not node.get("calledElement"):
            problems.append(Problem(node_id, "the call activity names no process (calledElement)", file))

    start_roles = [r.strip() for r in props.get("startRoles", "").split(",") if r.strip()]
    for role_name in start_roles:
        if resolve_role(role_name) is None:
            problems.append(Problem(key, f"startRoles names '{role_name}', which is not a known role", file))
    if not start_roles:
        starts = [n.get("id") for n in process.findall(_bpmn("startEvent"))]
        start_roles = sorted({lanes[s] for s in starts if lanes.get(s)})
    start_form = props.get("startForm")
    if start_form:
        need_form(start_form, key)
    if not process.findall(_bpmn("startEvent")):
        problems.append(Problem(key, "the process has no start event", file))

    meta: dict[str, Any] = {
        "process": {
            "key": key,
            "name": process.get("name") or key,
            "prefix": props.get("businessNumberPrefix") or _default_prefix(key),
            "start_form": start_form,
            "start_roles": [resolve_role(r) or r for r in start_roles],
            "properties": props,
        },
        "elements": elements,
        "tasks": tasks,
        "lanes": {element: resolve_role(lane) for element, lane in lanes.items()},
    }
    return meta, used_decisions, used_forms


def _default_prefix(key: str) -> str:
    letters = "".join(part[0] for part in re.split(r"[^A-Za-z0-9]+", key) if part).upper()
    return (letters or "CASE")[:4]


def _lanes_of(process: Any) -> dict[str, str]:
    """Map each flow node id to the name of the innermost lane holding it."""
    lanes: dict[str, str] = {}
    for lane in process.iter(_bpmn("lane")):
        for ref in lane.findall(_bpmn("flowNodeRef")):
            if ref.text:
                lanes[ref.text.strip()] = lane.get("name") or lane.get("id") or ""
    return lanes


def _check_node_is_connected(
    node: Any, tag: str, node_id: str, process: Any, file: str, problems: list[Problem]
) -> None:
    if tag in ("boundaryEvent", "startEvent") or node.getparent().tag != _bpmn("process"):
        return
    incoming = process.xpath(".//bpmn:sequenceFlow[@targetRef=$id]", namespaces={"bpmn": BPMN_NS}, id=node_id)
    if not incoming:
        problems.append(Problem(node_id, "nothing leads to this element (no incoming flow)", file))
    if tag != "endEvent":
        outgoing = process.xpath(
            ".//bpmn:sequenceFlow[@sourceRef=$id]", namespaces={"bpmn": BPMN_NS}, id=node_id
        )
        if not outgoing:
            problems.append(Problem(node_id, "the element leads nowhere (no outgoing flow)", file))


def _check_human_task(
    node: Any,
    node_id: str,
    lanes: Mapping[str, str],
    file: str,
    resolve_role: RoleResolver,
    need_form: Callable[[str, str], None],
    problems: list[Problem],
) -> dict[str, Any]:
    props = _spiff_properties(node)
    lane = lanes.get(node_id)
    role = resolve_role(lane) if lane else None
    if lane is None:
        problems.append(Problem(node_id, "the user task lies in no lane, so no role can do it", file))
    elif role is None:
        problems.append(Problem(node_id, f"the user task's lane '{lane}' names no known role", file))
    form_key = props.get("formKey") or None
    if form_key:
        need_form(form_key, node_id)
    for prop in ("dueTime", "assignee"):
        if props.get(prop):
            _check_expression(props[prop], "eval", node_id, prop, file, problems)
    return {
        "name": node.get("name") or node_id,
        "lane": lane,
        "role": role,
        "form": form_key,
        "due": props.get("dueTime") or None,
        "assignee": props.get("assignee") or None,
    }


def _check_expression(
    source: str, mode: str, element_id: str, what: str, file: str, problems: list[Problem]
) -> None:
    error = check_source(source, mode)
    if error:
        problems.append(Problem(element_id, f"the {what} is not allowed or does not compile: {error}", file))


def _check_timer(
    kind: str,
    expression: str,
    element_id: str,
    file: str,
    evaluate_timer: Callable[[str], Any] | None,
    problems: list[Problem],
) -> None:
    if not expression:
        problems.append(Problem(element_id, "the timer has no expression", file))
        return
    compile_error = check_source(expression, "eval")
    if compile_error:
        problems.append(Problem(element_id, f"the timer expression does not compile: {compile_error}", file))
        return
    if evaluate_timer is None or _free_names(expression) - TIMER_HELPERS:
        return  # depends on case data: it can only be evaluated when the timer starts
    try:
        value = evaluate_timer(expression)
        _check_timer_value(kind, value)
    except Exception as error:
        problems.append(Problem(element_id, f"the timer expression does not evaluate: {_plain(error)}", file))


TIMER_HELPERS = frozenset({"now", "today", "hours", "working_hours", "working_days"})


def _check_timer_value(kind: str, value: Any) -> None:
    if kind == "timeDate":
        if isinstance(value, datetime | date):
            return
        if not isinstance(value, str):
            raise ValueError(f"a timeDate must give a date-time, not {type(value).__name__}")
        TimerEventDefinition.get_datetime(value)
    elif kind == "timeDuration":
        if not isinstance(value, str) or not value.upper().startswith("P"):
            raise ValueError(f'a timeDuration must give an ISO 8601 duration such as "PT4H", not {value!r}')
        TimerEventDefinition.parse_iso_duration(value)
    else:
        if not isinstance(value, str) or not value.upper().startswith("R"):
            raise ValueError(
                f'a timeCycle must give an ISO 8601 repeating interval such as "R3/PT1H", not {value!r}'
            )
        TimerEventDefinition.parse_iso_recurring_interval(value)


def _free_names(expression: str) -> set[str]:
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _parse_with_spiff(
    key: str, name: str, text: str, dmn_files: Mapping[str, str], problems: list[Problem]
) -> ProcessSpecs | None:
    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_str(text.encode("utf-8"), filename=name)
        for dmn_name, dmn_text in dmn_files.items():
            parser.add_dmn_str(dmn_text.encode("utf-8"), filename=dmn_name)
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except Exception as error:  # every parser failure is reported, never raised
        problems.append(_problem_from_exception(error, name, default_id=key))
        return None
    return ProcessSpecs(spec=spec, subprocess_specs=dict(subprocess_specs))


def _problem_from_exception(error: Exception, file: str, default_id: str | None = None) -> Problem:
    element_id = getattr(error, "id", None) or default_id or file
    message = _plain(error)
    line = getattr(error, "line_number", None)
    if line:
        message = f"{message} (line {line})"
    return Problem(str(element_id), message, file)


def _plain(error: BaseException) -> str:
    text = str(getattr(error, "message", None) or error).strip() or type(error).__name__
    return text.splitlines()[0]
