"""Comparing two versions: elements added, removed and changed, by id, in BPMN, DMN and forms."""

from __future__ import annotations

import json

from engine.definitions.diff import compare_versions, diff_files
from engine.runtime import Engine
from tests.conftest import diagram_files
from tests.integration.test_version_migration import repair_v2


def test_the_same_files_differ_in_nothing() -> None:
    files = diagram_files()
    assert diff_files(files, files).empty


def test_an_added_step_and_its_rewired_flow() -> None:
    files = diagram_files()
    diff = diff_files(files, repair_v2(files))
    assert diff.ids("added") == {"task_parts_check", "flow_dispatch_arrival_task_parts_check"}
    assert diff.ids("removed") == set()
    (flow,) = diff.changed
    assert (flow.element_id, flow.fields) == ("flow_dispatch_arrival", ("flow",))
    added = {c.element_id: c for c in diff.added}
    assert (added["task_parts_check"].type, added["task_parts_check"].name) == ("userTask", "备件确认")


def test_changed_names_properties_conditions_scripts_timers_and_lanes_are_named() -> None:
    files = diagram_files()
    text = files["repair_service.bpmn"]
    edits = [
        ('name="派工"', 'name="派工安排"'),  # task_dispatch: name
        ('value="repair_dispatch"', 'value="repair_dispatch_v2"'),  # task_dispatch: formKey
        ("<bpmn:flowNodeRef>task_quote</bpmn:flowNodeRef>", ""),  # task_quote leaves its lane
    ]
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    diff = diff_files(files, {**files, "repair_service.bpmn": text})
    changed = {c.element_id: c.fields for c in diff.changed}
    assert set(changed["task_dispatch"]) == {"name", "properties"}
    assert changed["task_quote"] == ("lane",)


def test_conditions_scripts_and_timers(engine: Engine) -> None:
    files = diagram_files()
    text = files["repair_service.bpmn"]
    condition_start = text.index("<bpmn:conditionExpression")
    condition_end = text.index("</bpmn:conditionExpression>", condition_start)
    flow_id = text[:condition_start].rsplit('<bpmn:sequenceFlow id="', 1)[1].split('"', 1)[0]
    text = text[:condition_end] + " and True" + text[condition_end:]
    timer_start = text.index("<bpmn:timeDate")
    timer_id = text[:timer_start].rsplit('<bpmn:boundaryEvent id="', 1)[1].split('"', 1)[0]
    close = text.index("</bpmn:timeDate>", timer_start)
    text = text[:close] + " + 0" + text[close:]
    script_start = text.index("<bpmn:script>")
    script_id = text[:script_start].rsplit('<bpmn:scriptTask id="', 1)[1].split('"', 1)[0]
    text = (
        text[: script_start + len("<bpmn:script>")]
        + "x_extra = 1\n"
        + text[script_start + len("<bpmn:script>") :]
    )
    diff = diff_files(files, {**files, "repair_service.bpmn": text})
    changed = {c.element_id: c.fields for c in diff.changed}
    assert changed[flow_id] == ("condition",)
    assert changed[timer_id] == ("timer",)
    assert changed[script_id] == ("script",)


def test_decision_rules_and_form_fields_are_compared_too() -> None:
    files = diagram_files()
    dmn = files["sla_policy.dmn"].replace(
        '<outputEntry id="rule_repair_response_default_amount"><text>4</text>',
        '<outputEntry id="rule_repair_response_default_amount"><text>8</text>',
    )
    form = json.loads(files["repair_dispatch.form.json"])
    form["components"][0]["label"] = "技术员"
    del form["components"][-1]
    new = {**files, "sla_policy.dmn": dmn, "repair_dispatch.form.json": json.dumps(form, ensure_ascii=False)}
    diff = diff_files(files, new)
    changed = {c.element_id: (c.kind, c.fields) for c in diff.changed}
    assert changed["rule_repair_response_default"] == ("dmn", ("cells",))
    assert changed["field_technician"] == ("form", ("label", "name"))
    assert [c.kind for c in diff.removed] == ["form"]


def test_compare_two_deployed_versions(deployed: Engine) -> None:
    deployed.deploy(repair_v2(diagram_files()), deployed_by="owner1", change_summary="备件确认")
    with deployed.sessions() as session:
        diff = compare_versions(session, "repair_service", 1, 2)
        back = compare_versions(session, "repair_service", 2, 1)
    assert "task_parts_check" in diff.ids("added")
    assert "task_parts_check" in back.ids("removed")


def test_a_rule_change_names_the_column_and_both_values() -> None:
    files = diagram_files()
    dmn = files["sla_policy.dmn"].replace(
        '<outputEntry id="rule_repair_response_default_amount"><text>4</text>',
        '<outputEntry id="rule_repair_response_default_amount"><text>8</text>',
    )
    diff = diff_files(files, {**files, "sla_policy.dmn": dmn})
    (rule,) = diff.changed
    assert rule.details == ("时限: 4 → 8",)


def test_leaving_out_the_default_hit_policy_is_no_change() -> None:
    files = diagram_files()
    text = files["service_category.dmn"]
    implicit = text.replace(
        '<decisionTable id="table_service_category" hitPolicy="UNIQUE">',
        '<decisionTable id="table_service_category">',
    )
    assert implicit != text
    assert diff_files(files, {**files, "service_category.dmn": implicit}).empty
    first = text.replace('hitPolicy="UNIQUE"', 'hitPolicy="first"', 1)
    (table,) = diff_files(files, {**files, "service_category.dmn": first}).changed
    assert table.details == ("hitPolicy: UNIQUE → FIRST",)


def test_a_form_label_change_reads_old_to_new() -> None:
    files = diagram_files()
    form = json.loads(files["repair_dispatch.form.json"])
    old_label = form["components"][0]["label"]
    form["components"][0]["label"] = "技术员"
    diff = diff_files(files, {**files, "repair_dispatch.form.json": json.dumps(form, ensure_ascii=False)})
    (field,) = diff.changed
    assert f"label: {old_label} → 技术员" in field.details
