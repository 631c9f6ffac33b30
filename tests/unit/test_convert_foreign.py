"""Diagrams from Camunda 7/Flowable/Zeebe rewritten into afterflow's conventions."""

from __future__ import annotations

import pytest

from engine.definitions.convert import convert_foreign, duration_to_due, juel_to_python
from engine.definitions.forms import parse_form
from tests.conftest import ROOT

CAMUNDA = (ROOT / "tests" / "fixtures" / "camunda" / "site_inspection.bpmn").read_text()


@pytest.mark.parametrize(
    ("juel", "python"),
    [
        ("${amount > 100}", "amount > 100"),
        ("${a == 'x' && !urgent}", "a == 'x' and not urgent"),
        ("${a eq 'x' or b ne 2}", "a == 'x' or b != 2"),
        ("#{empty remarks || done == true}", "not remarks or done == True"),
        ("${text == '&& not ||'}", "text == '&& not ||'"),
        ("${x != null}", "x != None"),
    ],
)
def test_plain_juel_conditions_become_python(juel: str, python: str) -> None:
    assert juel_to_python(juel) == python


@pytest.mark.parametrize(
    "juel",
    [
        "${execution.getVariable('a') > 1}",
        "${order.amount > 100}",
        "${a ? b : c}",
        "${items[0] == 1}",
        "amount > 100",
        "${a >}",
    ],
)
def test_juel_with_java_objects_or_not_juel_is_not_translated(juel: str) -> None:
    assert juel_to_python(juel) is None


@pytest.mark.parametrize(
    ("iso", "due"),
    [("P2D", "due_in(2, 'days')"), ("PT4H", "due_in(4, 'hours')"), ("P1DT12H", "due_in(36, 'hours')")],
)
def test_iso_durations_become_due_times(iso: str, due: str) -> None:
    assert duration_to_due(iso) == due


@pytest.mark.parametrize("value", ["2026-12-31T17:00:00", "${dueDate}", "P", "P1Y"])
def test_dates_and_expressions_are_not_durations(value: str) -> None:
    assert duration_to_due(value) is None


def test_a_camunda_diagram_gets_a_lane_a_form_a_due_time_and_python_conditions() -> None:
    report = convert_foreign({"site_inspection.bpmn": CAMUNDA}, known_forms={"repair_escalation"})
    text = report.files["site_inspection.bpmn"]
    assert "camunda:candidateGroups" not in text and "camunda:formKey" not in text
    assert '<bpmn:lane id="lane_service_supervisor_0" name="service_supervisor">' in text
    assert "<bpmn:flowNodeRef>Activity_inspect</bpmn:flowNodeRef>" in text
    assert '<spiffworkflow:property name="formKey" value="repair_escalation"/>' in text
    assert '<spiffworkflow:property name="dueTime" value="due_in(4, \'hours\')"/>' in text
    assert "action_taken == 'fixed' and not not action_taken" in text
    lines = [change.line() for change in report.changes]
    assert any("not converted: assignee 'demo'" in line for line in lines)
    assert sum(change.converted for change in report.changes) == 4


def test_an_unknown_form_is_reported_and_left_as_it_was() -> None:
    report = convert_foreign({"site_inspection.bpmn": CAMUNDA}, known_forms=set())
    assert (
        'camunda:formKey="embedded:app:forms/repair_escalation.form.json"'
        in report.files["site_inspection.bpmn"]
    )
    assert any(
        not c.converted and "no afterflow form 'repair_escalation'" in c.message for c in report.changes
    )


def test_files_without_foreign_settings_are_returned_unchanged() -> None:
    own = (ROOT / "diagrams" / "repair_service.bpmn").read_text()
    report = convert_foreign({"repair_service.bpmn": own, "broken.bpmn": "<not xml"})
    assert report.files == {"repair_service.bpmn": own, "broken.bpmn": "<not xml"}
    assert not report.changed


def test_an_assignee_or_a_single_candidate_user_becomes_the_assignee_expression() -> None:
    known = convert_foreign({"site_inspection.bpmn": CAMUNDA}, {"repair_escalation"}, known_users={"demo"})
    text = known.files["site_inspection.bpmn"]
    assert "camunda:assignee" not in text
    assert '<spiffworkflow:property name="assignee" value="\'demo\'"/>' in text
    assert any(c.converted and "assignee 'demo' → assignee 'demo'" in c.line() for c in known.changes)
    variable = CAMUNDA.replace('camunda:assignee="demo"', 'camunda:candidateUsers="${starter}"')
    text = convert_foreign({"s.bpmn": variable}, {"repair_escalation"}).files["s.bpmn"]
    assert '<spiffworkflow:property name="assignee" value="starter"/>' in text
    several = CAMUNDA.replace('camunda:assignee="demo"', 'camunda:candidateUsers="demo,sup1"')
    report = convert_foreign({"s.bpmn": several}, {"repair_escalation"}, known_users={"demo", "sup1"})
    assert 'name="assignee"' not in report.files["s.bpmn"]
    assert any(
        not c.converted and c.element_id == "Activity_inspect" and "candidateUsers 'demo,sup1'" in c.line()
        for c in report.changes
    )


EMBEDDED_FIELDS = (
    "<bpmn:extensionElements><camunda:formData>"
    '<camunda:formField id="action_taken" label="Action taken" type="enum" defaultValue="fixed">'
    '<camunda:value id="fixed" name="Fixed" /><camunda:value id="referred" name="Referred" />'
    '<camunda:validation><camunda:constraint name="required" /></camunda:validation></camunda:formField>'
    '<camunda:formField id="hours" label="工时" type="long" defaultValue="2" />'
    '<camunda:formField id="visited_on" label="Visited on" type="date" />'
    '<camunda:formField id="note" label="Note" type="string">'
    '<camunda:validation><camunda:constraint name="maxlength" config="20" /></camunda:validation>'
    "</camunda:formField>"
    '<camunda:formField id="photo" label="Photo" type="file" />'
    "</camunda:formData></bpmn:extensionElements>"
)


def embedded_camunda() -> str:
    text = CAMUNDA.replace(' camunda:formKey="embedded:app:forms/repair_escalation.form.json"', "")
    return text.replace(
        "<bpmn:incoming>Flow_start</bpmn:incoming>",
        EMBEDDED_FIELDS + "<bpmn:incoming>Flow_start</bpmn:incoming>",
        1,
    )


def test_embedded_camunda_form_fields_become_a_form_js_form_in_both_languages() -> None:
    report = convert_foreign({"site_inspection.bpmn": embedded_camunda()})
    diagram = report.files["site_inspection.bpmn"]
    assert "camunda:formData" not in diagram
    assert '<spiffworkflow:property name="formKey" value="activity_inspect"/>' in diagram
    form = parse_form("activity_inspect", report.files["activity_inspect.form.json"])
    fields = {f.key: f for f in form.fields}
    assert set(fields) == {"action_taken", "hours", "visited_on", "note"}
    assert fields["action_taken"].required and fields["action_taken"].type == "select"
    assert [value for value, *_ in fields["action_taken"].options] == ["fixed", "referred"]
    assert fields["hours"].type == "number" and fields["visited_on"].subtype == "date"
    raw = {c["key"]: c for c in form.raw["components"]}
    assert raw["action_taken"]["properties"]["label_en"] == "Action taken"
    assert "properties" not in raw["hours"]  # a Chinese label has no English text to take
    not_converted = [c.line() for c in report.changes if not c.converted]
    assert any("Activity_inspect" in line and "'photo' of type 'file'" in line for line in not_converted)
    assert any("Activity_inspect" in line and "constraint 'maxlength'" in line for line in not_converted)
