"""The repair service diagrams as data: structure, SLA wiring, forms and layout (SPEC §4).

The diagrams are parsed with SpiffWorkflow's spiff parser and validated against the BPMN
schema, and read as XML for what afterflow takes from them (lanes, properties, timers,
messages, the diagram interchange). Running the paths through the engine is the job of
tests/scenarios/test_repair.py and tests/scenarios/test_sla_calendar.py.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from processes.handlers.follow_ups import add_months, next_follow_up, warranty_end_of
from processes.records.models import Product
from processes.roles import role_for_lane

DIAGRAMS = Path(__file__).resolve().parents[2] / "diagrams"
FORMS = DIAGRAMS / "forms"
REPAIR = DIAGRAMS / "repair_service.bpmn"
RECURRING = (DIAGRAMS / "periodic_follow_up.bpmn", DIAGRAMS / "contract_renewal.bpmn")
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
DMN_NS = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
DUE = "due_in(sla_amount, sla_unit)"
SEED = re.compile(r"\[(SPEC §\d[^\]]*|00[0-4][^\]]*)\]")
FLOW_NODES = (
    "startEvent",
    "endEvent",
    "userTask",
    "serviceTask",
    "scriptTask",
    "businessRuleTask",
    "exclusiveGateway",
    "boundaryEvent",
    "intermediateThrowEvent",
    "subProcess",
)


def parse(path: Path) -> tuple[Any, dict[str, Any]]:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(path))
    parser.add_dmn_files([str(DIAGRAMS / "service_category.dmn"), str(DIAGRAMS / "sla_policy.dmn")])
    key = path.stem
    return parser.get_spec(key), parser.get_subprocess_specs(key)


SPEC, _SUBPROCESSES = parse(REPAIR)
TREE = etree.parse(str(REPAIR))


def xpath(expression: str, tree: Any = TREE, **variables: Any) -> list[Any]:
    return list(tree.xpath(expression, namespaces=NS, **variables))


def node(element_id: str, tree: Any = TREE) -> Any:
    (found,) = xpath("//*[@id=$id]", tree, id=element_id)
    return found


def properties(element: Any) -> dict[str, str]:
    nodes = element.xpath(
        "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NS
    )
    return {n.get("name"): n.get("value") for n in nodes}


def extension(element: Any, tag: str) -> str | None:
    found = element.xpath(f"bpmn:extensionElements/spiffworkflow:{tag}", namespaces=NS)
    return found[0].text if found else None


def load_form(key: str) -> dict[str, Any]:
    return json.loads((FORMS / f"{key}.form.json").read_text(encoding="utf-8"))


def form_keys(tree: Any) -> set[str]:
    keys = {n.get("value") for n in xpath("//spiffworkflow:property[@name='formKey']", tree)}
    keys.update(n.get("value") for n in xpath("//spiffworkflow:property[@name='startForm']", tree))
    return keys


def field_keys(tree: Any) -> set[str]:
    return {c["key"] for key in form_keys(tree) for c in load_form(key)["components"] if "key" in c}


# --- the process -----------------------------------------------------------------------------


def test_process_carries_business_number_prefix_start_form_and_start_roles() -> None:
    (process,) = xpath("/bpmn:definitions/bpmn:process")
    assert (process.get("id"), process.get("name"), process.get("isExecutable")) == (
        "repair_service",
        "维修服务",
        "true",
    )
    assert properties(process) == {
        "businessNumberPrefix": "RO",
        "startForm": "repair_register",
        "startRoles": "customer_service",
        "name_en": "Repair service",
    }


USER_TASKS = {
    "task_register_portal": "customer_service",
    "task_remote_guidance": "customer_service",
    "task_response_escalation": "service_supervisor",
    "task_quote": "customer_service",
    "task_gm_approval": "general_manager",
    "task_dispatch": "service_supervisor",
    "task_dispatch_escalation": "service_supervisor",
    "task_arrival": "technician",
    "task_arrival_escalation": "service_supervisor",
    "task_repair": "technician",
    "task_workshop_repair": "technician",
    "task_loaner": "service_supervisor",
    "task_repair_late": "service_supervisor",
    "task_parts_return": "technician",
    "task_acceptance": "service_supervisor",
    "task_invoice": "accountant",
    "task_follow_up": "customer_service",
}


def test_every_user_task_lies_in_its_role_lane_with_a_form() -> None:
    specs = {
        spec.name: spec
        for spec in [
            *SPEC.task_specs.values(),
            *(s for sub in _SUBPROCESSES.values() for s in sub.task_specs.values()),
        ]
        if spec.__class__.__name__ == "UserTask"
    }
    assert {name: role_for_lane(spec.lane) for name, spec in specs.items()} == USER_TASKS
    for name in USER_TASKS:
        props = properties(node(name))
        assert props["formKey"].startswith("repair_"), name
        assert (props.get("assignee") == "technician") is (USER_TASKS[name] == "technician"), name


def test_every_exclusive_gateway_branch_has_a_condition_or_is_the_default() -> None:
    for tree in (TREE, *(etree.parse(str(p)) for p in RECURRING)):
        for gateway in xpath("//bpmn:exclusiveGateway", tree):
            flows = xpath("//bpmn:sequenceFlow[@sourceRef=$id]", tree, id=gateway.get("id"))
            if len(flows) < 2:
                continue
            for flow in flows:
                has_condition = bool(flow.xpath("bpmn:conditionExpression", namespaces=NS))
                assert has_condition or gateway.get("default") == flow.get("id"), flow.get("id")


def test_the_archive_lookup_feeds_the_category_decision() -> None:
    lookup = node("service_product_lookup")
    (operator,) = lookup.xpath("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=NS)
    assert (operator.get("id"), operator.get("resultVariable")) == ("product_lookup", "product")
    assert [(p.get("id"), p.get("value")) for p in operator.iter(f"{{{NS['spiffworkflow']}}}parameter")] == [
        ("serial_number", "serial_number or ''")
    ]
    order = [
        f.get("targetRef")
        for f in xpath("//bpmn:sequenceFlow")
        if f.get("sourceRef") in ("start", "service_product_lookup", "script_prefill")
    ]
    assert order == ["service_product_lookup", "script_prefill", "decide_category"]
    assert extension(node("decide_category"), "calledDecisionId") == "service_category"


# --- SLAs ------------------------------------------------------------------------------------

#: boundary timer -> (sla stage, the element it watches, its timeDate expression)
SLA_TIMERS = {
    "timer_response_late": ("response", "task_remote_guidance", DUE),
    "timer_dispatch_late": ("dispatch", "task_dispatch", "dispatch_due"),
    "timer_arrival_late": ("arrival", "task_arrival", "arrival_due"),
    "timer_loaner_late": ("loaner", "task_loaner", "loaner_due"),
    "timer_repair_late": ("repair", "sub_repair", "repair_due"),
    "timer_acceptance_late": ("acceptance", "task_acceptance", DUE),
    "timer_invoice_late": ("invoice", "task_invoice", DUE),
    "timer_follow_up_late": ("follow_up", "task_follow_up", DUE),
}
#: business rule task -> (stage, key expression, the element it times or the variable it stores)
SLA_RULES = {
    "sla_arrival": ("arrival", "distance_band", "arrival_due"),
    # 重点客户 is a class of customer, not an urgency [001 4.1]: a non-emergency key customer's row.
    "sla_response": (
        "response",
        "'key_customer' if key_customer and urgency != 'emergency' else urgency",
        "task_remote_guidance",
    ),
    "sla_portal_response": ("response", "'normal'", "task_register_portal"),
    "sla_dispatch": ("dispatch", "urgency", "dispatch_due"),
    "sla_repair": ("repair", "fault_level", "repair_due"),
    "sla_loaner": ("loaner", "urgency", "sub_repair"),
    "sla_loaner_provide": ("loaner_provide", "urgency", "loaner_due"),
    "sla_parts_return": ("parts_return", "urgency", "parts_return_due"),
    "sla_acceptance": ("acceptance", "urgency", "task_acceptance"),
    "sla_invoice": ("invoice", "urgency", "task_invoice"),
    "sla_follow_up": ("follow_up", "urgency", "task_follow_up"),
    # Steps without a limit in the seeds are due by company-default rows (issue 14 item 6).
    "sla_quote": ("quote", "urgency", "quote_due"),
    "sla_gm_approval": ("gm_approval", "urgency", "approval_due"),
    "sla_response_escalation": ("escalation", "urgency", "escalation_due"),
    "sla_dispatch_escalation": ("dispatch_escalation", "urgency", "escalation_due"),
    "sla_arrival_escalation": ("escalation", "urgency", "escalation_due"),
    "sla_repair_late": ("escalation", "urgency", "escalation_due"),
}


def policy_stages() -> set[tuple[str, str]]:
    tree = etree.parse(str(DIAGRAMS / "sla_policy.dmn"))
    stages = set()
    for rule in tree.xpath("//dmn:rule", namespaces=DMN_NS):
        cells = [e.text or "" for e in rule.xpath("dmn:inputEntry/dmn:text", namespaces=DMN_NS)]
        stages.add((cells[0].strip("'"), cells[1].strip("'")))
    return stages


#: Boundary timers that trigger work without being a limit (no ``sla``, no breach).
TRIGGERS = {"timer_loaner": ("sub_repair", DUE)}
#: Limits counted from an earlier moment than the rule task's (dispatch: from acceptance, or from
#: the fee confirmation out of warranty; an emergency's dispatch is then due no later than its arrival).
COUNTED_FROM = {"sla_dispatch": "fee_confirmed_at or accepted_at"}
#: Rules whose stage depends on the case: out of warranty, a confirmed fee starts the 24 hours
#: to set out [004 5.2.1.5] instead of the dispatch limit from acceptance [001 第九条（二）].
STAGE_CHOICES = {
    "sla_dispatch": (
        "'departure' if service_category == 'C' and customer_accepts == 'yes' else 'dispatch'",
        ("departure", "dispatch"),
    )
}


def test_every_sla_timer_is_non_interrupting_named_and_cites_its_rule() -> None:
    timers = {t.get("id"): t for t in xpath("//bpmn:boundaryEvent")}
    assert set(timers) == set(SLA_TIMERS) | set(TRIGGERS)
    for timer_id, (host, expression) in TRIGGERS.items():
        assert timers[timer_id].get("attachedToRef") == host
        assert "sla" not in properties(timers[timer_id]), f"{timer_id} is a trigger, not a limit"
        (time_date,) = timers[timer_id].xpath("bpmn:timerEventDefinition/bpmn:timeDate", namespaces=NS)
        assert time_date.text == expression, timer_id
    for timer_id, (stage, host, expression) in SLA_TIMERS.items():
        timer = timers[timer_id]
        assert timer.get("cancelActivity") == "false", timer_id
        assert timer.get("attachedToRef") == host, timer_id
        named = {k: v for k, v in properties(timer).items() if k != "name_en"}
        assert named == {"sla": stage}, timer_id
        (time_date,) = timer.xpath("bpmn:timerEventDefinition/bpmn:timeDate", namespaces=NS)
        assert time_date.text == expression, timer_id
        assert SEED.search(timer.findtext("bpmn:documentation", namespaces=NS) or ""), timer_id
        if node(host).tag.endswith("userTask"):
            assert properties(node(host))["dueTime"] == expression, f"{host} is due when {timer_id} fires"
        (escalation,) = xpath("//bpmn:sequenceFlow[@sourceRef=$id]", id=timer_id)
        target = node(escalation.get("targetRef"))
        if target.tag.endswith("userTask"):
            assert USER_TASKS[target.get("id")] == "service_supervisor", timer_id


def test_every_sla_limit_comes_from_the_policy_table() -> None:
    stages = policy_stages()
    rules = {
        r.get("id"): r
        for r in xpath("//bpmn:businessRuleTask")
        if extension(r, "calledDecisionId") == "sla_policy"
    }
    assert set(rules) == set(SLA_RULES)
    for rule_id, (stage, key, target) in SLA_RULES.items():
        rule = rules[rule_id]
        expression, choices = STAGE_CHOICES.get(rule_id, (f"'{stage}'", (stage,)))
        assert (
            extension(rule, "preScript")
            == f"sla_process = 'repair'\nsla_stage = {expression}\nsla_key = {key}"
        )
        for choice in choices:
            assert ("repair", choice) in stages, f"the policy table has no repair/{choice} row"
        assert SEED.search(rule.findtext("bpmn:documentation", namespaces=NS) or ""), rule_id
        if rule_id in COUNTED_FROM:
            start = COUNTED_FROM[rule_id]
            assert f"{target} = due_from({start}, sla_amount, sla_unit).isoformat()" in extension(
                rule, "postScript"
            )
        elif target.endswith("_due"):
            assert extension(rule, "postScript") == f"{target} = due_in(sla_amount, sla_unit).isoformat()"
        else:  # the limit is read by the very next element, before another rule overwrites it
            (flow,) = xpath("//bpmn:sequenceFlow[@sourceRef=$id]", id=rule_id)
            assert flow.get("targetRef") == target, rule_id


def test_the_loaner_task_and_the_parts_return_are_due_by_the_policy_table() -> None:
    assert properties(node("task_loaner"))["dueTime"] == "loaner_due"
    assert properties(node("task_parts_return"))["dueTime"] == "parts_return_due"


# --- the linked complaint ----------------------------------------------------------------------


def test_a_request_from_the_portal_starts_at_customer_services_registration() -> None:
    (message,) = xpath("/bpmn:definitions/bpmn:message[@name='portal_repair_request']")
    start = node("start_portal")
    (definition,) = start.xpath("bpmn:messageEventDefinition", namespaces=NS)
    assert definition.get("messageRef") == message.get("id")
    register = properties(node("task_register_portal"))
    assert register["formKey"] == "repair_register"  # the same checks as a registration by phone
    (flow,) = xpath("//bpmn:sequenceFlow[@sourceRef='task_register_portal']")
    assert flow.get("targetRef") == "service_product_lookup"


def test_a_complaint_throws_the_repair_complaint_message_with_the_case_facts() -> None:
    messages = {m.get("name"): m for m in xpath("/bpmn:definitions/bpmn:message")}
    assert set(messages) == {"repair_complaint", "repair_unrepairable", "portal_repair_request"}
    message = messages["repair_complaint"]
    throw = node("throw_complaint")
    assert throw.tag == f"{{{NS['bpmn']}}}intermediateThrowEvent"
    (definition,) = throw.xpath("bpmn:messageEventDefinition", namespaces=NS)
    assert definition.get("messageRef") == message.get("id")
    (payload,) = definition.xpath("bpmn:extensionElements/spiffworkflow:messagePayload", namespaces=NS)
    keys = set(re.findall(r'^    "(\w+)":', payload.text, flags=re.M))
    assert keys == {
        "customer_name",
        "customer_phone",
        "customer_address",
        "product_model",
        "serial_number",
        "repair_order",
        "technician",
        "complaint_text",
        "complaint_category",
        "ratings",
        "source",
    }
    (flow,) = xpath("//bpmn:sequenceFlow[@targetRef='throw_complaint']")
    assert flow.findtext("bpmn:conditionExpression", namespaces=NS) == "complaint_raised"


def test_archiving_writes_the_service_history() -> None:
    (operator,) = node("service_archive").xpath(
        "bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=NS
    )
    assert operator.get("id") == "record_service_history"
    params = {p.get("id"): p.get("value") for p in operator.iter(f"{{{NS['spiffworkflow']}}}parameter")}
    assert params == {"serial_number": "serial_number or ''", "summary": "service_summary"}
    (flow,) = xpath("//bpmn:sequenceFlow[@sourceRef='service_archive']")
    assert flow.get("targetRef") == "end_done"


# --- forms -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [REPAIR, *RECURRING], ids=lambda p: p.stem)
def test_every_form_a_diagram_names_exists_with_unique_ids_keys_and_labels(path: Path) -> None:
    for key in sorted(form_keys(etree.parse(str(path)))):
        form = load_form(key)
        assert form["id"] == key and form["type"] == "default"
        assert form["properties"]["title_zh"] and form["properties"]["title_en"]
        ids = [c["id"] for c in form["components"]]
        keys = [c["key"] for c in form["components"] if "key" in c]
        assert len(ids) == len(set(ids)) and len(keys) == len(set(keys)), key
        for component in form["components"]:
            assert component["label"] and component["properties"]["label_en"], component["id"]
            for option in component.get("values", []):
                assert {"label", "value", "label_en"} <= option.keys(), component["id"]


def test_forms_supply_every_variable_the_diagram_reads() -> None:
    read = {
        "urgency",
        "distance_band",
        "contract_in_force",
        "cause",
        "warranty_end",
        "serial_number",
        "solved_by_phone",
        "customer_accepts",
        "approved",
        "technician",
        "fault_level",
        "outcome",
        "parts_borrowed",
        "workshop_parts_borrowed",
        "accepted",
        "rating_attitude",
        "rating_technique",
        "rating_arrival_time",
        "rating_promises",
        "has_complaint",
        "complaint_category",
        "suggestions",
        "customer_name",
        "customer_phone",
        "customer_address",
        "product_model",
        "guidance_notes",
        "work_done",
        "workshop_work_done",
        "parts_replaced",
    }
    assert read <= field_keys(TREE)


def test_register_form_requires_what_spec_makes_mandatory() -> None:
    components = {c["key"]: c for c in load_form("repair_register")["components"]}
    required = {k for k, c in components.items() if c.get("validate", {}).get("required")}
    assert required == {
        "customer_name",
        "customer_phone",
        "product_model",
        "fault_description",
        "urgency",
        "distance_band",
    }
    assert components["cause"]["defaultValue"] == "normal"
    assert [o["value"] for o in components["distance_band"]["values"]] == [
        "urban",
        "suburban",
        "within_300km",
        "within_1000km",
        "over_1000km",
        "remote",
    ]


def test_dispatch_form_offers_the_technicians_by_name() -> None:
    (technician,) = [c for c in load_form("repair_dispatch")["components"] if c["key"] == "technician"]
    assert technician["type"] == "select" and technician["validate"]["required"] is True
    assert technician["properties"]["optionsFromRole"] == "technician" and "values" not in technician


def test_arrival_form_grades_the_fault_for_the_repair_limit() -> None:
    (level,) = [c for c in load_form("repair_arrival")["components"] if c["key"] == "fault_level"]
    assert [o["value"] for o in level["values"]] == ["minor", "complex"]
    assert level["validate"]["required"] is True


def test_follow_up_form_is_the_four_by_four_card_with_the_complaint_categories() -> None:
    components = {c["key"]: c for c in load_form("repair_follow_up")["components"]}
    for key in ("rating_attitude", "rating_technique", "rating_arrival_time", "rating_promises"):
        assert components[key]["type"] == "radio" and components[key]["validate"]["required"] is True
        assert [(o["value"], o["label"]) for o in components[key]["values"]] == [
            ("very_satisfied", "非常满意"),
            ("satisfied", "满意"),
            ("average", "一般"),
            ("unsatisfied", "不满意"),
        ]
    assert [o["value"] for o in components["complaint_category"]["values"]] == [
        "non_quality",
        "technician_negligence",
        "technician_attitude",
        "slow_repair",
        "price_too_high",
        "repair_quality",
        "product_quality",
    ]


def test_the_follow_up_and_the_complaint_forms_share_one_list_of_complaint_categories() -> None:
    """One list [001 客户投诉 分类], so a follow-up complaint is counted under the same category."""
    lists = {
        form: [
            (o["value"], o["label"], o["label_en"])
            for c in load_form(form)["components"]
            if c.get("key") == "complaint_category"
            for o in c["values"]
        ]
        for form in ("repair_follow_up", "complaint_receive", "complaint_intake")
    }
    assert lists["repair_follow_up"] == lists["complaint_receive"] == lists["complaint_intake"]


# --- the diagram as a picture ----------------------------------------------------------------------


def bounds(tree: Any, element_id: str) -> tuple[float, float, float, float]:
    (shape,) = xpath("//bpmndi:BPMNShape[@bpmnElement=$id]/dc:Bounds", tree, id=element_id)
    return tuple(float(shape.get(a)) for a in ("x", "y", "width", "height"))  # type: ignore[return-value]


@pytest.mark.parametrize("path", [REPAIR, *RECURRING], ids=lambda p: p.stem)
def test_the_diagram_is_complete_and_readable(path: Path) -> None:
    tree = etree.parse(str(path))
    nodes = [n for tag in FLOW_NODES for n in xpath(f"//bpmn:{tag}", tree)]
    for flow in xpath("//bpmn:sequenceFlow", tree):
        assert len(xpath("//bpmndi:BPMNEdge[@bpmnElement=$id]/di:waypoint", tree, id=flow.get("id"))) >= 2
    lanes = {
        lane.get("id"): (
            [r.text for r in lane.xpath("bpmn:flowNodeRef", namespaces=NS)],
            bounds(tree, lane.get("id")),
        )
        for lane in xpath("//bpmn:lane", tree)
    }
    for refs, (_x, y, _w, h) in lanes.values():
        for ref in refs:  # a node is drawn inside the lane that lists it
            _nx, ny, _nw, nh = bounds(tree, ref)
            assert y <= ny + nh / 2 <= y + h, ref
    top_level = {n.get("id") for n in xpath("/bpmn:definitions/bpmn:process/*", tree) if n.get("id")}
    assert {n.get("id") for n in nodes} & top_level == {ref for refs, _b in lanes.values() for ref in refs}
    boxes = {
        n.get("id"): bounds(tree, n.get("id"))
        for n in nodes
        if not n.tag.endswith(("boundaryEvent", "subProcess"))
    }
    names = sorted(boxes)
    for i, a in enumerate(names):  # no two shapes overlap
        ax, ay, aw, ah = boxes[a]
        for b in names[i + 1 :]:
            bx, by, bw, bh = boxes[b]
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a, b)
    for timer in xpath("//bpmn:boundaryEvent", tree):  # boundary events sit on their host's border
        hx, hy, hw, hh = bounds(tree, timer.get("attachedToRef"))
        tx, ty, tw, th = bounds(tree, timer.get("id"))
        cx, cy = tx + tw / 2, ty + th / 2
        assert hx <= cx <= hx + hw and cy in (hy, hy + hh), timer.get("id")
    for sub in xpath("//bpmn:subProcess", tree):
        sx, sy, sw, sh = bounds(tree, sub.get("id"))
        for child in sub.xpath("*[@id]", namespaces=NS):
            if child.tag.endswith("sequenceFlow") or not child.tag.endswith(FLOW_NODES):
                continue
            x, y, w, h = bounds(tree, child.get("id"))
            assert sx <= x and x + w <= sx + sw and sy <= y and y + h <= sy + sh, child.get("id")


# --- recurring work ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "services", "task", "collection", "title"),
    [
        (
            RECURRING[0],
            ["follow_ups_due", "follow_ups_scheduled", "record_follow_up_visits"],
            "task_follow_up_visit",
            "due_products",
            "'定期回访 ' + str(product['customer_name']) + ' ' + str(product['model'])",
        ),
        (
            RECURRING[1],
            ["contracts_due_for_renewal", "mark_renewal_notified"],
            "task_renewal_notice",
            "contracts_due",
            "'续约通知 ' + str(contract['customer_name']) + ' ' + str(contract['contract_number'])",
        ),
    ],
    ids=["periodic_follow_up", "contract_renewal"],
)
def test_recurring_work_runs_daily_with_one_task_per_item(
    path: Path, services: list[str], task: str, collection: str, title: str
) -> None:
    parse(path)  # valid BPMN that SpiffWorkflow reads
    tree = etree.parse(str(path))
    (start,) = xpath("//bpmn:startEvent", tree)
    assert start.findtext("bpmn:timerEventDefinition/bpmn:timeDuration", namespaces=NS) == '"P1D"'
    operators = [o.get("id") for o in xpath("//spiffworkflow:serviceTaskOperator", tree)]
    assert operators == services
    user_task = node(task, tree)
    (loop,) = user_task.xpath("bpmn:multiInstanceLoopCharacteristics", namespaces=NS)
    assert loop.get("isSequential") in (None, "false")
    assert loop.findtext("bpmn:loopDataInputRef", namespaces=NS) == collection
    props = properties(user_task)
    assert props["title"] == title
    assert role_for_lane(xpath("//bpmn:lane", tree)[0].get("name")) == "customer_service"
    assert SEED.search(user_task.findtext("bpmn:documentation", namespaces=NS) or "")


def product(sale: date | None, warranty_end: date | None = None, invoice: date | None = None) -> Product:
    return Product(model="XR-200", sale_date=sale, invoice_date=invoice, warranty_end=warranty_end)


@pytest.mark.parametrize(
    ("item", "last_service", "expected"),
    [
        pytest.param(
            product(date(2026, 1, 15), date(2027, 1, 15)), None, date(2026, 4, 15), id="in-warranty-3-months"
        ),
        pytest.param(
            product(date(2026, 1, 15), date(2027, 1, 15)),
            date(2026, 9, 2),
            date(2026, 12, 2),
            id="after-a-service",
        ),
        pytest.param(
            product(date(2026, 1, 15), date(2027, 1, 15)),
            date(2026, 12, 1),
            date(2027, 6, 1),
            id="visit-after-warranty",
        ),
        pytest.param(
            product(date(2024, 5, 20)), date(2026, 7, 1), date(2027, 1, 1), id="default-warranty-one-year"
        ),
        pytest.param(
            product(None, invoice=date(2026, 11, 30)), None, date(2027, 2, 28), id="invoice-date-month-end"
        ),
        pytest.param(product(None), None, None, id="never-sold"),
    ],
)
def test_the_next_regular_follow_up(item: Product, last_service: date | None, expected: date | None) -> None:
    assert next_follow_up(item, last_service) == expected


def test_warranty_defaults_to_one_year_from_the_invoice() -> None:
    assert warranty_end_of(product(date(2026, 1, 10), invoice=date(2026, 2, 28))) == date(2027, 2, 28)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
