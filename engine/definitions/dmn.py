"""Check decision tables (DMN): versions, ids, inputs and outputs, and each rule's entries."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.definitions.documents import _Decision, _Document
from engine.definitions.expressions import _check_expression, _foreign_hint, _lowercase_literal, _quote
from engine.definitions.files import _is_element, _qname, _where
from engine.definitions.results import Problem, _problem_from_exception
from engine.definitions.vocabulary import HIT_POLICIES
from engine.sandbox import check_source


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
