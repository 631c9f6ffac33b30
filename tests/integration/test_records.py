"""Record service handlers against a real database: directly inside a command, and from a diagram."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.runtime import Engine
from engine.runtime.context import CommandContext, running
from engine.store.models import ProcessInstance
from engine.store.serialization import state_from_json
from engine.store.state_store import state_text
from processes.demo.records import CUSTOMERS, RECALL_DEMO_BATCH, load_demo_records
from processes.handlers.records import (
    contracts_due_for_renewal,
    ledger_check,
    ledger_customers,
    mark_renewal_notified,
    product_lookup,
    record_service_history,
)
from processes.records.models import Customer, MaintenanceContract, Product, SalesLedgerEntry, ServiceRecord
from processes.services import SERVICES
from tests.conftest import actor

# 2026-11-20 16:30 UTC is already Saturday 2026-11-21 00:30 in Shanghai.
LATE_EVENING_UTC = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
TODAY = date(2026, 11, 21)  # the company's date at that moment

CS = actor("cs1", "customer_service")


@contextmanager
def command(engine: Engine, instance_id: int | None = None) -> Iterator[Session]:
    """A command's transaction with the handlers' context, as the engine sets it up."""
    with engine.writer.begin() as session, running(CommandContext(session, instance_id, None, "tester")):
        yield session


def sale(document: str, line: int = 1, **values: Any) -> SalesLedgerEntry:
    fields: dict[str, Any] = {
        "document_number": document,
        "line_number": line,
        "product_name": "Insulin Glargine 甘精胰岛素注射液",
        "specification": "3ml:300IU",
        "registration_number": "国药准字S20193012",
        "batch_number": "GLA-2601",
        "expiry_date": date(2027, 12, 31),
        "quantity": 10,
        "unit_price": Decimal("58.5000"),
        "amount": Decimal("585.00"),
        "sale_date": date(2026, 10, 5),
        "purchaser_name": "仁济堂大药房（静安店）",
        "purchaser_licence": "沪AA0210376",
        "purchaser_address": "上海市静安区南京西路 1576 号",
        "purchaser_contact": "店长 吴倩 021-62478890",
        "cold_chain": True,
        "imported_at": clock.now(),
        "source_file": "test",
    }
    fields.update(values)
    return SalesLedgerEntry(**fields)


@pytest.fixture
def records(engine: Engine) -> Engine:
    clock.freeze(LATE_EVENING_UTC)
    with engine.writer.begin() as session:
        hospital = Customer(
            name="上海申江第一人民医院", phone="021-64369181", contact="设备科 刘国强", created_at=clock.now()
        )
        clinic = Customer(name="嘉定区安亭镇康宁诊所", phone="13816725530", created_at=clock.now())
        session.add_all([hospital, clinic])
        session.flush()
        monitor = Product(
            customer_id=hospital.id,
            model="PM-9000",
            name="多参数监护仪",
            serial_number="SN-1",
            invoice_date=date(2026, 5, 1),
            warranty_end=date(2027, 5, 1),
        )
        ventilator = Product(
            customer_id=clinic.id,
            model="VT-600",
            name="呼吸机",
            serial_number="SN-2",
            invoice_date=date(2025, 11, 20),
            warranty_end=date(2026, 11, 20),  # ended yesterday, company time
        )
        session.add_all([monitor, ventilator])
        session.flush()
        session.add_all(
            [
                # The clinic's contract ended on the 20th: in force in UTC terms, not in Shanghai.
                MaintenanceContract(
                    number="WB-1",
                    customer_id=clinic.id,
                    starts_on=date(2025, 11, 21),
                    ends_on=date(2026, 11, 20),
                ),
                MaintenanceContract(
                    number="WB-2",
                    customer_id=hospital.id,
                    product_id=monitor.id,
                    starts_on=date(2026, 6, 1),
                    ends_on=TODAY + timedelta(days=10),
                ),
                MaintenanceContract(
                    number="WB-3", customer_id=clinic.id, starts_on=TODAY, ends_on=TODAY + timedelta(days=30)
                ),
                MaintenanceContract(
                    number="WB-4",
                    customer_id=hospital.id,
                    starts_on=TODAY,
                    ends_on=TODAY + timedelta(days=31),
                ),
                MaintenanceContract(
                    number="WB-5",
                    customer_id=clinic.id,
                    starts_on=date(2027, 1, 1),
                    ends_on=date(2027, 12, 31),
                ),
                sale("XS-1", 1, quantity=10),
                sale("XS-1", 2, batch_number="OTHER-1", quantity=99),
                sale("XS-2", 1, quantity=5, sale_date=date(2026, 11, 1), unit_price=Decimal("60.0000")),
                sale(
                    "XS-3",
                    1,
                    purchaser_name="上海申江第一人民医院",
                    quantity=7,
                    purchaser_contact=None,
                    purchaser_licence="PDY001",
                    batch_number="gla-2601",
                    cold_chain=False,
                ),
                sale(
                    "XS-4",
                    1,
                    purchaser_name="嘉定区安亭镇康宁诊所",
                    quantity=3,
                    batch_number="GLA-2602",
                    product_name="另一种药",
                    cold_chain=False,
                ),
            ]
        )
    return engine


def test_every_handler_is_registered_for_diagrams() -> None:
    for name in (
        "ledger_check",
        "ledger_customers",
        "product_lookup",
        "record_service_history",
        "contracts_due_for_renewal",
        "mark_renewal_notified",
    ):
        assert name in SERVICES, name


def test_ledger_check_finds_our_sale_and_adds_up_its_lines(records: Engine) -> None:
    with command(records):
        result = ledger_check("insulin glargine 甘精胰岛素注射液", " gla-2601 ", "仁济堂大药房（静安店）", 15)

    lines = result.pop("lines")
    assert [(line["document_number"], line["quantity"]) for line in lines] == [("XS-2", 5), ("XS-1", 10)]
    assert result == {
        "found": True,
        "document_number": "XS-2",  # the newest line
        "sale_date": "2026-11-01",
        "quantity_sold": 15,
        "expiry_date": "2027-12-31",
        "cold_chain": True,
        "unit_price": "60.0000",
        "specification": "3ml:300IU",
        "registration_number": "国药准字S20193012",
    }
    json.dumps(result)


def test_ledger_check_refuses_more_than_was_sold_and_sales_that_are_not_ours(records: Engine) -> None:
    with command(records):
        too_many = ledger_check("Insulin Glargine 甘精胰岛素注射液", "GLA-2601", "仁济堂大药房（静安店）", 16)
        other_purchaser = ledger_check("Insulin Glargine 甘精胰岛素注射液", "GLA-2601", "华山医院", None)
        other_product = ledger_check("阿莫西林胶囊", "GLA-2601", "仁济堂大药房（静安店）")
        blank = ledger_check("", "GLA-2601", "仁济堂大药房（静安店）")

    assert too_many["found"] is False and too_many["quantity_sold"] == 15
    assert too_many["reason"] == "退回数量 16 超过销售数量 15"
    assert too_many["reason_en"] == "the quantity 16 is more than the 15 sold"
    assert other_purchaser["found"] is False and other_purchaser["document_number"] is None
    assert "不属本公司销售" in other_purchaser["reason"]
    assert other_product["found"] is False
    assert blank["found"] is False and blank["reason_en"].endswith("are all required")


def test_ledger_customers_lists_every_purchaser_of_the_batches_with_summed_quantities(
    records: Engine,
) -> None:
    with command(records):
        customers = ledger_customers("GLA-2601， GLA-2602")
        none = ledger_customers("NO-SUCH-BATCH")
        also_a_list = ledger_customers(["GLA-2602"])

    assert [(c["customer_name"], c["quantity"]) for c in customers] == sorted(
        [("上海申江第一人民医院", 7), ("仁济堂大药房（静安店）", 15), ("嘉定区安亭镇康宁诊所", 3)]
    )
    by_name = {c["customer_name"]: c for c in customers}
    pharmacy = by_name["仁济堂大药房（静安店）"]
    assert pharmacy["licence"] == "沪AA0210376" and pharmacy["address"] == "上海市静安区南京西路 1576 号"
    assert pharmacy["contact"] == "店长 吴倩 021-62478890"
    assert pharmacy["document_number"] == "XS-1, XS-2" and pharmacy["sale_date"] == "2026-11-01"
    assert pharmacy["cold_chain"] is True
    # No contact on the ledger line: the customer archive supplies it.
    assert by_name["上海申江第一人民医院"]["contact"] == "设备科 刘国强"
    assert by_name["上海申江第一人民医院"]["licence"] == "PDY001"
    assert none == []
    assert [c["customer_name"] for c in also_a_list] == ["嘉定区安亭镇康宁诊所"]
    json.dumps(customers)


def test_product_lookup_answers_warranty_and_contract_by_the_company_date(records: Engine) -> None:
    with command(records):
        monitor = product_lookup("SN-1")
        ventilator = product_lookup(" SN-2 ")
        unknown = product_lookup("SN-404")

    assert monitor == {
        "found": True,
        "model": "PM-9000",
        "customer_name": "上海申江第一人民医院",
        "warranty_end": "2027-05-01",
        "in_warranty": True,
        "contract_in_force": True,
        "contract_number": "WB-2",
        "key_customer": False,
        "sale_date": None,
    }
    # WB-1 ended on the 20th, WB-3 starts on the 21st: it is the 21st in Shanghai.
    assert ventilator["in_warranty"] is False and ventilator["warranty_end"] == "2026-11-20"
    assert (ventilator["contract_in_force"], ventilator["contract_number"]) == (True, "WB-3")
    assert unknown["found"] is False and unknown["contract_in_force"] is False

    clock.freeze(LATE_EVENING_UTC - timedelta(hours=1))  # 23:30 on the 20th in Shanghai
    with command(records):
        earlier = product_lookup("SN-2")
    assert (earlier["contract_number"], earlier["in_warranty"]) == ("WB-1", True)


def test_contracts_due_for_renewal_are_those_ending_within_the_days_without_a_notice(records: Engine) -> None:
    with command(records):
        due = contracts_due_for_renewal(30)
        due_soon = contracts_due_for_renewal(days=10)

    assert due == [
        {
            "contract_number": "WB-2",
            "customer_name": "上海申江第一人民医院",
            "ends_on": "2026-12-01",
            "phone": "021-64369181",
        },
        {
            "contract_number": "WB-3",
            "customer_name": "嘉定区安亭镇康宁诊所",
            "ends_on": "2026-12-21",
            "phone": "13816725530",
        },
    ]
    assert [c["contract_number"] for c in due_soon] == ["WB-2"]


def test_a_diagram_calls_the_handlers_and_they_write_through_the_command(records: Engine) -> None:
    records.deploy({"records_probe.bpmn": PROBE_BPMN}, deployed_by="owner1")

    started = records.start("records_probe", {"serial_number": "SN-1"}, CS)

    with records.sessions() as session:
        instance = session.get(ProcessInstance, started.id)
        assert instance is not None and instance.status == "running", instance and instance.error_message
        data = (
            state_from_json(state_text(session, instance), records.definitions.specs(instance.definition))
            .get_tasks(spec_name="task_look")[0]
            .data
        )
        history = session.scalars(select(ServiceRecord)).all()
        notified = {
            c.number: c.renewal_notice_instance_id for c in session.scalars(select(MaintenanceContract))
        }
    assert data["product"]["contract_number"] == "WB-2"
    assert data["recorded"] == {"recorded": True}
    assert [c["contract_number"] for c in data["due"]] == ["WB-2", "WB-3"]
    assert data["marked"] == {"marked": 2}
    assert data["customers"][0]["customer_name"] == "上海申江第一人民医院"
    assert [(h.product_id is not None, h.instance_id, h.summary) for h in history] == [
        (True, started.id, "监护仪报修：屏幕无显示")
    ]
    assert notified == {"WB-1": None, "WB-2": started.id, "WB-3": started.id, "WB-4": None, "WB-5": None}

    # Marked contracts are not due any more; a second notice does not move the first one.
    with command(records, started.id):
        assert [c["contract_number"] for c in contracts_due_for_renewal(30)] == []
        assert mark_renewal_notified(["WB-2", "WB-4"]) == {"marked": 1}
        assert record_service_history("SN-404", "x") == {"recorded": False}
    with records.sessions() as session:
        assert (
            session.scalar(
                select(MaintenanceContract.renewal_notice_instance_id).where(
                    MaintenanceContract.number == "WB-2"
                )
            )
            == started.id
        )


def test_service_history_needs_a_case(records: Engine) -> None:
    with command(records, instance_id=None):
        assert record_service_history("SN-1", "no case") == {"recorded": False}
        assert mark_renewal_notified("WB-2") == {"marked": 0}
    with records.sessions() as session:
        assert session.scalar(select(func.count(ServiceRecord.id))) == 0


def test_demo_records_are_realistic_and_loading_twice_adds_nothing(engine: Engine) -> None:
    clock.freeze(LATE_EVENING_UTC)
    with engine.writer.begin() as session:
        first = load_demo_records(session)
    with engine.writer.begin() as session:
        second = load_demo_records(session)

    assert (first.customers, first.products, first.contracts) == (12, 20, 4)
    assert 55 <= first.ledger_lines <= 65
    assert (second.customers, second.products, second.contracts, second.ledger_lines) == (0, 0, 0, 0)
    with command(engine):
        recall = ledger_customers(RECALL_DEMO_BATCH)
        due = contracts_due_for_renewal(30)
        warranties = [
            product_lookup(serial)["in_warranty"] for serial in ("SN-PM9-2401001", "SN-VT6-2303011")
        ]
    assert len(recall) == 5 and all(c["cold_chain"] for c in recall)
    assert len(due) == 1 and date.fromisoformat(due[0]["ends_on"]) <= TODAY + timedelta(days=30)
    assert warranties == [True, False]
    with engine.sessions() as session:
        customers = session.scalars(select(Customer)).all()
        products = session.scalars(select(Product)).all()
        lines = session.scalars(select(SalesLedgerEntry)).all()
    assert {c.region for c in customers} >= {"urban", "suburban", "within_300km", "remote"}
    assert any(c.key_customer for c in customers) and all(c.licence_number and c.phone for c in customers)
    assert all(p.warranty_end is not None and p.invoice_date is not None for p in products)
    assert all(
        p.warranty_end and p.invoice_date and p.warranty_end.year == p.invoice_date.year + 1 for p in products
    )
    assert any(line.cold_chain for line in lines) and any(not line.cold_chain for line in lines)
    assert all(line.amount == (line.unit_price or 0) * line.quantity for line in lines)
    assert all(
        line.sale_date <= TODAY and (line.expiry_date is None or line.expiry_date > line.sale_date)
        for line in lines
    )
    assert {line.purchaser_name for line in lines} <= {c.name for c in CUSTOMERS}


PROBE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_probe" targetNamespace="http://afterflow.test">
  <bpmn:process id="records_probe" name="档案服务探针" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="businessNumberPrefix" value="PR" />
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:laneSet id="lanes_probe">
      <bpmn:lane id="lane_cs" name="客服专员">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>lookup</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>history</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>due</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>mark</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>trace</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>task_look</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="lookup" name="查产品档案">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="product_lookup" resultVariable="product">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="serial_number" type="str" value="serial_number" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="history" name="记入服务履历">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="record_service_history" resultVariable="recorded">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="serial_number" type="str" value="serial_number" />
            <spiffworkflow:parameter id="summary" type="str" value="'监护仪报修：屏幕无显示'" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="due" name="到期合同">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="contracts_due_for_renewal" resultVariable="due">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="days" type="int" value="30" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="mark" name="记下已通知">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="mark_renewal_notified" resultVariable="marked">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="contract_numbers" type="list" value="[c['contract_number'] for c in due]" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="trace" name="销售流向">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="ledger_customers" resultVariable="customers">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="batch_numbers" type="str" value="'GLA-2601'" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:userTask id="task_look" name="查看"><bpmn:incoming>f6</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f7</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="lookup" />
    <bpmn:sequenceFlow id="f2" sourceRef="lookup" targetRef="history" />
    <bpmn:sequenceFlow id="f3" sourceRef="history" targetRef="due" />
    <bpmn:sequenceFlow id="f4" sourceRef="due" targetRef="mark" />
    <bpmn:sequenceFlow id="f5" sourceRef="mark" targetRef="trace" />
    <bpmn:sequenceFlow id="f6" sourceRef="trace" targetRef="task_look" />
    <bpmn:sequenceFlow id="f7" sourceRef="task_look" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
