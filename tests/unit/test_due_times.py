"""Every user task of every diagram shows a due time (issue 14 item 6).

A user task's due time comes from its ``dueTime`` property: a limit the seeds give, or a
company-default row of ``sla_policy.dmn`` (its description says 公司默认值). The test walks the
diagrams; a user task without ``dueTime`` fails it unless it is listed below with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

DIAGRAMS = Path(__file__).resolve().parents[2] / "diagrams"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
DMN = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}

#: User tasks that show no due time yet, each with why. Nothing here may be a step the seeds
#: give a limit for; remove a line as soon as the step gets its ``dueTime``. Every step has one.
WITHOUT_DUE_TIME: dict[tuple[str, str], str] = {}


def user_tasks() -> list[tuple[str, str, dict[str, str]]]:
    found = []
    for path in sorted(DIAGRAMS.glob("*.bpmn")):
        tree = etree.parse(str(path))
        for task in tree.iterfind(".//bpmn:userTask", NS):
            props = {
                p.get("name"): p.get("value")
                for p in task.iterfind(
                    "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS
                )
            }
            found.append((path.stem, task.get("id"), props))
    return found


def policy_rows() -> dict[tuple[str, str], str]:
    """(process, stage) → the row's description, for every row of the policy table."""
    tree = etree.parse(str(DIAGRAMS / "sla_policy.dmn"))
    rows = {}
    for rule in tree.iterfind(".//dmn:rule", DMN):
        cells = [(e.text or "").strip("'") for e in rule.iterfind("dmn:inputEntry/dmn:text", DMN)]
        rows.setdefault((cells[0], cells[1]), rule.findtext("dmn:description", namespaces=DMN) or "")
    return rows


def test_every_user_task_has_a_due_time_or_a_stated_reason() -> None:
    missing = [(p, t) for p, t, props in user_tasks() if not props.get("dueTime")]
    assert sorted(set(missing) - set(WITHOUT_DUE_TIME)) == []
    assert (
        sorted(set(WITHOUT_DUE_TIME) - set(missing)) == []
    )  # a listed step that got a due time leaves the list


@pytest.mark.parametrize("process", ["repair_service", "sales_return", "recall", "complaint"])
def test_each_limit_a_step_reads_is_a_policy_row_citing_a_seed_or_marked_a_company_default(
    process: str,
) -> None:
    tree = etree.parse(str(DIAGRAMS / f"{process}.bpmn"))
    rows = policy_rows()
    seed = re.compile(r"\[(00[0-4]|SPEC)[^\]]*\]")
    for rule in tree.iterfind(".//bpmn:businessRuleTask", NS):
        if (
            rule.findtext("bpmn:extensionElements/spiffworkflow:calledDecisionId", namespaces=NS)
            != "sla_policy"
        ):
            continue
        script = rule.findtext("bpmn:extensionElements/spiffworkflow:preScript", namespaces=NS) or ""
        process_key = re.search(r"sla_process = '(\w+)'", script)
        stages = re.findall(r"(?<!== )'(\w+)'", script.split("sla_stage =", 1)[1].split("\n", 1)[0])
        assert process_key and stages, rule.get("id")
        for stage in stages:
            description = rows.get((process_key.group(1), stage))
            assert description is not None, f"{rule.get('id')}: no {process_key.group(1)}/{stage} row"
            assert seed.search(description) or "公司默认值" in description, (rule.get("id"), description)
