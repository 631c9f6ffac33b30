"""Product recall (SPEC §7, seed 002 三) on the real diagrams, engine and database.

A recall of a batch makes one notification task per purchaser the sales ledger names, each
due by the recall level's limit (24/48/72 hours, from the shared SLA policy); only the
quality department sees and does them; a late notification is escalated and recorded as an
SLA breach; the case then goes through collection, reporting, disposal and the general
manager's approval of the summary.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import clock
from engine.accounts import users
from engine.accounts.users import create_user
from engine.errors import PermissionDenied
from engine.runtime import Engine
from engine.runtime.runner import TimerRunner
from engine.store.models import Event, Job, ProcessInstance, SlaBreach, Task
from engine.store.queries import offered_to
from engine.store.serialization import state_from_json
from engine.store.state_store import state_text
from processes.demo.records import RECALL_DEMO_BATCH, load_demo_records
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.records.models import SalesLedgerEntry
from processes.roles import ROLE_KEYS
from tests.conftest import actor

QA = actor("qa1", "quality")
WAREHOUSE = actor("wh1", "warehouse")
GM = actor("gm1", "general_manager")
SALES = actor("sales1", "sales")

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 2026-11-18 10:00 in Shanghai.
OPENED = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


@pytest.fixture
def recall_engine(
    deployed: Engine, demo_password_hash: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    clock.freeze(OPENED)
    # The general manager signs the summary with a password, so the demo users exist (one hash for all).
    with monkeypatch.context() as patch, deployed.writer.begin() as session:
        patch.setattr(users, "hash_password", lambda _password: demo_password_hash)
        for username, display_name, roles in DEMO_USERS:
            create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name)
        load_demo_records(session)
    yield deployed


def purchasers_of(engine: Engine, batch: str) -> list[str]:
    """The ledger's answer, read straight from the table (independent of the handler)."""
    with engine.sessions() as session:
        return sorted(
            set(
                session.scalars(
                    select(SalesLedgerEntry.purchaser_name).where(SalesLedgerEntry.batch_number == batch)
                )
            )
        )


def open_recall(engine: Engine, level: str = "1", batch: str = RECALL_DEMO_BATCH) -> int:
    return engine.start(
        "recall",
        {
            "product_name": "重组人胰岛素注射液",
            "specification": "3ml:300IU",
            "batch_numbers": batch,
            "recall_type": "voluntary",
            "recall_level": level,
            "reason": "抽检含量不合格",
        },
        QA,
    ).id


def open_tasks(engine: Engine, instance_id: int, spec_id: str | None = None) -> list[Task]:
    with engine.sessions() as session:
        query = select(Task).where(Task.instance_id == instance_id, Task.state == "open")
        if spec_id:
            query = query.where(Task.spec_id == spec_id)
        return list(session.scalars(query.order_by(Task.name)))


def instance(engine: Engine, instance_id: int) -> ProcessInstance:
    with engine.sessions() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        return row


def case_data(engine: Engine, instance_id: int) -> dict[str, Any]:
    with engine.sessions() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        workflow = state_from_json(state_text(session, row), engine.definitions.specs(row.definition))
    last = workflow.last_task
    return dict(last.data) if last is not None else {}


def notify(engine: Engine, task: Task, quantity_to_return: int, who: Any = QA) -> None:
    engine.complete(
        task.id,
        {
            "notified_at": clock.now().astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M"),
            "method": "phone",
            "contact_person": "质管员",
            "acknowledged": "on",
            "quantity_to_return": str(quantity_to_return),
        },
        who,
    )


def customer_of(task: Task) -> str:
    return task.name.split(" ", 1)[1]


@pytest.mark.parametrize(("level", "hours"), [("1", 24), ("2", 48), ("3", 72)])
def test_a_recall_makes_one_notification_task_per_purchaser_due_by_its_level(
    recall_engine: Engine, level: str, hours: int
) -> None:
    purchasers = purchasers_of(recall_engine, RECALL_DEMO_BATCH)
    assert len(purchasers) == 5

    instance_id = open_recall(recall_engine, level)

    row = instance(recall_engine, instance_id)
    assert row.status == "running", row.error_message
    assert row.business_number.startswith("RC-20261118-")
    tasks = open_tasks(recall_engine, instance_id)
    assert [t.spec_id for t in tasks] == ["task_notify"] * len(purchasers)
    assert sorted(t.name for t in tasks) == sorted(f"通知 {name}" for name in purchasers)
    assert {t.role for t in tasks} == {"quality"}
    assert {t.form_key for t in tasks} == {"recall_notify"}
    assert {t.assignee for t in tasks} == {None}
    assert {t.due_at for t in tasks} == {OPENED + timedelta(hours=hours)}
    assert row.due_at == OPENED + timedelta(hours=hours)
    with recall_engine.sessions() as session:
        jobs = session.scalars(select(Job).where(Job.instance_id == instance_id, Job.done_at.is_(None))).all()
    assert [(j.element_id, j.due_at) for j in jobs] == [
        ("timer_notify_late", OPENED + timedelta(hours=hours))
    ]


def test_the_notification_tasks_are_for_the_quality_department_only(recall_engine: Engine) -> None:
    instance_id = open_recall(recall_engine)
    tasks = open_tasks(recall_engine, instance_id)

    with recall_engine.sessions() as session:
        offered_to_quality = {t.id for t in offered_to(session, QA.roles)}
        offered_to_others = {t.id for t in offered_to(session, SALES.roles | WAREHOUSE.roles | GM.roles)}
    assert {t.id for t in tasks} <= offered_to_quality
    assert offered_to_others.isdisjoint(t.id for t in tasks)
    with pytest.raises(PermissionDenied):
        notify(recall_engine, tasks[0], 5, who=SALES)
    with pytest.raises(PermissionDenied):
        recall_engine.claim(tasks[0].id, WAREHOUSE)
    assert len(open_tasks(recall_engine, instance_id, "task_notify")) == len(tasks)

    notify(recall_engine, tasks[0], 5)
    assert len(open_tasks(recall_engine, instance_id, "task_notify")) == len(tasks) - 1


def test_a_late_notification_is_escalated_and_recorded_as_an_sla_breach(recall_engine: Engine) -> None:
    instance_id = open_recall(recall_engine, "1")
    first, *rest = open_tasks(recall_engine, instance_id)
    notify(recall_engine, first, 10)
    runner = TimerRunner(recall_engine)

    clock.freeze(OPENED + timedelta(hours=23, minutes=59))
    assert runner.run_once() == 0
    assert open_tasks(recall_engine, instance_id, "task_notify_escalation") == []

    clock.freeze(OPENED + timedelta(hours=24, seconds=1))
    assert runner.run_once() == 1

    with recall_engine.sessions() as session:
        breaches = session.scalars(select(SlaBreach).where(SlaBreach.instance_id == instance_id)).all()
        fired = session.scalars(
            select(Event).where(Event.instance_id == instance_id, Event.action == "timer_fired")
        ).all()
    # The `sla` property of the boundary timer comes from the definition's "element_properties".
    assert [(b.sla, b.element_id, b.task_element_id, b.due_at) for b in breaches] == [
        ("notify", "timer_notify_late", "task_notify", OPENED + timedelta(hours=24))
    ]
    assert [e.element_id for e in fired] == ["timer_notify_late"]
    assert instance(recall_engine, instance_id).late is True
    escalation = open_tasks(recall_engine, instance_id, "task_notify_escalation")
    assert [(t.name, t.role, t.form_key) for t in escalation] == [
        ("召回通知超时督办", "general_manager", "recall_notify_escalation")
    ]
    # The timer does not interrupt: the customers not yet told still have their tasks.
    assert sorted(t.id for t in open_tasks(recall_engine, instance_id, "task_notify")) == sorted(
        t.id for t in rest
    )
    with pytest.raises(PermissionDenied):
        recall_engine.complete(escalation[0].id, {"action_taken": "电话催办"}, QA)
    recall_engine.complete(escalation[0].id, {"action_taken": "电话催办，当日完成全部通知"}, GM)
    assert open_tasks(recall_engine, instance_id, "task_notify_escalation") == []


def test_notifications_in_time_cancel_the_escalation_timer(recall_engine: Engine) -> None:
    instance_id = open_recall(recall_engine, "2")
    for task in open_tasks(recall_engine, instance_id, "task_notify"):
        notify(recall_engine, task, 0)

    clock.freeze(OPENED + timedelta(hours=49))
    assert TimerRunner(recall_engine).run_once() == 0

    with recall_engine.sessions() as session:
        assert session.scalars(select(SlaBreach).where(SlaBreach.instance_id == instance_id)).all() == []
        actions = session.scalars(
            select(Event.action).where(
                Event.instance_id == instance_id, Event.element_id == "timer_notify_late"
            )
        ).all()
    assert actions == ["timer_cancelled"]
    assert instance(recall_engine, instance_id).late is False
    # Nobody returns anything: straight on to the report.
    assert [t.spec_id for t in open_tasks(recall_engine, instance_id)] == ["task_report"]


def test_a_recall_walks_from_notification_to_the_general_managers_approval(recall_engine: Engine) -> None:
    instance_id = open_recall(recall_engine, "1")
    shipped = {c: 0 for c in purchasers_of(recall_engine, RECALL_DEMO_BATCH)}
    with recall_engine.sessions() as session:
        for line in session.scalars(
            select(SalesLedgerEntry).where(SalesLedgerEntry.batch_number == RECALL_DEMO_BATCH)
        ):
            shipped[line.purchaser_name] += line.quantity
    to_return = {name: (index * 5) for index, name in enumerate(sorted(shipped))}  # the first returns nothing

    for task in open_tasks(recall_engine, instance_id, "task_notify"):
        notify(recall_engine, task, to_return[customer_of(task)])

    # One receipt per customer that returns goods, in the warehouse's inbox.
    collect = open_tasks(recall_engine, instance_id)
    returning = sorted(name for name, quantity in to_return.items() if quantity)
    assert [t.spec_id for t in collect] == ["task_collect"] * len(returning)
    assert sorted(t.name for t in collect) == sorted(f"接收召回产品 {name}" for name in returning)
    assert {t.role for t in collect} == {"warehouse"}
    with pytest.raises(PermissionDenied):
        recall_engine.complete(collect[0].id, {}, QA)
    received = {}
    clock.freeze(OPENED + timedelta(days=1))  # the goods arrive the next day
    for task in collect:
        name = customer_of(task)
        received[name] = to_return[name] - 1
        recall_engine.complete(
            task.id,
            {
                "received_on": "2026-11-19",
                "received_quantity": str(received[name]),
                "package_condition": "intact",
                "temperature_records": "no" if name == returning[0] else "yes",
            },
            WAREHOUSE,
        )

    clock.freeze(OPENED + timedelta(days=2))
    report = open_tasks(recall_engine, instance_id)
    assert [(t.spec_id, t.role) for t in report] == [("task_report", "quality")]
    recall_engine.complete(
        report[0].id,
        {
            "reported_to_manufacturer": "on",
            "reported_to_regulator": "on",
            "report_date": "2026-11-20",
            "report_summary": "已向生产企业和区市场监督管理局报告",
        },
        QA,
    )
    clock.freeze(OPENED + timedelta(days=3))
    dispose = open_tasks(recall_engine, instance_id)
    assert [(t.spec_id, t.role) for t in dispose] == [("task_dispose", "quality")]
    recall_engine.complete(
        dispose[0].id,
        {
            "disposal_method": "destroy",
            "disposal_quantity": str(sum(received.values())),
            "disposal_date": "2026-11-21",
            "disposal_witnesses": "周质管、冯仓管",
        },
        QA,
    )

    summary = open_tasks(recall_engine, instance_id)
    total_shipped, total_received = sum(shipped.values()), sum(received.values())
    assert [(t.spec_id, t.role, t.name) for t in summary] == [
        ("task_summary", "general_manager", f"召回总结审批：发货 {total_shipped}，收回 {total_received}")
    ]
    recall_engine.complete(
        summary[0].id, {"approved": "no", "gm_comments": "补充药监部门回执"}, GM, DEMO_PASSWORD
    )
    assert [t.spec_id for t in open_tasks(recall_engine, instance_id)] == ["task_report"]
    clock.freeze(OPENED + timedelta(days=4))
    for spec_id, data, who in (
        (
            "task_report",
            {
                "reported_to_manufacturer": "on",
                "reported_to_regulator": "on",
                "report_date": "2026-11-22",
                "report_summary": "已附药监部门回执",
            },
            QA,
        ),
        (
            "task_dispose",
            {
                "disposal_method": "destroy",
                "disposal_quantity": str(total_received),
                "disposal_date": "2026-11-22",
                "disposal_witnesses": "周质管",
            },
            QA,
        ),
        ("task_summary", {"approved": "yes"}, GM),
    ):
        (task,) = open_tasks(recall_engine, instance_id, spec_id)
        recall_engine.complete(task.id, data, who, DEMO_PASSWORD)

    done = instance(recall_engine, instance_id)
    assert done.status == "completed", done.error_message
    data = case_data(recall_engine, instance_id)
    assert sorted(
        (s["customer_name"], s["quantity_shipped"], s["quantity_recovered"]) for s in data["recall_summary"]
    ) == sorted((name, shipped[name], received.get(name, 0)) for name in shipped)
    assert (data["total_shipped"], data["total_recovered"]) == (total_shipped, total_received)
    assert {n["customer_name"]: n["quantity_to_return"] for n in data["notifications"]} == to_return
    excursions = [r["customer_name"] for r in data["receipts"] if r["temperature_excursion"]]
    assert excursions == [returning[0]]  # cold-chain goods without good temperature records are flagged
    with recall_engine.sessions() as session:
        assert session.scalars(select(SlaBreach).where(SlaBreach.instance_id == instance_id)).all() == []


def test_a_batch_the_ledger_does_not_know_goes_straight_to_the_report_with_a_note(
    recall_engine: Engine,
) -> None:
    instance_id = open_recall(recall_engine, "1", batch="NO-SUCH-BATCH")

    tasks = open_tasks(recall_engine, instance_id)
    assert [(t.spec_id, t.role) for t in tasks] == [("task_report", "quality")]
    row = instance(recall_engine, instance_id)
    assert row.customer_name == "未查到购货单位"
    assert row.due_at is not None and row.due_at == tasks[0].due_at  # the report's company-default limit
    assert "NO-SUCH-BATCH" in case_data(recall_engine, instance_id)["recall_note"]
    with recall_engine.sessions() as session:
        assert session.scalars(select(Job).where(Job.instance_id == instance_id)).all() == []


def test_only_quality_may_open_a_recall(recall_engine: Engine) -> None:
    with pytest.raises(PermissionDenied):
        recall_engine.start(
            "recall",
            {
                "product_name": "x",
                "batch_numbers": "B",
                "recall_type": "voluntary",
                "recall_level": "1",
                "reason": "r",
            },
            SALES,
        )
