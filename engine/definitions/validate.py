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

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from engine.definitions.advisories import diagram_findings
from engine.definitions.bundle import _BundleBuilder
from engine.definitions.check import _ProcessChecker
from engine.definitions.dmn import _check_dmn_files
from engine.definitions.documents import _Document, _Form
from engine.definitions.files import _parse_xml, _qname
from engine.definitions.forms import FormProblem, parse_form
from engine.definitions.forms.languages import english_gaps
from engine.definitions.process_index import _index_processes, _report_files_without_process
from engine.definitions.results import Problem, ValidationResult, _plain
from engine.definitions.vocabulary import (
    _DMN_VERSIONS,
    BPMN_NS,
    DMN_NAMESPACES,
    FORM_SUFFIX,
    MAX_PROCESSES,
    RoleResolver,
    TimerEvaluator,
)
from engine.sandbox import SandboxLimits


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
    for form in forms.values():
        if form is not None:
            result.warnings.extend(
                Problem(element, message, form.file) for element, message in english_gaps(form.definition.raw)
            )
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
    for checked_process in checked.values():
        found, warned = diagram_findings(checked_process.process.node, checked_process.process.doc.name)
        problems.extend(found)
        result.warnings.extend(warned)
    _report_files_without_process(bpmn_docs, processes, checked, problems)
    if problems:
        return result
    readable = {key: form for key, form in forms.items() if form is not None}
    builder = _BundleBuilder(files, readable, decisions, processes, checked, problems)
    result.bundles = builder.build_all()
    if problems:
        result.bundles = []
    return result


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
