"""Sales return approval (销售退回, SPEC §6; seeds 002, 003) through the real engine and database.

The whole ``diagrams/`` folder is deployed; every command is issued as the demo user who
holds the lane's role; the sales ledger rows the ledger check finds are written in the
test; the clock is frozen on Friday 2026-11-20 15:30 in Shanghai.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from engine import clock
from engine.accounts import users
from engine.accounts.users import Actor, create_user
from engine.errors import PermissionDenied
from engine.runtime import Engine
from engine.runtime.runner import TimerRunner
from engine.store.models import Event, SlaBreach, Task
from engine.store.queries import offered_to
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.records.models import SalesLedgerEntry
from processes.roles import ROLE_KEYS
from tests.conftest import actor, diagram_files
from tests.scenarios.conftest import instance_row, stored_workflow

PROCESS = "sales_return"

# Friday 2026-11-20 15:30 in Shanghai.
FRIDAY_AFTERNOON = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
# One working day later across the weekend: Monday 2026-11-23 15:30 in Shanghai.
MONDAY_AFTERNOON = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
# Five working days after Friday 15:30: Friday 2026-11-27 15:30 in Shanghai.
NEXT_FRIDAY_AFTERNOON = datetime(2026, 11, 27, 7, 30, tzinfo=UTC)

_DEMO_ROLES = {username: roles for username, _, roles in DEMO_USERS}


def demo(username: str) -> Actor:
    """The demo user with the roles processes/demo.py gives it."""
    return actor(username, *_DEMO_ROLES[username])


SALES = demo("sales1")
BILL = demo("bill1")
BM = demo("bm1")
QA = demo("qa1")
WH = demo("wh1")  # 收货员 and 保管员
INSPECTOR = demo("wh2")  # 验收员: not the one who received the goods [002 4]
FIN = demo("fin1")

HOSPITAL = "华山医院药房"
PHARMACY_CUSTOMER = "张三"


@pytest.fixture
def returns(engine: Engine, demo_password_hash: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    clock.freeze(FRIDAY_AFTERNOON)  # before deploying: scheduled processes start their timers from it
    engine.deploy(diagram_files(), deployed_by="owner1")
    # The approvers sign with their passwords, so the demo users exist (one scrypt hash for all).
    with monkeypatch.context() as patch, engine.writer.begin() as session:
        patch.setattr(users, "hash_password", lambda _password: demo_password_hash)
        for username, display_name, roles in DEMO_USERS:
            create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name)
    return engine


def add_ledger_line(
    engine: Engine,
    *,
    document: str = "XS-20261110-0007",
    product: str = "阿莫西林胶囊",
    batch: str = "B20260601",
    purchaser: str = HOSPITAL,
    quantity: int = 100,
    sale_date: date = date(2026, 11, 10),
    expiry: date = date(2028, 5, 31),
    cold_chain: bool = False,
) -> None:
    with engine.writer.begin() as session:
        session.add(
            SalesLedgerEntry(
                document_number=document,
                line_number=1,
                product_name=product,
                specification="0.25g×24粒",
                registration_number="国药准字H20003263",
                manufacturer="华北制药股份有限公司",
                batch_number=batch,
                expiry_date=expiry,
                quantity=quantity,
                unit="盒",
                unit_price=Decimal("12.5000"),
                amount=Decimal("12.50") * quantity,
                sale_date=sale_date,
                purchaser_name=purchaser,
                purchaser_contact="李药师 021-52888888",
                cold_chain=cold_chain,
                imported_at=FRIDAY_AFTERNOON,
            )
        )


def request(**changes: Any) -> dict[str, Any]:
    """A complete return request as the start form sends it; ``changes`` override fields."""
    data: dict[str, Any] = {
        "customer_name": HOSPITAL,
        "customer_type": "institution",
        "customer_phone": "021-52888888",
        "product_name": "阿莫西林胶囊",
        "specification": "0.25g×24粒",
        "batch_number": "B20260601",
        "quantity": "20",
        "expiry_date": "2028-05-31",
        "reason": "near_expiry",
        "reason_detail": "",
        "package_intact": "yes",
        "purchase_voucher_number": "FP-0098812",
        "purchase_date": "2026-11-10",
        "cold_chain": "no",
        "requested_remedy": "refund",
    }
    data.update(changes)
    return data


NOTICE_OK = {
    "is_our_sale": "yes",
    "original_document_number": "XS-20261110-0007",
    "return_notice_number": "XT-20261120-01",
    "reason_verified": "yes",
    "notice_note": "与销售记录一致",
}
PICKUP_OK = {
    "pickup_vehicle": "沪A·12345",
    "pickup_date": "2026-11-23",
    "pickup_confirmed": "on",
    "temperature_documents": "not_applicable",
}
RECEIVE_OK = {
    "goods_match": "yes",
    "received_quantity": "20",
    "temperature_records_complete": "not_applicable",
    "temperature_excursion": "not_applicable",
    "receive_note": "已放入退货区",
}


# --- helpers -------------------------------------------------------------------------------------


def start(engine: Engine, **changes: Any) -> int:
    return engine.start(PROCESS, request(**changes), SALES).id


def open_tasks(engine: Engine, instance_id: int) -> list[Task]:
    with engine.sessions() as session:
        return list(
            session.scalars(
                select(Task)
                .where(Task.instance_id == instance_id, Task.state == "open")
                .order_by(Task.spec_id)
            )
        )


def open_spec_ids(engine: Engine, instance_id: int) -> list[str]:
    return [t.spec_id for t in open_tasks(engine, instance_id)]


def only_task(engine: Engine, instance_id: int, spec_id: str) -> Task:
    tasks = [t for t in open_tasks(engine, instance_id) if t.spec_id == spec_id]
    assert len(tasks) == 1, open_spec_ids(engine, instance_id)
    return tasks[0]


def complete(engine: Engine, instance_id: int, spec_id: str, data: dict[str, Any], who: Actor) -> None:
    engine.complete(only_task(engine, instance_id, spec_id).id, data, who, DEMO_PASSWORD)


def case_data(engine: Engine, instance_id: int) -> dict[str, Any]:
    """The case data as it stands: of the newest open human task, or of the last task run."""
    workflow = stored_workflow(engine, instance_id)
    tasks = open_tasks(engine, instance_id)
    if tasks:
        newest = max(tasks, key=lambda t: t.created_at)
        spiff_task = next(t for t in workflow.get_tasks() if str(t.id) == newest.id)
        return dict(spiff_task.data)
    assert workflow.last_task is not None
    return dict(workflow.last_task.data)


def offered(engine: Engine, who: Actor, instance_id: int) -> list[str]:
    with engine.sessions() as session:
        rows = offered_to(session, who.roles)
        task_ids = {t.id: t.spec_id for t in open_tasks(engine, instance_id)}
    return sorted(task_ids[r.id] for r in rows if r.id in task_ids)


def breaches(engine: Engine, instance_id: int) -> list[SlaBreach]:
    with engine.sessions() as session:
        return list(
            session.scalars(
                select(SlaBreach).where(SlaBreach.instance_id == instance_id).order_by(SlaBreach.id)
            )
        )


def completed_by(engine: Engine, instance_id: int) -> list[tuple[str, str]]:
    """(element, user) of every task_completed event of the case, in order."""
    with engine.sessions() as session:
        events = session.scalars(
            select(Event)
            .where(Event.instance_id == instance_id, Event.action == "task_completed")
            .order_by(Event.id)
        )
        return [(e.element_id or "", e.actor or "") for e in events]


def fire(engine: Engine, instance_id: int) -> int:
    """Run the timer runner once; return how many timers of this case fired.

    (Other processes in diagrams/ may be scheduled and have timers of their own.)
    """

    def fired() -> int:
        with engine.sessions() as session:
            return len(
                session.scalars(
                    select(Event.id).where(Event.instance_id == instance_id, Event.action == "timer_fired")
                ).all()
            )

    before = fired()
    TimerRunner(engine, name="test").run_once()
    return fired() - before


def through_notice(engine: Engine, **changes: Any) -> int:
    """Start a request for a sale in the ledger and have the billing clerk confirm it."""
    instance_id = start(engine, **changes)
    complete(engine, instance_id, "task_return_notice", NOTICE_OK, BILL)
    return instance_id


def approve(engine: Engine, instance_id: int) -> None:
    complete(engine, instance_id, "task_approve_business", {"bm_approved": "yes", "bm_comment": "同意"}, BM)
    complete(
        engine, instance_id, "task_approve_quality", {"qa_approved": "yes", "qa_comment": "同意退回"}, QA
    )


def through_receipt(engine: Engine, instance_id: int) -> None:
    approve(engine, instance_id)
    complete(engine, instance_id, "task_pickup", PICKUP_OK, SALES)
    complete(engine, instance_id, "task_receive", RECEIVE_OK, WH)


# --- not our sale ---------------------------------------------------------------------------------


def test_a_product_we_did_not_sell_is_refused_and_the_customer_told(returns: Engine) -> None:
    add_ledger_line(returns, purchaser="瑞金医院")  # the batch went to another customer
    instance_id = start(returns)

    notice = only_task(returns, instance_id, "task_return_notice")
    assert (notice.role, notice.form_key, notice.name) == (
        "billing_clerk",
        "return_notice",
        "核对销售记录并填写退回通知单",
    )
    assert instance_row(returns, instance_id).business_number == "RT-20261120-0001"
    ledger = case_data(returns, instance_id)["ledger"]
    assert ledger["found"] is False and HOSPITAL in ledger["reason"]

    complete(returns, instance_id, "task_return_notice", {**NOTICE_OK, "is_our_sale": "no"}, BILL)
    assert open_spec_ids(returns, instance_id) == ["task_notify_rejection"]
    data = case_data(returns, instance_id)
    assert data["return_outcome"] == "rejected_not_our_sale"
    assert data["rejection_reason"].startswith("经查询，非本公司销售的药品，不予退回")
    assert "eligible" not in data  # the eligibility rules were never asked
    assert offered(returns, SALES, instance_id) == ["task_notify_rejection"]

    complete(
        returns,
        instance_id,
        "task_notify_rejection",
        {"notify_method": "phone", "notified_on": "2026-11-20", "notify_note": "客户知悉"},
        SALES,
    )
    assert instance_row(returns, instance_id).status == "completed"
    assert completed_by(returns, instance_id) == [
        ("task_return_notice", "bill1"),
        ("task_notify_rejection", "sales1"),
    ]


def test_the_clerk_confirms_a_sale_the_ledger_check_found(returns: Engine) -> None:
    add_ledger_line(returns)
    instance_id = start(returns)
    ledger = case_data(returns, instance_id)["ledger"]
    assert ledger["found"] is True
    assert (ledger["document_number"], ledger["sale_date"], ledger["expiry_date"]) == (
        "XS-20261110-0007",
        "2026-11-10",
        "2028-05-31",
    )
    complete(returns, instance_id, "task_return_notice", NOTICE_OK, BILL)
    assert open_spec_ids(returns, instance_id) == ["task_approve_business", "task_approve_quality"]


# --- eligibility ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ledger", "changes", "expected_reason"),
    [
        pytest.param(
            {"expiry": date(2026, 11, 19)},
            {"expiry_date": "2026-11-19"},
            "药品已超过有效期，一律不予退货",
            id="expired",
        ),
        pytest.param(
            {},
            {"package_intact": "no", "reason": "no_longer_needed"},
            "药品已拆封或包装破损，且不是质量问题，不予退货",
            id="opened-without-quality-defect",
        ),
        pytest.param(
            {"purchaser": PHARMACY_CUSTOMER, "sale_date": date(2026, 11, 16)},
            {
                "customer_name": PHARMACY_CUSTOMER,
                "customer_type": "consumer",
                "purchase_date": "2026-11-16",
                # Not a quality problem: those have 7 / 30 days [002 售后服务管理规程 三章 2].
                "reason": "wrong_delivery",
            },
            "已超过退换货期限（购买后 3 个工作日内）",
            id="consumer-4-working-days-after-purchase",
        ),
        pytest.param(
            {},
            {"reason": "other", "reason_detail": ""},
            "退货原因经核实不真实或不合理，不予退货",
            id="other-reason-without-explanation",
        ),
    ],
)
def test_a_request_that_breaks_a_return_rule_is_refused_with_the_reason(
    returns: Engine, ledger: dict[str, Any], changes: dict[str, Any], expected_reason: str
) -> None:
    add_ledger_line(returns, **ledger)
    instance_id = through_notice(returns, **changes)

    assert open_spec_ids(returns, instance_id) == ["task_notify_rejection"]  # no approval was asked
    data = case_data(returns, instance_id)
    assert data["eligible"] is False
    assert data["rejection_reason"] == data["ineligible_reason"] == expected_reason
    assert data["return_outcome"] == "rejected_ineligible"
    complete(
        returns,
        instance_id,
        "task_notify_rejection",
        {"notify_method": "letter", "notified_on": "2026-11-20"},
        SALES,
    )
    assert instance_row(returns, instance_id).status == "completed"


@pytest.mark.parametrize(
    ("now", "sale_date", "changes", "working_days"),
    [
        pytest.param(
            FRIDAY_AFTERNOON,
            date(2026, 11, 17),
            {"customer_type": "consumer", "reason": "quality_defect"},
            3,
            id="consumer-on-the-3rd-working-day",
        ),
        pytest.param(
            MONDAY_AFTERNOON,
            date(2026, 11, 18),
            {"customer_type": "consumer", "reason": "wrong_delivery"},
            3,
            id="consumer-5-calendar-days-over-a-weekend",
        ),
        pytest.param(
            FRIDAY_AFTERNOON,
            date(2026, 11, 10),
            {"package_intact": "no", "reason": "quality_defect"},
            8,
            id="opened-package-with-a-quality-defect",
        ),
        pytest.param(
            FRIDAY_AFTERNOON,
            date(2026, 6, 1),
            {"reason": "other", "reason_detail": "医院药品目录调整，停止使用"},
            None,  # far outside the consumer window, which does not apply to an institution
            id="institution-long-after-purchase",
        ),
    ],
)
def test_an_eligible_request_goes_to_both_approvers(
    returns: Engine, now: datetime, sale_date: date, changes: dict[str, Any], working_days: int | None
) -> None:
    clock.freeze(now)
    add_ledger_line(returns, sale_date=sale_date)
    instance_id = through_notice(returns, purchase_date=sale_date.isoformat(), **changes)

    assert open_spec_ids(returns, instance_id) == ["task_approve_business", "task_approve_quality"]
    data = case_data(returns, instance_id)
    assert (data["eligible"], data["ineligible_reason"]) == (True, "")
    if working_days is None:
        assert data["days_since_purchase"] > 100
    else:
        assert data["days_since_purchase"] == working_days
    assert data["consumer_goods"] is (changes.get("customer_type") == "consumer")


# --- approval -----------------------------------------------------------------------------------


def test_the_business_manager_refusing_ends_the_request_with_the_reason(returns: Engine) -> None:
    add_ledger_line(returns)
    instance_id = through_notice(returns)
    assert offered(returns, BM, instance_id) == ["task_approve_business"]
    assert offered(returns, QA, instance_id) == ["task_approve_quality"]

    complete(
        returns, instance_id, "task_approve_quality", {"qa_approved": "yes", "qa_comment": "质量无异议"}, QA
    )
    assert open_spec_ids(returns, instance_id) == ["task_approve_business"]  # waits for both
    complete(
        returns,
        instance_id,
        "task_approve_business",
        {"bm_approved": "no", "bm_comment": "该客户本月退货已超过合同约定比例"},
        BM,
    )

    assert open_spec_ids(returns, instance_id) == ["task_notify_rejection"]
    data = case_data(returns, instance_id)
    assert data["rejection_reason"] == "业务负责人不同意：该客户本月退货已超过合同约定比例"
    assert data["return_outcome"] == "rejected_by_approval"
    complete(
        returns,
        instance_id,
        "task_notify_rejection",
        {"notify_method": "phone", "notified_on": "2026-11-20"},
        SALES,
    )
    row = instance_row(returns, instance_id)
    assert row.status == "completed"
    assert "task_pickup" not in [element for element, _ in completed_by(returns, instance_id)]


def test_quality_refusing_ends_the_request_with_the_reason(returns: Engine) -> None:
    add_ledger_line(returns)
    instance_id = through_notice(returns)
    complete(
        returns,
        instance_id,
        "task_approve_quality",
        {"qa_approved": "no", "qa_comment": "储存条件无法确认"},
        QA,
    )
    complete(returns, instance_id, "task_approve_business", {"bm_approved": "yes", "bm_comment": "同意"}, BM)

    assert open_spec_ids(returns, instance_id) == ["task_notify_rejection"]
    assert case_data(returns, instance_id)["rejection_reason"] == "质管部不同意：储存条件无法确认"
    complete(
        returns,
        instance_id,
        "task_notify_rejection",
        {"notify_method": "visit", "notified_on": "2026-11-21"},
        SALES,
    )
    assert instance_row(returns, instance_id).status == "completed"


def test_both_refusing_records_both_reasons(returns: Engine) -> None:
    add_ledger_line(returns)
    instance_id = through_notice(returns)
    complete(returns, instance_id, "task_approve_business", {"bm_approved": "no", "bm_comment": "不同意"}, BM)
    complete(returns, instance_id, "task_approve_quality", {"qa_approved": "no", "qa_comment": "不同意"}, QA)
    assert (
        case_data(returns, instance_id)["rejection_reason"]
        == "业务负责人不同意：不同意；质管部不同意：不同意"
    )


# --- approved: pick-up, receipt, inspection, refund or replacement ----------------------------------


@pytest.mark.parametrize(
    ("remedy", "last_step", "who", "form", "outcome"),
    [
        (
            "refund",
            "task_refund",
            FIN,
            {
                "refund_amount": "250.00",
                "refund_method": "bank_transfer",
                "refund_voucher_number": "TK-0001",
            },
            "refunded",
        ),
        (
            "replace",
            "task_replace",
            SALES,
            {
                "replacement_batch": "B20261001",
                "replacement_quantity": "20",
                "replacement_delivery_number": "FH-0001",
            },
            "replaced",
        ),
    ],
)
def test_an_approved_return_is_picked_up_received_inspected_and_settled(
    returns: Engine, remedy: str, last_step: str, who: Actor, form: dict[str, Any], outcome: str
) -> None:
    add_ledger_line(returns)
    instance_id = through_notice(returns, requested_remedy=remedy)
    approve(returns, instance_id)

    pickup = only_task(returns, instance_id, "task_pickup")
    assert (pickup.role, pickup.form_key) == ("sales", "return_pickup")
    assert pickup.due_at == MONDAY_AFTERNOON  # 1 working day after approval [002 5.2.1]
    complete(returns, instance_id, "task_pickup", PICKUP_OK, SALES)

    receive = only_task(returns, instance_id, "task_receive")
    assert receive.role == "receiver"
    complete(returns, instance_id, "task_receive", RECEIVE_OK, WH)
    data = case_data(returns, instance_id)
    assert data["receipt_accepted"] is True and data["is_cold_chain"] is False

    inspect = only_task(returns, instance_id, "task_inspect")
    assert inspect.due_at == NEXT_FRIDAY_AFTERNOON  # 5 working days after receipt [003]
    complete(
        returns,
        instance_id,
        "task_inspect",
        {"inspection_result": "acceptable", "inspected_quantity": "20", "inspection_record_number": "YS-01"},
        INSPECTOR,
    )
    complete(
        returns, instance_id, "task_restock", {"storage_location": "A-03-02", "restocked_quantity": "20"}, WH
    )

    settle = only_task(returns, instance_id, last_step)
    assert settle.role in who.roles
    assert settle.due_at == NEXT_FRIDAY_AFTERNOON
    complete(returns, instance_id, last_step, form, who)

    row = instance_row(returns, instance_id)
    assert row.status == "completed" and not row.late
    assert case_data(returns, instance_id)["return_outcome"] == outcome
    assert completed_by(returns, instance_id) == [
        ("task_return_notice", "bill1"),
        ("task_approve_business", "bm1"),
        ("task_approve_quality", "qa1"),
        ("task_pickup", "sales1"),
        ("task_receive", "wh1"),
        ("task_inspect", "wh2"),
        ("task_restock", "wh1"),
        (last_step, who.username),
    ]
    assert breaches(returns, instance_id) == []


def test_goods_that_fail_inspection_are_destroyed_and_the_customer_still_refunded(returns: Engine) -> None:
    add_ledger_line(returns)
    instance_id = through_notice(returns, reason="quality_defect", package_intact="no")
    through_receipt(returns, instance_id)
    complete(
        returns,
        instance_id,
        "task_inspect",
        {
            "inspection_result": "unacceptable",
            "inspected_quantity": "20",
            "inspection_record_number": "YS-02",
            "inspection_note": "胶囊粘连变色",
        },
        INSPECTOR,
    )
    assert open_spec_ids(returns, instance_id) == ["task_nonconforming"]
    nonconforming = only_task(returns, instance_id, "task_nonconforming")
    assert (nonconforming.role, nonconforming.form_key) == ("storekeeper", "return_nonconforming")
    complete(
        returns,
        instance_id,
        "task_nonconforming",
        {"disposition": "destroy", "nonconforming_record_number": "BHG-0003"},
        WH,
    )
    assert case_data(returns, instance_id)["disposition"] == "destroy"
    complete(
        returns,
        instance_id,
        "task_refund",
        {"refund_amount": "250", "refund_method": "credit_note", "refund_voucher_number": "HZ-77"},
        FIN,
    )
    assert instance_row(returns, instance_id).status == "completed"
    assert "task_restock" not in [element for element, _ in completed_by(returns, instance_id)]


# --- cold chain ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_says_cold", "receipt", "expected_reason"),
    [
        pytest.param(
            "yes",
            {"temperature_records_complete": "yes", "temperature_excursion": "yes"},
            "冷藏药品售出期间温度超出规定范围",
            id="excursion",
        ),
        pytest.param(
            "no",  # the ledger knows it is a cold-chain product even if the request does not say so
            {"temperature_records_complete": "no", "temperature_excursion": "not_applicable"},
            "冷藏药品未提供售出期间完整的温度记录",
            id="records-missing",
        ),
    ],
)
def test_cold_chain_goods_without_a_clean_temperature_record_are_refused_and_reported_to_quality(
    returns: Engine, request_says_cold: str, receipt: dict[str, Any], expected_reason: str
) -> None:
    add_ledger_line(returns, product="重组人胰岛素注射液", batch="INS-2611", cold_chain=True)
    instance_id = through_notice(
        returns, product_name="重组人胰岛素注射液", batch_number="INS-2611", cold_chain=request_says_cold
    )
    approve(returns, instance_id)
    complete(returns, instance_id, "task_pickup", {**PICKUP_OK, "temperature_documents": "yes"}, SALES)
    complete(returns, instance_id, "task_receive", {**RECEIVE_OK, **receipt}, WH)

    assert open_spec_ids(returns, instance_id) == ["task_receipt_refused"]
    assert offered(returns, QA, instance_id) == ["task_receipt_refused"]
    assert offered(returns, WH, instance_id) == []
    data = case_data(returns, instance_id)
    assert data["receipt_accepted"] is False
    assert data["receipt_refusal_reason"] == expected_reason
    assert data["return_outcome"] == "refused_at_receipt"
    complete(
        returns,
        instance_id,
        "task_receipt_refused",
        {
            "refusal_record_number": "JS-0001",
            "refusal_handling": "拒收，货物退回客户，通知生产企业",
            "refusal_customer_informed": "yes",
        },
        QA,
    )
    assert instance_row(returns, instance_id).status == "completed"
    assert "task_inspect" not in [element for element, _ in completed_by(returns, instance_id)]


def test_cold_chain_goods_with_a_complete_clean_record_are_received(returns: Engine) -> None:
    add_ledger_line(returns, product="重组人胰岛素注射液", batch="INS-2611", cold_chain=True)
    instance_id = through_notice(returns, product_name="重组人胰岛素注射液", batch_number="INS-2611")
    approve(returns, instance_id)
    complete(returns, instance_id, "task_pickup", {**PICKUP_OK, "temperature_documents": "yes"}, SALES)
    complete(
        returns,
        instance_id,
        "task_receive",
        {**RECEIVE_OK, "temperature_records_complete": "yes", "temperature_excursion": "no"},
        WH,
    )
    assert open_spec_ids(returns, instance_id) == ["task_inspect"]
    assert case_data(returns, instance_id)["is_cold_chain"] is True


def test_goods_that_do_not_match_the_return_notice_are_refused(returns: Engine) -> None:
    add_ledger_line(returns)
    instance_id = through_notice(returns)
    approve(returns, instance_id)
    complete(returns, instance_id, "task_pickup", PICKUP_OK, SALES)
    complete(returns, instance_id, "task_receive", {**RECEIVE_OK, "goods_match": "no"}, WH)
    assert open_spec_ids(returns, instance_id) == ["task_receipt_refused"]
    assert case_data(returns, instance_id)["receipt_refusal_reason"] == "货物与销售退回通知单核对不符"


# --- roles ------------------------------------------------------------------------------------------


def test_only_the_lane_role_sees_and_completes_each_task(returns: Engine) -> None:
    add_ledger_line(returns)
    with pytest.raises(PermissionDenied):
        returns.start(PROCESS, request(), BILL)
    instance_id = start(returns)

    notice = only_task(returns, instance_id, "task_return_notice")
    for other in (SALES, BM, QA, WH, FIN):
        assert offered(returns, other, instance_id) == []
        with pytest.raises(PermissionDenied):
            returns.complete(notice.id, NOTICE_OK, other)
    assert offered(returns, BILL, instance_id) == ["task_return_notice"]
    returns.complete(notice.id, NOTICE_OK, BILL)

    business = only_task(returns, instance_id, "task_approve_business")
    quality = only_task(returns, instance_id, "task_approve_quality")
    with pytest.raises(PermissionDenied):
        returns.complete(business.id, {"bm_approved": "yes", "bm_comment": "同意"}, QA)
    with pytest.raises(PermissionDenied):
        returns.complete(quality.id, {"qa_approved": "yes", "qa_comment": "同意"}, BM)
    assert offered(returns, SALES, instance_id) == []
    approve(returns, instance_id)

    pickup = only_task(returns, instance_id, "task_pickup")
    with pytest.raises(PermissionDenied):
        returns.complete(pickup.id, PICKUP_OK, WH)
    returns.complete(pickup.id, PICKUP_OK, SALES)
    receive = only_task(returns, instance_id, "task_receive")
    assert offered(returns, SALES, instance_id) == []
    with pytest.raises(PermissionDenied):
        returns.complete(receive.id, RECEIVE_OK, QA)
    returns.complete(receive.id, RECEIVE_OK, WH)
    complete(
        returns,
        instance_id,
        "task_inspect",
        {"inspection_result": "acceptable", "inspected_quantity": "20", "inspection_record_number": "YS-01"},
        INSPECTOR,
    )
    complete(
        returns, instance_id, "task_restock", {"storage_location": "A-03-02", "restocked_quantity": "20"}, WH
    )
    refund = only_task(returns, instance_id, "task_refund")
    assert offered(returns, FIN, instance_id) == ["task_refund"]
    refund_form = {"refund_amount": "250", "refund_method": "cash", "refund_voucher_number": "TK-2"}
    with pytest.raises(PermissionDenied):
        returns.complete(refund.id, refund_form, SALES)
    returns.complete(refund.id, refund_form, FIN)
    assert instance_row(returns, instance_id).status == "completed"


# --- SLAs ---------------------------------------------------------------------------------------------


def test_a_pick_up_not_confirmed_within_one_working_day_escalates_and_is_recorded(returns: Engine) -> None:
    add_ledger_line(returns)
    instance_id = through_notice(returns)
    approve(returns, instance_id)  # Friday 15:30
    assert only_task(returns, instance_id, "task_pickup").due_at == MONDAY_AFTERNOON

    clock.freeze(datetime(2026, 11, 22, 15, 0, tzinfo=UTC))  # Sunday 23:00: the weekend does not count
    assert fire(returns, instance_id) == 0
    clock.freeze(MONDAY_AFTERNOON - timedelta(minutes=1))
    assert fire(returns, instance_id) == 0
    assert breaches(returns, instance_id) == []

    clock.freeze(MONDAY_AFTERNOON + timedelta(minutes=1))
    assert fire(returns, instance_id) == 1
    assert fire(returns, instance_id) == 0
    assert open_spec_ids(returns, instance_id) == ["task_pickup", "task_pickup_escalation"]  # not interrupted
    assert offered(returns, BM, instance_id) == ["task_pickup_escalation"]
    [breach] = breaches(returns, instance_id)
    assert (breach.sla, breach.element_id, breach.task_element_id) == (
        "pickup",
        "timer_pickup_late",
        "task_pickup",
    )
    assert breach.due_at == MONDAY_AFTERNOON
    assert breach.breached_at == MONDAY_AFTERNOON + timedelta(minutes=1)
    assert instance_row(returns, instance_id).late is True

    complete(
        returns, instance_id, "task_pickup_escalation", {"escalation_action": "已电话督促销售员当日提货"}, BM
    )
    complete(returns, instance_id, "task_pickup", PICKUP_OK, SALES)
    assert open_spec_ids(returns, instance_id) == ["task_receive"]


def test_a_refund_not_made_within_five_working_days_of_receipt_escalates_and_is_recorded(
    returns: Engine,
) -> None:
    add_ledger_line(returns)
    instance_id = through_notice(returns)
    through_receipt(returns, instance_id)  # received Friday 15:30
    clock.freeze(MONDAY_AFTERNOON)
    complete(
        returns,
        instance_id,
        "task_inspect",
        {"inspection_result": "acceptable", "inspected_quantity": "20", "inspection_record_number": "YS-01"},
        INSPECTOR,
    )
    complete(
        returns, instance_id, "task_restock", {"storage_location": "A-03-02", "restocked_quantity": "20"}, WH
    )
    # The limit counts from receipt, not from when the refund task was opened.
    assert only_task(returns, instance_id, "task_refund").due_at == NEXT_FRIDAY_AFTERNOON

    clock.freeze(NEXT_FRIDAY_AFTERNOON - timedelta(minutes=1))
    assert fire(returns, instance_id) == 0
    clock.freeze(NEXT_FRIDAY_AFTERNOON + timedelta(minutes=1))
    assert fire(returns, instance_id) == 1
    assert open_spec_ids(returns, instance_id) == ["task_refund", "task_remedy_escalation"]
    assert offered(returns, BM, instance_id) == ["task_remedy_escalation"]
    [breach] = breaches(returns, instance_id)
    assert (breach.sla, breach.element_id, breach.task_element_id) == (
        "refund",
        "timer_refund_late",
        "task_refund",
    )
    assert breach.due_at == NEXT_FRIDAY_AFTERNOON

    complete(
        returns,
        instance_id,
        "task_refund",
        {"refund_amount": "250", "refund_method": "bank_transfer", "refund_voucher_number": "TK-9"},
        FIN,
    )
    assert instance_row(returns, instance_id).status == "running"  # the escalation is still to be handled
    complete(returns, instance_id, "task_remedy_escalation", {"escalation_action": "财务已补办"}, BM)
    assert instance_row(returns, instance_id).status == "completed"
