"""The repair service diagram (报修 → 派工 → 维修 → 验收 → 回访) runs every path of SPEC §4.

The diagram and its decision table are parsed with SpiffWorkflow's spiff parser and run
with a plain script engine whose helpers are simple stand-ins (the real sandboxed engine
is tested elsewhere). The workflow is saved and restored through the serializer at
every step, as the runtime does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from processes.roles import role_for_lane

DIAGRAMS = Path(__file__).resolve().parents[2] / "diagrams"
BPMN_FILE = DIAGRAMS / "repair_service.bpmn"
DMN_FILE = DIAGRAMS / "service_category.dmn"
FORMS = DIAGRAMS / "forms"
PROCESS_KEY = "repair_service"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
SHANGHAI = timezone(timedelta(hours=8))

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def _parse() -> tuple[Any, dict[str, Any]]:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(BPMN_FILE))
    parser.add_dmn_file(str(DMN_FILE))
    return parser.get_spec(PROCESS_KEY), parser.get_subprocess_specs(PROCESS_KEY)


SPEC, SUBPROCESS_SPECS = _parse()


def today_in_shanghai() -> date:
    """Stand-in for the engine's today(): the date in the company timezone."""
    return datetime.now(SHANGHAI).date()


def days_from_today(days: int) -> str:
    """An ISO date ``days`` from today (negative: in the past), as the start form sends it."""
    return (today_in_shanghai() + timedelta(days=days)).isoformat()


def helpers(offset: timedelta = timedelta(0)) -> dict[str, Callable[..., Any]]:
    """Stand-ins for the sandbox helpers; ``offset`` shifts every computed due time."""

    def now() -> datetime:
        return datetime.now(UTC)

    return {
        "now": now,
        "today": today_in_shanghai,
        "hours": lambda n: now() + timedelta(hours=n) + offset,
        "working_hours": lambda n: now() + timedelta(hours=n) + offset,
        "working_days": lambda n: now() + timedelta(days=n) + offset,
    }


class StandInScriptEngine(PythonScriptEngine):
    """Plain engine plus the documented timer contract: an aware datetime becomes an ISO string.

    SpiffWorkflow 3.2.0 calls ``.upper()`` on a timeDate expression's value, so a helper
    returning a datetime would crash the timer; docs/modelling.md promises that a timer
    expression may return an aware datetime, so the engine has to convert it.
    """

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        result = super().evaluate(task, expression, external_context)
        return result.isoformat() if isinstance(result, datetime) else result


def script_engine(offset: timedelta = timedelta(0)) -> StandInScriptEngine:
    return StandInScriptEngine(environment=TaskDataEnvironment(helpers(offset)))


def registration(**overrides: Any) -> dict[str, Any]:
    """Start-form data of a normal in-warranty request, with overrides."""
    data: dict[str, Any] = {
        "channel": "phone",
        "customer_name": "华东人民医院",
        "customer_phone": "021-5555-0101",
        "customer_address": "上海市徐汇区",
        "product_model": "XR-200",
        "serial_number": "SN-0001",
        "fault_description": "开机无显示",
        "urgency": "normal",
        "distance_band": "urban",
        "contract_in_force": False,
        "warranty_end": days_from_today(200),
        "cause": "normal",
    }
    data.update(overrides)
    return data


class RepairCase:
    """A running repair workflow, saved and restored through the serializer after every step."""

    def __init__(self, start_data: dict[str, Any], engine: StandInScriptEngine | None = None) -> None:
        self.engine = engine or script_engine()
        workflow = BpmnWorkflow(SPEC, SUBPROCESS_SPECS, script_engine=self.engine)
        (start,) = workflow.get_tasks(state=TaskState.READY)
        start.set_data(**start_data)
        self.workflow = workflow
        self.completed: list[tuple[str, str | None]] = []
        self.advance()

    def round_trip(self) -> None:
        workflow = SERIALIZER.deserialize_json(SERIALIZER.serialize_json(self.workflow))
        workflow.script_engine = self.engine
        self.workflow = workflow

    def advance(self) -> None:
        self.round_trip()
        self.workflow.do_engine_steps()
        self.round_trip()

    def ready(self) -> list[Any]:
        return self.workflow.get_tasks(state=TaskState.READY, manual=True)

    def ready_names(self) -> set[str]:
        return {task.task_spec.name for task in self.ready()}

    def complete(self, spec_name: str, **form_data: Any) -> Any:
        """Submit the form of the one ready user task ``spec_name`` and run the engine on."""
        matching = [task for task in self.ready() if task.task_spec.name == spec_name]
        assert len(matching) == 1, f"{spec_name} is not ready; ready: {sorted(self.ready_names())}"
        task = matching[0]
        task.task_spec.add_data_from_form(task, form_data)
        task.run()
        self.completed.append((spec_name, task.task_spec.lane))
        self.advance()
        return task

    @property
    def data(self) -> dict[str, Any]:
        """The case data: the workflow's once it has ended, else that of the first ready user task."""
        return self.workflow.data if self.workflow.is_completed() else self.ready()[0].data

    def reached_end_events(self) -> set[str]:
        return {
            task.task_spec.name
            for task in self.workflow.get_tasks(state=TaskState.COMPLETED)
            if task.task_spec.name.startswith("end_")
        }

    def waiting_timers(self) -> list[Any]:
        return [event for event in self.workflow.waiting_events() if "Time" in event.event_type]


SATISFIED = {
    "rating_attitude": "very_satisfied",
    "rating_technique": "satisfied",
    "rating_arrival_time": "satisfied",
    "rating_promises": "very_satisfied",
    "suggestions": "",
    "has_complaint": False,
}
REPAIRED = {
    "outcome": "fixed_on_site",
    "work_done": "更换电源板",
    "hours_spent": 2,
    "parts_replaced": "电源板 ×1",
    "customer_signed": True,
}


def dispatch_to_follow_up(case: RepairCase) -> None:
    """Dispatch, repair and pass acceptance at the first try."""
    case.complete("task_dispatch", technician="wang.tech", planned_arrival="", dispatch_notes="")
    case.complete("task_repair", **REPAIRED)
    case.complete("task_acceptance", accepted="yes", acceptance_notes="")


# --- the diagram as data -----------------------------------------------------------------


def bpmn_tree() -> Any:
    return etree.parse(str(BPMN_FILE))


def process_properties(tree: Any) -> dict[str, str]:
    nodes = tree.xpath(
        "/bpmn:definitions/bpmn:process[@id=$key]/bpmn:extensionElements/spiffworkflow:properties/"
        "spiffworkflow:property",
        namespaces=NS,
        key=PROCESS_KEY,
    )
    return {node.get("name"): node.get("value") for node in nodes}


def referenced_form_keys(tree: Any) -> set[str]:
    keys = {
        node.get("value")
        for node in tree.xpath("//bpmn:userTask//spiffworkflow:property[@name='formKey']", namespaces=NS)
    }
    keys.add(process_properties(tree)["startForm"])
    return keys


def load_form(key: str) -> dict[str, Any]:
    return json.loads((FORMS / f"{key}.form.json").read_text(encoding="utf-8"))


def test_process_carries_business_number_prefix_start_form_and_start_roles() -> None:
    tree = bpmn_tree()
    (process,) = tree.xpath("/bpmn:definitions/bpmn:process", namespaces=NS)
    assert process.get("id") == PROCESS_KEY
    assert process.get("name") == "维修服务"
    assert process.get("isExecutable") == "true"
    assert process_properties(tree) == {
        "businessNumberPrefix": "RO",
        "startForm": "repair_register",
        "startRoles": "customer_service",
    }


def test_every_user_task_lies_in_a_role_lane_and_names_a_form() -> None:
    user_tasks = [spec for spec in SPEC.task_specs.values() if spec.__class__.__name__ == "UserTask"]
    assert {spec.name for spec in user_tasks} == {
        "task_remote_guidance",
        "task_quote",
        "task_gm_approval",
        "task_dispatch",
        "task_dispatch_escalation",
        "task_repair",
        "task_invoice",
        "task_acceptance",
        "task_follow_up",
    }
    for spec in user_tasks:
        assert role_for_lane(spec.lane) is not None, f"{spec.name} lies in lane {spec.lane!r}"
        assert spec.extensions["properties"]["formKey"].startswith("repair_")
    properties = SPEC.task_specs["task_repair"].extensions["properties"]
    assert properties["assignee"] == "technician"
    assert properties["dueTime"] == "hours(24)"
    assert SPEC.task_specs["task_dispatch"].extensions["properties"]["dueTime"] == "working_days(2)"


def test_every_exclusive_gateway_branch_has_a_condition_or_is_the_default() -> None:
    tree = bpmn_tree()
    for gateway in tree.xpath("//bpmn:exclusiveGateway", namespaces=NS):
        flows = tree.xpath("//bpmn:sequenceFlow[@sourceRef=$id]", namespaces=NS, id=gateway.get("id"))
        if len(flows) < 2:
            continue
        for flow in flows:
            has_condition = bool(flow.xpath("bpmn:conditionExpression", namespaces=NS))
            assert has_condition or gateway.get("default") == flow.get("id"), flow.get("id")


def test_every_form_the_diagram_names_exists_with_unique_ids_and_keys() -> None:
    keys = referenced_form_keys(bpmn_tree())
    assert keys == {
        "repair_register",
        "repair_remote_guidance",
        "repair_quote",
        "repair_gm_approval",
        "repair_dispatch",
        "repair_escalation",
        "repair_work",
        "repair_invoice",
        "repair_acceptance",
        "repair_follow_up",
    }
    for key in sorted(keys):
        form = load_form(key)
        assert form["id"] == key
        assert form["type"] == "default"
        assert form["properties"]["title_zh"] and form["properties"]["title_en"]
        components = form["components"]
        ids = [component["id"] for component in components]
        field_keys = [component["key"] for component in components if "key" in component]
        assert len(ids) == len(set(ids)), f"duplicate component id in {key}"
        assert len(field_keys) == len(set(field_keys)), f"duplicate field key in {key}"
        for component in components:
            assert component["label"] and component["properties"]["label_en"], component["id"]
            for option in component.get("values", []):
                assert {"label", "value", "label_en"} <= option.keys(), component["id"]


def test_forms_supply_every_variable_the_diagram_and_decision_read() -> None:
    fields = {
        component["key"]
        for key in referenced_form_keys(bpmn_tree())
        for component in load_form(key)["components"]
        if "key" in component
    }
    read_by_diagram = {
        "urgency",
        "contract_in_force",
        "cause",
        "warranty_end",
        "solved_by_phone",
        "customer_accepts",
        "approved",
        "technician",
        "accepted",
        "rating_attitude",
        "rating_technique",
        "rating_arrival_time",
        "rating_promises",
    }
    assert read_by_diagram <= fields


def test_register_form_requires_the_fields_spec_makes_mandatory() -> None:
    components = {component["key"]: component for component in load_form("repair_register")["components"]}
    required = {key for key, component in components.items() if component.get("validate", {}).get("required")}
    assert required == {
        "customer_name",
        "customer_phone",
        "product_model",
        "fault_description",
        "urgency",
        "distance_band",
    }
    assert components["cause"]["defaultValue"] == "normal"


def test_dispatch_form_offers_the_technicians_by_role() -> None:
    (technician,) = [c for c in load_form("repair_dispatch")["components"] if c["key"] == "technician"]
    assert technician["type"] == "select"
    assert technician["properties"] == {"optionsFromRole": "technician", "label_en": "Technician"}
    assert "values" not in technician


def test_follow_up_form_is_the_four_by_four_satisfaction_card() -> None:
    components = {c["key"]: c for c in load_form("repair_follow_up")["components"]}
    for key in ("rating_attitude", "rating_technique", "rating_arrival_time", "rating_promises"):
        assert components[key]["type"] == "radio"
        assert components[key]["validate"]["required"] is True
        assert [(o["value"], o["label"]) for o in components[key]["values"]] == [
            ("very_satisfied", "非常满意"),
            ("satisfied", "满意"),
            ("average", "一般"),
            ("unsatisfied", "不满意"),
        ]


# --- the decision table ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "category"),
    [
        pytest.param({"contract_in_force": True}, "A", id="contract"),
        pytest.param(
            {"contract_in_force": True, "cause": "misuse", "warranty_end": ""}, "A", id="contract-first"
        ),
        pytest.param({}, "B", id="in-warranty"),
        pytest.param({"warranty_end": days_from_today(0)}, "B", id="warranty-ends-today"),
        pytest.param({"cause": "misuse"}, "C", id="misuse-in-warranty"),
        pytest.param({"cause": "modification"}, "C", id="modification-in-warranty"),
        pytest.param({"cause": "force_majeure"}, "C", id="force-majeure-in-warranty"),
        pytest.param({"warranty_end": days_from_today(-1)}, "C", id="warranty-expired"),
        pytest.param({"warranty_end": ""}, "C", id="no-warranty-end"),
    ],
)
def test_service_category_decision(overrides: dict[str, Any], category: str) -> None:
    case = RepairCase(registration(**overrides))
    assert case.ready_names() == {"task_remote_guidance"}
    assert case.data["service_category"] == category


# --- the paths ---------------------------------------------------------------------------


def test_phone_guidance_that_solves_the_fault_goes_straight_to_follow_up() -> None:
    case = RepairCase(registration())
    (guidance,) = case.ready()
    assert guidance.task_spec.lane == "客服专员"

    case.complete("task_remote_guidance", solved_by_phone="yes", guidance_notes="指导客户复位电源")
    assert case.ready_names() == {"task_follow_up"}
    case.complete("task_follow_up", **SATISFIED)

    assert case.workflow.is_completed()
    assert case.reached_end_events() == {"end_done"}
    assert case.completed == [("task_remote_guidance", "客服专员"), ("task_follow_up", "客服专员")]
    assert case.data["archived"] is True
    assert case.data["follow_up_unsatisfied"] is False


def test_free_warranty_repair_goes_back_to_repair_when_acceptance_fails() -> None:
    case = RepairCase(registration())
    assert case.data["service_category"] == "B"
    case.complete("task_remote_guidance", solved_by_phone="no", guidance_notes="")
    assert case.ready_names() == {"task_dispatch"}
    (timer,) = case.waiting_timers()
    assert datetime.fromisoformat(timer.value) > datetime.now(UTC)

    case.complete("task_dispatch", technician="wang.tech", planned_arrival="", dispatch_notes="")
    assert case.ready_names() == {"task_repair"}
    assert case.waiting_timers() == []
    case.complete("task_repair", **REPAIRED)
    assert case.ready_names() == {"task_acceptance"}
    case.complete("task_acceptance", accepted="no", acceptance_notes="客户未签字")
    assert case.ready_names() == {"task_repair"}
    case.complete("task_repair", **{**REPAIRED, "work_done": "补签服务凭证"})
    case.complete("task_acceptance", accepted="yes", acceptance_notes="")
    assert case.ready_names() == {"task_follow_up"}
    case.complete("task_follow_up", **{**SATISFIED, "rating_arrival_time": "unsatisfied"})

    assert case.workflow.is_completed()
    assert case.reached_end_events() == {"end_done"}
    assert case.completed == [
        ("task_remote_guidance", "客服专员"),
        ("task_dispatch", "服务主任"),
        ("task_repair", "技术员"),
        ("task_acceptance", "服务主任"),
        ("task_repair", "技术员"),
        ("task_acceptance", "服务主任"),
        ("task_follow_up", "客服专员"),
    ]
    assert case.data["follow_up_unsatisfied"] is True
    assert case.data["archived"] is True


def test_paid_service_refused_by_customer_and_general_manager_closes_as_declined() -> None:
    case = RepairCase(registration(cause="misuse"))
    assert case.data["service_category"] == "C"
    case.complete("task_remote_guidance", solved_by_phone="no", guidance_notes="")
    assert case.ready_names() == {"task_quote"}
    case.complete("task_quote", quoted_fee=800, customer_accepts="no")
    assert case.ready_names() == {"task_gm_approval"}
    case.complete("task_gm_approval", approved="no", comment="不符合免费条件")

    assert case.workflow.is_completed()
    assert case.reached_end_events() == {"end_declined"}
    assert case.completed == [
        ("task_remote_guidance", "客服专员"),
        ("task_quote", "客服专员"),
        ("task_gm_approval", "总经理"),
    ]


def test_paid_service_approved_by_general_manager_is_dispatched() -> None:
    case = RepairCase(registration(warranty_end=""))
    case.complete("task_remote_guidance", solved_by_phone="no", guidance_notes="")
    case.complete("task_quote", quoted_fee=800, customer_accepts="no")
    case.complete("task_gm_approval", approved="yes", comment="重点客户，特批")
    assert case.ready_names() == {"task_dispatch"}


def test_paid_service_accepted_by_customer_is_invoiced_before_acceptance() -> None:
    case = RepairCase(registration(warranty_end=days_from_today(-30)))
    assert case.data["service_category"] == "C"
    case.complete("task_remote_guidance", solved_by_phone="no", guidance_notes="")
    case.complete("task_quote", quoted_fee=800, customer_accepts="yes")
    assert case.ready_names() == {"task_dispatch"}
    case.complete("task_dispatch", technician="wang.tech", planned_arrival="", dispatch_notes="")
    case.complete("task_repair", **REPAIRED)
    assert case.ready_names() == {"task_invoice"}
    case.complete("task_invoice", amount=800, invoice_number="No.00012345", collected=True)
    assert case.ready_names() == {"task_acceptance"}
    case.complete("task_acceptance", accepted="yes", acceptance_notes="")
    case.complete("task_follow_up", **SATISFIED)

    assert case.reached_end_events() == {"end_done"}
    assert [lane for _name, lane in case.completed] == [
        "客服专员",
        "客服专员",
        "服务主任",
        "技术员",
        "会计员",
        "服务主任",
        "客服专员",
    ]


def test_contract_service_skips_quote_and_invoice() -> None:
    case = RepairCase(registration(contract_in_force=True, warranty_end="", urgency="emergency"))
    assert case.data["service_category"] == "A"
    case.complete("task_remote_guidance", solved_by_phone="no", guidance_notes="")
    assert case.ready_names() == {"task_dispatch"}
    dispatch_to_follow_up(case)
    case.complete("task_follow_up", **SATISFIED)

    assert case.reached_end_events() == {"end_done"}
    assert [name for name, _lane in case.completed] == [
        "task_remote_guidance",
        "task_dispatch",
        "task_repair",
        "task_acceptance",
        "task_follow_up",
    ]


def test_late_dispatch_opens_an_escalation_without_cancelling_the_dispatch() -> None:
    # Every due time lies in the past, so the boundary timer is due as soon as it is armed.
    case = RepairCase(registration(urgency="emergency"), engine=script_engine(offset=-timedelta(hours=5)))
    case.complete("task_remote_guidance", solved_by_phone="no", guidance_notes="")
    assert case.ready_names() == {"task_dispatch", "task_dispatch_escalation"}
    lanes = {task.task_spec.name: task.task_spec.lane for task in case.ready()}
    assert lanes == {"task_dispatch": "服务主任", "task_dispatch_escalation": "服务主任"}

    case.complete("task_dispatch_escalation", action_taken="电话致歉并改派就近技术员")
    assert case.ready_names() == {"task_dispatch"}
    assert not case.workflow.is_completed()
    dispatch_to_follow_up(case)
    case.complete("task_follow_up", **SATISFIED)

    assert case.workflow.is_completed()
    assert case.reached_end_events() == {"end_escalation", "end_done"}
