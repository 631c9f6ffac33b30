"""Hand checked files to SpiffWorkflow's parser and build one bundle per executable process."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.definitions.documents import _CheckedProcess, _Decision, _Form, _Process
from engine.definitions.results import Problem, ProcessBundle, _problem_from_exception
from engine.definitions.vocabulary import DC_NS
from engine.store.serialization import ProcessSpecs


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
