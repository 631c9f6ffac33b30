"""Read BPMN, DMN and form files, check them, and turn each executable process into a bundle.

Validation collects *every* problem, each tied to an element id and phrased for a process
owner, and never lets an exception from a parser escape as a traceback: whatever a file
holds — a diagram from another modelling tool, an HTML page, a file with entity tricks — the
answer is a list of problems or a set of deployable bundles.

The order of the work: read every file (XML without DOCTYPEs or entities, forms as form-js
JSON), check the decision tables, index every process of every BPMN file, check each
executable process and every process it calls, and only when nothing is wrong hand the
files to SpiffWorkflow's parser to build the specs.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.forms import FormDefinition, FormProblem, parse_form
from engine.sandbox import SandboxLimits, check_source
from engine.serialization import ProcessSpecs

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)
FORM_SUFFIX = ".form.json"
MAX_FILE_BYTES = 5 * 1024 * 1024
#: The DMN hit policies afterflow runs, and the one SpiffWorkflow's DMN engine evaluates each
#: with: its UNIQUE stops at the first matching rule, which is exactly DMN's FIRST.
HIT_POLICIES = {"FIRST": "UNIQUE", "UNIQUE": "UNIQUE", "COLLECT": "COLLECT"}
#: Helpers a timer expression may use and still be evaluated at deploy time.
TIMER_HELPERS = frozenset({"now", "today", "hours", "working_hours", "working_days", "due_in"})
#: Column sizes of the tables the values end up in.
MAX_KEY_LENGTH = 128
MAX_NAME_LENGTH = 256
MAX_PREFIX_LENGTH = 8
#: SpiffWorkflow's parser takes time growing with the square of a process's size: beyond this
#: many elements a deploy would hang instead of answering.
MAX_FLOW_NODES = 1500
#: Each executable process is stored with all its files: a cap keeps one deploy reasonable.
MAX_PROCESSES = 100

RoleResolver = Callable[[str | None], str | None]
TimerEvaluator = Callable[[str], Any]

_HUMAN_TASKS = {"userTask": "user task", "manualTask": "manual task", "task": "task"}
_SUBPROCESS_TAGS = ("subProcess", "transaction", "adHocSubProcess")
_FLOW_NODE_TAGS = frozenset(
    {
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
    }
)
_UNSUPPORTED = {
    "complexGateway": "complex gateways are not supported; use an inclusive or a parallel gateway",
}
_PYTHON_SCRIPT_FORMATS = frozenset({"", "python", "python3", "text/x-python", "application/x-python"})
_DMN_VERSIONS = {
    "20211108": "1.4",
    "20230324": "1.5",
}


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the files, tied to the element (or file) it concerns."""

    element_id: str
    message: str
    file: str | None = None

    def line(self) -> str:
        """Render as ``element_id: message`` on one line."""
        where = f" ({self.file})" if self.file and self.file != self.element_id else ""
        return _one_line(f"{self.element_id}: {self.message}{where}")


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


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- reading files ---------------------------------------------------------------------------


def collect_files(paths: Iterable[str | Path]) -> tuple[dict[str, str], list[Problem]]:
    """Read ``*.bpmn``, ``*.dmn`` and ``*.form.json`` files from files and folders (recursively)."""
    files: dict[str, str] = {}
    problems: list[Problem] = []
    for raw in paths:
        for candidate in _candidates(Path(raw), problems):
            text = _read_text(candidate, problems)
            if text is None:
                continue
            if candidate.name in files:
                problems.append(
                    Problem(candidate.name, "two files have this name; file names must be unique")
                )
                continue
            files[candidate.name] = text
    return files, problems


def _candidates(path: Path, problems: list[Problem]) -> list[Path]:
    try:
        if path.is_dir():
            return sorted(p for p in path.rglob("*") if p.is_file() and _is_model_file(p.name))
        if path.is_file():
            if not _is_model_file(path.name):
                problems.append(Problem(path.name, "not a .bpmn, .dmn or .form.json file"))
                return []
            return [path]
    except OSError as error:
        problems.append(Problem(str(path), f"the folder cannot be read: {error.strerror or error}"))
        return []
    problems.append(Problem(str(path), "no such file or folder"))
    return []


def _read_text(path: Path, problems: list[Problem]) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            problems.append(Problem(path.name, "the file is larger than 5 MB"))
            return None
        data = path.read_bytes()
    except OSError as error:
        problems.append(Problem(path.name, f"the file cannot be read: {error.strerror or error}"))
        return None
    text = _decode(data)
    if text is None:
        problems.append(Problem(path.name, "the file is not UTF-8 text"))
    return text


def _decode(data: bytes) -> str | None:
    """Decode UTF-8 (a byte order mark is dropped) or UTF-16 with a byte order mark."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _is_model_file(name: str) -> bool:
    return name.endswith((".bpmn", ".dmn", FORM_SUFFIX))


_DOCTYPE = re.compile(r"<!(DOCTYPE|ENTITY)\b", re.IGNORECASE)
_HTML = re.compile(
    r"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html)\b", re.IGNORECASE | re.DOTALL
)
_FIRST_ELEMENT = re.compile(r"<[A-Za-z_]")
_LINE_COLUMN = re.compile(r",? line \d+, column \d+$")


def _parse_xml(name: str, text: str, problems: list[Problem]) -> Any | None:
    """Parse XML safely (no DTD, no entities, no network); report why a file cannot be read."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        problems.append(Problem(name, "the file is empty"))
        return None
    if _HTML.match(text):
        problems.append(Problem(name, "the file is an HTML page, not a diagram; export the diagram as XML"))
        return None
    if _DOCTYPE.search(_prolog(text)):
        problems.append(
            Problem(
                name,
                "the file declares a DOCTYPE or entities, which afterflow refuses to read "
                "(they can expand to huge or secret content); remove the <!DOCTYPE ...> part",
            )
        )
        return None
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        encoding="utf-8",
    )
    try:
        return etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as error:
        problems.append(Problem(name, _xml_error_message(error)))
    except (ValueError, TypeError) as error:
        problems.append(Problem(name, f"the file cannot be read as XML: {_plain(error)}"))
    return None


def _prolog(text: str) -> str:
    """The text before the root element (where a DOCTYPE and its entities would be)."""
    first = _FIRST_ELEMENT.search(text)
    return text[: first.start()] if first else text


def _xml_error_message(error: etree.XMLSyntaxError) -> str:
    detail = _LINE_COLUMN.sub("", str(error.msg or error).strip())
    if "Excessive depth" in detail:
        detail = "elements are nested more than 256 levels deep"
    line = f" (line {error.lineno})" if error.lineno else ""
    return f"the file is not well-formed XML{line}: {detail}"


def _qname(node: Any) -> tuple[str, str]:
    name = etree.QName(node)
    return name.namespace or "", name.localname


def _is_element(node: Any) -> bool:
    return isinstance(node.tag, str)


def _where(node: Any) -> str:
    """Name an element that has no id: its tag and line."""
    return f"{_qname(node)[1]} on line {node.sourceline}"


# --- validation entry point --------------------------------------------------------------------


def validate_files(
    files: Mapping[str, str],
    resolve_role: RoleResolver,
    evaluate_timer: TimerEvaluator | None = None,
    limits: SandboxLimits | None = None,
) -> ValidationResult:
    """Check every file and build a bundle per executable process; collect all problems."""
    result = ValidationResult()
    problems = result.problems
    if not files:
        problems.append(Problem("files", "nothing to deploy: no .bpmn, .dmn or .form.json files"))
        return result
    forms = _read_forms(files, problems)
    dmn_docs = _read_documents(files, ".dmn", _dmn_namespace, problems)
    bpmn_docs = _read_documents(files, ".bpmn", _bpmn_namespace, problems)
    decisions = _check_dmn_files(dmn_docs, problems)
    processes = _index_processes(bpmn_docs, problems)
    executable = sum(1 for p in processes.values() if p.executable)
    if executable > MAX_PROCESSES:
        problems.append(
            Problem(
                "files",
                f"the files hold {executable} executable processes; one deploy takes at most {MAX_PROCESSES}",
            )
        )
        return result
    checker = _ProcessChecker(
        forms, decisions, processes, resolve_role, evaluate_timer, problems, limits or SandboxLimits()
    )
    checked = checker.check_all()
    _report_files_without_process(bpmn_docs, processes, checked, problems)
    if problems:
        return result
    readable = {key: form for key, form in forms.items() if form is not None}
    builder = _BundleBuilder(files, readable, decisions, processes, checked, problems)
    result.bundles = builder.build_all()
    if problems:
        result.bundles = []
    return result


# --- forms -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Form:
    file: str
    text: str
    definition: FormDefinition


def _read_forms(files: Mapping[str, str], problems: list[Problem]) -> dict[str, _Form | None]:
    """Every form by key; a form file with problems is there as None (its problems are reported)."""
    forms: dict[str, _Form | None] = {}
    for name, text in files.items():
        if not name.endswith(FORM_SUFFIX):
            continue
        key = Path(name).name[: -len(FORM_SUFFIX)]
        forms[key] = None
        try:
            forms[key] = _Form(name, text, parse_form(key, text.lstrip("\ufeff")))
        except FormProblem as problem:
            problems.extend(Problem(key, msg, name) for msg in problem.problems)
        except Exception as error:  # a form-js construct the form parser did not expect
            problems.append(Problem(key, f"the form cannot be read: {_plain(error)}", name))
    return forms


# --- XML documents -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Document:
    name: str
    text: str
    root: Any
    namespace: str


def _read_documents(
    files: Mapping[str, str],
    suffix: str,
    namespace_of: Callable[[str, Any, list[Problem]], str | None],
    problems: list[Problem],
) -> dict[str, _Document]:
    docs: dict[str, _Document] = {}
    for name, text in files.items():
        if not name.endswith(suffix):
            continue
        root = _parse_xml(name, text, problems)
        if root is None:
            continue
        namespace = namespace_of(name, root, problems)
        if namespace is not None:
            docs[name] = _Document(name, text, root, namespace)
    return docs


def _bpmn_namespace(name: str, root: Any, problems: list[Problem]) -> str | None:
    namespace, local = _qname(root)
    if local == "definitions" and namespace == BPMN_NS:
        return namespace
    if local == "definitions" and "/DMN/" in namespace:
        message = "the file is a DMN decision table, not a BPMN diagram; name it .dmn"
    elif local == "definitions" and "BPMN" in namespace.upper():
        message = (
            f"the file uses the namespace {namespace}, not the BPMN 2.0 namespace {BPMN_NS}; "
            "export the diagram as BPMN 2.0 XML"
        )
    elif "xpdl" in namespace.lower():
        message = "the file is an XPDL package, not a BPMN 2.0 diagram; export the diagram as BPMN 2.0 XML"
    else:
        message = (
            f"not a BPMN 2.0 diagram: the root element is <{local}>, "
            f"not <definitions> in the namespace {BPMN_NS}"
        )
    problems.append(Problem(name, message))
    return None


def _dmn_namespace(name: str, root: Any, problems: list[Problem]) -> str | None:
    namespace, local = _qname(root)
    if local == "definitions" and namespace in DMN_NAMESPACES:
        return namespace
    version = next((v for stamp, v in _DMN_VERSIONS.items() if stamp in namespace), None)
    if local == "definitions" and version:
        message = f"DMN {version} is not supported; save the decision table as DMN 1.3 (or 1.1/1.2)"
    elif local == "definitions" and namespace == BPMN_NS:
        message = "the file is a BPMN diagram, not a DMN decision table; name it .bpmn"
    else:
        message = (
            f"not a DMN 1.1–1.3 decision table: the root element is <{local}> "
            f"in the namespace {namespace or '(none)'}"
        )
    problems.append(Problem(name, message))
    return None


# --- DMN ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Decision:
    file: str
    text: str
    root: Any


def _check_dmn_files(docs: Mapping[str, _Document], problems: list[Problem]) -> dict[str, _Decision]:
    decisions: dict[str, _Decision] = {}
    for doc in docs.values():
        before = len(problems)
        ns = doc.namespace
        found = doc.root.findall(f"{{{ns}}}decision")
        if not found:
            problems.append(Problem(doc.name, "the DMN file holds no decision"))
        elif len(found) > 1:
            ids = ", ".join(d.get("id") or "?" for d in found)
            problems.append(
                Problem(
                    doc.name,
                    f"the DMN file holds {len(found)} decisions ({ids}); afterflow reads one decision "
                    "per file, so put each decision table in a file of its own",
                )
            )
        for decision in found:
            _check_decision(decision, ns, doc.name, decisions, problems)
        spiff_root = _dmn_for_spiff(doc.root, ns)
        if len(problems) == before:
            _parse_dmn_with_spiff(doc.name, spiff_root, problems)
        for decision in found:
            if decision.get("id"):
                decisions.setdefault(decision.get("id"), _Decision(doc.name, doc.text, spiff_root))
    return decisions


def _check_decision(
    decision: Any, ns: str, file: str, decisions: Mapping[str, _Decision], problems: list[Problem]
) -> None:
    decision_id = decision.get("id")
    if not decision_id:
        problems.append(Problem(_where(decision), "the decision has no id", file))
        return
    if decision_id in decisions:
        problems.append(
            Problem(decision_id, f"the decision id is also used in {decisions[decision_id].file}", file)
        )
    table = decision.find(f"{{{ns}}}decisionTable")
    if table is None:
        kind = "a literal expression" if decision.find(f"{{{ns}}}literalExpression") is not None else "empty"
        problems.append(
            Problem(decision_id, f"the decision is {kind}; afterflow runs decision tables only", file)
        )
        return
    _check_decision_table(decision_id, table, ns, file, problems)


def _check_decision_table(decision_id: str, table: Any, ns: str, file: str, problems: list[Problem]) -> None:
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    if policy not in HIT_POLICIES:
        problems.append(
            Problem(decision_id, f"hit policy {policy} is not supported (use FIRST, UNIQUE or COLLECT)", file)
        )
    inputs = table.findall(f"{{{ns}}}input")
    outputs = table.findall(f"{{{ns}}}output")
    for column in [table, *inputs, *outputs]:
        if not column.get("id"):
            problems.append(
                Problem(decision_id, f"the {_qname(column)[1]} on line {column.sourceline} has no id", file)
            )
    if not outputs:
        problems.append(Problem(decision_id, "the decision table has no output column", file))
    for inp in inputs:
        text = _child_text(inp.find(f"{{{ns}}}inputExpression"), ns, "text")
        if text:
            _check_expression(text, "eval", inp.get("id") or decision_id, "input expression", file, problems)
    for index, rule in enumerate(table.findall(f"{{{ns}}}rule"), start=1):
        _check_rule(rule, index, decision_id, len(inputs), len(outputs), ns, file, problems)


def _check_rule(
    rule: Any,
    index: int,
    decision_id: str,
    inputs: int,
    outputs: int,
    ns: str,
    file: str,
    problems: list[Problem],
) -> None:
    rule_id = rule.get("id")
    if not rule_id:
        problems.append(Problem(f"{decision_id} rule {index}", "the rule has no id", file))
        rule_id = f"{decision_id} rule {index}"
    in_entries = rule.findall(f"{{{ns}}}inputEntry")
    out_entries = rule.findall(f"{{{ns}}}outputEntry")
    if len(in_entries) != inputs or len(out_entries) != outputs:
        problems.append(
            Problem(
                rule_id,
                f"the rule has {len(in_entries)} input and {len(out_entries)} output cells, "
                f"but the table has {inputs} input and {outputs} output columns",
                file,
            )
        )
    for entry in [*in_entries, *out_entries]:
        if not entry.get("id"):
            problems.append(Problem(rule_id, f"the cell on line {entry.sourceline} has no id", file))
    for entry in in_entries:
        text = (_child_text(entry, ns, "text") or "").strip()
        if text and text != "-":
            _check_dmn_input_entry(text, rule_id, file, problems)
    for entry in out_entries:
        text = (_child_text(entry, ns, "text") or "").strip()
        if text:
            _check_expression(text, "eval", rule_id, "output cell", file, problems)


def _check_dmn_input_entry(text: str, rule_id: str, file: str, problems: list[Problem]) -> None:
    # Mirror SpiffWorkflow's DMNEngine: '?' stands for the input value; otherwise the entry is
    # compared with '==' if it parses alone, or appended to the input ("> 5").
    if "?" in text:
        candidate = re.sub(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)", "dmninputexpr", text)
    elif check_source(text, "eval") is None:
        candidate = f"(dmninputexpr) == ({text})"
    else:
        candidate = f"dmninputexpr {text}"
    error = check_source(candidate, "eval")
    if error is None:
        error = _lowercase_literal(text)
    if error is None:
        return
    hint = _foreign_hint(text)
    if hint:
        message = f"the input cell {_quote(text)} is not a Python expression afterflow can run ({hint})"
    else:
        message = f"the input cell {_quote(text)} is not a valid expression: {error}"
    problems.append(Problem(rule_id, message, file))


def _dmn_for_spiff(root: Any, ns: str) -> Any:
    """A copy SpiffWorkflow's DMN parser reads: DMN as the default namespace, only the columns it knows."""
    nsmap = {prefix: uri for prefix, uri in root.nsmap.items() if prefix not in (None, "dmn")}
    nsmap[None] = ns
    spiff_root = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=nsmap)
    for child in root:
        spiff_root.append(copy.deepcopy(child))
    for table in spiff_root.iter(f"{{{ns}}}decisionTable"):
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        if policy in HIT_POLICIES:
            table.set("hitPolicy", HIT_POLICIES[policy])
        for child in list(table):
            if not _is_element(child) or _qname(child)[1] not in ("input", "output", "rule"):
                table.remove(child)
    return spiff_root


def _parse_dmn_with_spiff(name: str, root: Any, problems: list[Problem]) -> None:
    parser = SpiffBpmnParser()
    try:
        parser.add_dmn_xml(copy.deepcopy(root), filename=name)
        for dmn_parser in parser.dmn_parsers.values():
            dmn_parser.parse()
    except Exception as error:  # the parser's own errors vary by type; all become problems
        problems.append(_problem_from_exception(error, name))


def _child_text(node: Any, ns: str, tag: str) -> str | None:
    if node is None:
        return None
    child = node.find(f"{{{ns}}}{tag}")
    return child.text if child is not None else None


# --- BPMN: the process index -------------------------------------------------------------------


@dataclass(frozen=True)
class _Process:
    key: str
    doc: _Document
    node: Any
    executable: bool


def _bpmn(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _index_processes(docs: Mapping[str, _Document], problems: list[Problem]) -> dict[str, _Process]:
    """Every process of every BPMN file by id; report ids used twice and elements without ids."""
    processes: dict[str, _Process] = {}
    for doc in docs.values():
        _check_ids(doc, problems)
        for node in doc.root.findall(_bpmn("process")):
            key = node.get("id")
            if not key:
                problems.append(
                    Problem(_where(node), "the process has no id (the id is its process key)", doc.name)
                )
                continue
            if key in processes:
                other = processes[key].doc.name
                where = "elsewhere in this file" if other == doc.name else f"in {other}"
                problems.append(Problem(key, f"the process id is also used {where}", doc.name))
                continue
            executable = (node.get("isExecutable") or "false").strip().lower() == "true"
            processes[key] = _Process(key, doc, node, executable)
    return processes


def _check_ids(doc: _Document, problems: list[Problem]) -> None:
    seen: set[str] = set()
    for node in doc.root.iter():
        if not _is_element(node):
            continue
        namespace, local = _qname(node)
        if namespace != BPMN_NS:
            continue
        node_id = node.get("id")
        if node_id is None:
            if local in _FLOW_NODE_TAGS or local == "sequenceFlow":
                problems.append(Problem(_where(node), "the element has no id; give it one", doc.name))
            continue
        if node_id in seen:
            problems.append(Problem(node_id, "two elements have this id", doc.name))
        seen.add(node_id)
        if len(node_id) > MAX_NAME_LENGTH and local in _FLOW_NODE_TAGS:
            problems.append(
                Problem(node_id[:40] + "…", f"the id is longer than {MAX_NAME_LENGTH} characters", doc.name)
            )


def _report_files_without_process(
    docs: Mapping[str, _Document],
    processes: Mapping[str, _Process],
    checked: Mapping[str, _CheckedProcess],
    problems: list[Problem],
) -> None:
    for doc in docs.values():
        in_file = [p for p in processes.values() if p.doc is doc]
        if any(p.key in checked for p in in_file):
            continue
        if in_file:
            message = 'no process is marked executable (isExecutable="true"), so there is nothing to run'
        elif doc.root.find(_bpmn("process")) is None:
            message = "the file holds no process"
        else:
            continue  # its processes were reported already (no id, duplicate id)
        problems.append(Problem(doc.name, message))


# --- BPMN: checking a process ------------------------------------------------------------------


@dataclass
class _CheckedProcess:
    process: _Process
    meta: dict[str, Any]
    decisions: set[str] = field(default_factory=set)
    forms: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)


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
        self.forms = forms
        self.decisions = decisions
        self.processes = processes
        self.resolve_role = resolve_role
        self.evaluate_timer = evaluate_timer
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
                tasks[node_id] = self._check_human_task(node, local, node_id, lanes, file, result)
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
            self._check_script_task(node, node_id, file)
        elif local == "businessRuleTask":
            self._check_business_rule_task(node, node_id, file, result)
        elif local == "serviceTask":
            self._check_service_task(node, node_id, file)
        elif local == "callActivity":
            self._check_call_activity(node, node_id, file, result)
        elif local in ("timeDate", "timeDuration", "timeCycle"):
            owner = node.getparent().getparent()
            owner_id = (owner.get("id") if owner is not None else None) or node_id
            self._check_timer(local, node.text or "", owner_id, file)
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

    def _check_script_task(self, node: Any, node_id: str, file: str) -> None:
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

    def _check_business_rule_task(self, node: Any, node_id: str, file: str, result: _CheckedProcess) -> None:
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

    def _check_service_task(self, node: Any, node_id: str, file: str) -> None:
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

    def _check_call_activity(self, node: Any, node_id: str, file: str, result: _CheckedProcess) -> None:
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

    # -- timers --

    def _check_timer(self, kind: str, expression: str, element_id: str, file: str) -> None:
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

    # -- people --

    def _check_human_task(
        self,
        node: Any,
        local: str,
        node_id: str,
        lanes: Mapping[str, str | None],
        file: str,
        result: _CheckedProcess,
    ) -> dict[str, Any]:
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
            self._need_form(form_key, node_id, file, result)
        else:
            self._check_vendor_form(node, node_id, file)
        for prop in ("dueTime", "assignee", "title"):
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
        }

    def _check_vendor_form(self, node: Any, node_id: str, file: str) -> None:
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

    def _need_form(self, form_key: str, element_id: str, file: str, result: _CheckedProcess) -> None:
        if form_key in self.forms:
            result.forms.add(form_key)  # a broken form file is reported on its own
        else:
            self._add(
                element_id, f"uses form '{form_key}', but no file forms/{form_key}{FORM_SUFFIX} exists", file
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
            self._need_form(start_form, key, file, result)
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


# --- expressions -------------------------------------------------------------------------------


def _check_expression(
    source: str,
    mode: str,
    element_id: str,
    what: str,
    file: str,
    problems: list[Problem],
    limits: SandboxLimits | None = None,
) -> bool:
    """Report an expression or script the sandbox would refuse; return whether it is fine."""
    message = _expression_problem(source, mode, what, limits)
    if message is None:
        return True
    problems.append(Problem(element_id, message, file))
    return False


def _expression_problem(source: str, mode: str, what: str, limits: SandboxLimits | None = None) -> str | None:
    source = source.strip() if mode == "eval" else source
    error = check_source(source, mode, limits)
    if error is None:
        lowercase = _lowercase_literal(source) if mode == "eval" else None
        return f"the {what} {_quote(source)} {lowercase}" if lowercase else None
    hint = _foreign_hint(source) if not _parses(source, mode) else None
    if hint:
        return f"the {what} {_quote(source)} is not a Python expression afterflow can run ({hint})"
    return f"the {what} is not allowed or does not compile: {error}"


_JUEL = re.compile(r"^\s*[$#]\{(?P<inner>.*)\}\s*$", re.DOTALL)
_FEEL_MARKERS = re.compile(
    r"\.\.|\bthen\b|\bnull\b|\btrue\b|\bfalse\b|date and time\(|\bduration\(|\bsatisfies\b|\binstance of\b"
)
_BARE_ISO = re.compile(
    r"^(R\d*/)?(P(?=\d|T\d)[\dYMWDTHS.,]*|\d{4}-\d{2}-\d{2}(T[\d:.]+)?(Z|[+-]\d{2}:?\d{2})?)(/\S*)?$",
    re.IGNORECASE,
)
_LOWERCASE_LITERALS = {"true": "True", "false": "False", "null": "None"}


def _foreign_hint(source: str) -> str | None:
    """Say which other tool's expression language an expression that is not Python looks like."""
    juel = _JUEL.match(source)
    if juel:
        return _suggest(
            "a JUEL expression, as Camunda 7, Flowable and Activiti write them", juel.group("inner")
        )
    stripped = source.strip()
    if stripped.startswith("="):
        return _suggest("a FEEL expression, as Camunda 8 writes them", stripped[1:])
    if _FEEL_MARKERS.search(source):
        return "it looks like FEEL, the expression language of Camunda and other tools; write it in Python"
    return None


def _suggest(kind: str, inner: str) -> str:
    inner = inner.strip()
    if (
        inner
        and check_source(inner, "eval") is None
        and _lowercase_literal(inner) is None
        and not _calls(inner)
    ):
        return f"it looks like {kind}; write the Python expression itself: {inner}"
    return f"it looks like {kind}; write it as a Python expression"


def _lowercase_literal(source: str) -> str | None:
    for name in sorted(_free_names(source) & _LOWERCASE_LITERALS.keys()):
        return f"uses '{name}', which Python writes {_LOWERCASE_LITERALS[name]}"
    return None


def _calls(expression: str) -> bool:
    """Whether an expression calls a function (another tool's functions are not afterflow's)."""
    try:
        return any(isinstance(n, ast.Call) for n in ast.walk(ast.parse(expression, mode="eval")))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def _literal_number(text: str) -> int | None:
    """The whole number ``text`` spells (digits only, so reading it costs nothing), else None."""
    stripped = text.strip().replace("_", "")
    if not stripped.isascii() or not stripped.isdigit():
        return None
    return int(stripped) if len(stripped) <= 18 else 10**18


def _parses(source: str, mode: str) -> bool:
    try:
        ast.parse(source, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _free_names(expression: str) -> set[str]:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _quote(source: str, limit: int = 60) -> str:
    text = _one_line(source)
    return f"'{text if len(text) <= limit else text[: limit - 1] + '…'}'"


def _check_timer_value(kind: str, value: Any) -> None:
    if kind == "timeDate":
        if isinstance(value, datetime | date):
            return
        if not isinstance(value, str) or not isinstance(_parse_moment(value), datetime):
            raise ValueError(
                f'a timeDate must give a date-time such as "2026-01-31T09:00:00+08:00", not {value!r}'
            )
    elif kind == "timeDuration":
        if not isinstance(value, str) or not value.upper().startswith("P") or _parse_moment(value) is None:
            raise ValueError(f'a timeDuration must give an ISO 8601 duration such as "PT4H", not {value!r}')
    else:
        if not isinstance(value, str) or not value.upper().startswith("R") or not _is_recurring(value):
            raise ValueError(
                f'a timeCycle must give an ISO 8601 repeating interval such as "R3/PT1H", not {value!r}'
            )


def _parse_moment(value: str) -> Any:
    """What SpiffWorkflow makes of a timer string (a datetime or a duration), or None."""
    try:
        return TimerEventDefinition.parse_time_or_duration(value)
    except Exception:
        return None


def _is_recurring(value: str) -> bool:
    try:
        TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:
        return False
    return True


# --- bundles -----------------------------------------------------------------------------------


class _BundleBuilder:
    """Turn checked executable processes into bundles, parsing them with SpiffWorkflow."""

    def __init__(
        self,
        files: Mapping[str, str],
        forms: Mapping[str, _Form],
        decisions: Mapping[str, _Decision],
        processes: Mapping[str, _Process],
        checked: Mapping[str, _CheckedProcess],
        problems: list[Problem],
    ) -> None:
        self.files = files
        self.forms = forms
        self.decisions = decisions
        self.processes = processes
        self.checked = checked
        self.problems = problems

    def build_all(self) -> list[ProcessBundle]:
        """A bundle per executable process (none when SpiffWorkflow refuses the files)."""
        parser = self._parser()
        if parser is None:
            return []
        bundles = []
        for key, item in self.checked.items():
            if item.process.executable:
                bundle = self.build(parser, key)
                if bundle is not None:
                    bundles.append(bundle)
        return bundles

    def _parser(self) -> SpiffBpmnParser | None:
        """One parser holding every checked BPMN file and every decision they call."""
        parser = SpiffBpmnParser()
        before = len(self.problems)
        docs = {item.process.doc.name: item.process.doc for item in self.checked.values()}
        for name, doc in docs.items():
            _add_to_parser(
                parser.add_bpmn_xml, etree.ElementTree(_without_broken_bounds(doc.root)), name, self.problems
            )
        for decision_id in sorted({d for item in self.checked.values() for d in item.decisions}):
            decision = self.decisions[decision_id]
            _add_to_parser(parser.add_dmn_xml, copy.deepcopy(decision.root), decision.file, self.problems)
        return parser if len(self.problems) == before else None

    def build(self, parser: SpiffBpmnParser, key: str) -> ProcessBundle | None:
        """The bundle of one process: its file, the files of the processes it calls, its decisions and forms."""
        closure = self._call_closure(key)
        specs = _specs(parser, key, self.processes[key].doc.name, self.problems)
        if specs is None:
            return None
        docs = {self.processes[k].doc.name: self.processes[k].doc for k in closure}
        decision_ids = sorted({d for k in closure for d in self.checked[k].decisions})
        form_keys = sorted({f for k in closure for f in self.checked[k].forms})
        meta = self._meta(key, closure, form_keys)
        bundle_files = {name: doc.text for name, doc in docs.items()}
        bundle_files.update({self.decisions[d].file: self.decisions[d].text for d in decision_ids})
        bundle_files.update({self.forms[f].file: self.forms[f].text for f in form_keys})
        return ProcessBundle(
            key=key, name=meta["process"]["name"], files=bundle_files, specs=specs, meta=meta
        )

    def _call_closure(self, key: str) -> list[str]:
        order: list[str] = []
        pending = [key]
        while pending:
            current = pending.pop(0)
            if current in order:
                continue
            order.append(current)
            pending.extend(sorted(self.checked[current].calls))
        return order

    def _meta(self, key: str, closure: list[str], form_keys: list[str]) -> dict[str, Any]:
        meta = copy.deepcopy(self.checked[key].meta)
        for called in closure[1:]:
            for part in ("elements", "tasks", "lanes", "element_properties", "attached_to"):
                for element, value in self.checked[called].meta[part].items():
                    meta[part].setdefault(element, value)
        meta["forms"] = {k: json.loads(self.forms[k].text.lstrip("\ufeff")) for k in form_keys}
        return meta


def _add_to_parser(add: Callable[..., Any], document: Any, file: str, problems: list[Problem]) -> None:
    try:
        add(document, filename=file)
    except Exception as error:  # every parser failure is reported, never raised
        problems.append(_problem_from_exception(error, file))


def _specs(parser: SpiffBpmnParser, key: str, file: str, problems: list[Problem]) -> ProcessSpecs | None:
    try:
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except Exception as error:  # every parser failure is reported, never raised
        problems.append(_problem_from_exception(error, file, default_id=key))
        return None
    return ProcessSpecs(spec=spec, subprocess_specs=dict(subprocess_specs))


def _without_broken_bounds(root: Any) -> Any:
    """A copy whose diagram shapes have numeric positions (SpiffWorkflow reads them as floats)."""
    root = copy.deepcopy(root)
    for bounds in root.iter(f"{{{DC_NS}}}Bounds"):
        for attr in ("x", "y"):
            if attr in bounds.attrib and not _is_finite(bounds.get(attr)):
                del bounds.attrib[attr]
    return root


def _is_finite(value: str | None) -> bool:
    try:
        return math.isfinite(float(value or ""))
    except ValueError:
        return False


def _problem_from_exception(error: Exception, file: str, default_id: str | None = None) -> Problem:
    element_id = getattr(error, "id", None) or default_id or file
    if isinstance(error, RecursionError) or "maximum recursion depth" in str(error):
        return Problem(
            str(element_id),
            "the process has too many steps in a row for afterflow's parser (a few hundred at most); "
            "split it into subprocesses or called processes",
            file,
        )
    message = _plain(error)
    if isinstance(error, KeyError | IndexError | AttributeError | TypeError):
        message = f"the file could not be read ({type(error).__name__}: {message})"
    line = getattr(error, "line_number", None) or getattr(error, "sourceline", None)
    if line:
        message = f"{message} (line {line})"
    return Problem(str(element_id), message, file)


def _plain(error: BaseException) -> str:
    text = str(getattr(error, "message", None) or error).strip() or type(error).__name__
    return _one_line(text.splitlines()[0])
