"""Sales-return rules found only in the seeds, driven through the real sales-return diagram.

- Receiving (收货员), inspection (验收员) and storage (保管员) are separate duties [002 4、5.2.2–5.2.4]:
  each step is offered to its own role, and the person who received the goods may not inspect
  them, even when they hold both roles — refused with a clear message, nothing changed.
- Goods whose quality cannot be confirmed are sampled and sent for testing; the decision waits
  for the result [002 药品退货管理制度 六.3].
- A quality problem may be returned within 7 days or exchanged within 30 days of purchase (calendar
  days) [002 售后服务管理规程 三章 2], rows of the return_eligibility table before the consumer's
  3-working-day window [003 二.1].
"""

from __future__ import annotations

from datetime import date

import pytest

from engine import clock
from engine.accounts import users
from engine.accounts.users import Actor, create_user
from engine.errors import DutiesNotSeparated
from engine.runtime import Engine
from engine.store.models import Event
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.roles import ROLE_KEYS
from tests.conftest import actor, diagram_files
from tests.scenarios.test_sales_return import (
    BILL,
    FRIDAY_AFTERNOON,
    INSPECTOR,
    NOTICE_OK,
    PICKUP_OK,
    QA,
    RECEIVE_OK,
    SALES,
    WH,
    add_ledger_line,
    approve,
    case_data,
    complete,
    completed_by,
    offered,
    only_task,
    open_spec_ids,
    start,
    through_notice,
)

INSPECTION = {
    "inspection_result": "acceptable",
    "inspected_quantity": "20",
    "inspection_record_number": "YS-09",
}


#: A small warehouse where one person holds all three duties.
ALL_DUTIES_ROLES = ("warehouse", "receiver", "inspector", "storekeeper")
ALL_DUTIES = actor("wh9", *ALL_DUTIES_ROLES)


@pytest.fixture
def returns(engine: Engine, demo_password_hash: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    clock.freeze(FRIDAY_AFTERNOON)  # Friday 2026-11-20 15:30 Shanghai
    engine.deploy(diagram_files(), deployed_by="owner1")
    # Approvers and inspectors sign with their passwords, so the users exist (one scrypt hash for all).
    with monkeypatch.context() as patch, engine.writer.begin() as session:
        patch.setattr(users, "hash_password", lambda _password: demo_password_hash)
        for username, display_name, roles in (*DEMO_USERS, ("wh9", "全能仓管", ALL_DUTIES_ROLES)):
            create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name)
    return engine


def received_by(engine: Engine, who: Actor) -> int:
    add_ledger_line(engine)
    instance_id = through_notice(engine)
    approve(engine, instance_id)
    complete(engine, instance_id, "task_pickup", PICKUP_OK, SALES)
    assert only_task(engine, instance_id, "task_receive").role == "receiver"
    engine.complete(only_task(engine, instance_id, "task_receive").id, RECEIVE_OK, who)
    return instance_id


def test_receiving_inspection_and_storage_are_offered_to_separate_roles(returns: Engine) -> None:
    instance_id = received_by(returns, WH)
    inspect = only_task(returns, instance_id, "task_inspect")
    assert inspect.role == "inspector"
    assert offered(returns, WH, instance_id) == []  # the receiving clerk is no inspector
    assert offered(returns, INSPECTOR, instance_id) == ["task_inspect"]
    complete(returns, instance_id, "task_inspect", INSPECTION, INSPECTOR)
    assert only_task(returns, instance_id, "task_restock").role == "storekeeper"


def test_who_received_the_goods_may_not_inspect_them(returns: Engine) -> None:
    instance_id = received_by(returns, ALL_DUTIES)
    inspect = only_task(returns, instance_id, "task_inspect")
    with returns.sessions() as session:
        before = session.query(Event).filter(Event.instance_id == instance_id).count()
    with pytest.raises(DutiesNotSeparated, match="another person must do this step") as refused:
        returns.complete(inspect.id, INSPECTION, ALL_DUTIES, DEMO_PASSWORD)
    assert refused.value.step == "收货核对"
    with pytest.raises(DutiesNotSeparated):
        returns.claim(inspect.id, ALL_DUTIES)
    # Nothing changed: the task is still open and unclaimed, no event was written.
    still = only_task(returns, instance_id, "task_inspect")
    assert (still.state, still.assignee) == ("open", None)
    with returns.sessions() as session:
        assert session.query(Event).filter(Event.instance_id == instance_id).count() == before

    complete(returns, instance_id, "task_inspect", INSPECTION, INSPECTOR)
    assert ("task_inspect", "wh2") in completed_by(returns, instance_id)


def inspected_as_doubtful(engine: Engine) -> int:
    instance_id = received_by(engine, WH)
    doubtful = {**INSPECTION, "inspection_result": "doubtful", "inspection_note": "胶囊颜色不均，无法确认"}
    complete(engine, instance_id, "task_inspect", doubtful, INSPECTOR)
    return instance_id


@pytest.mark.parametrize(
    ("result", "next_step"), [("acceptable", "task_restock"), ("unacceptable", "task_nonconforming")]
)
def test_doubtful_quality_is_sent_for_testing_and_the_result_decides(
    returns: Engine, result: str, next_step: str
) -> None:
    instance_id = inspected_as_doubtful(returns)
    assert open_spec_ids(returns, instance_id) == ["task_sample_test"]
    assert only_task(returns, instance_id, "task_sample_test").role == "quality"
    tested = {
        "sample_lab": "省药品检验研究院",
        "sample_quantity": 2,
        "sample_report_number": "JY-2026-118",
        "inspection_result": result,
    }
    complete(returns, instance_id, "task_sample_test", tested, QA)
    assert open_spec_ids(returns, instance_id) == [next_step]
    assert case_data(returns, instance_id)["sample_report_number"] == "JY-2026-118"


@pytest.mark.parametrize(
    ("remedy", "bought", "eligible", "reason"),
    [
        # Friday 20 Nov: bought Monday 16th, 4 days (4 working days, past the 3-day window).
        pytest.param("refund", date(2026, 11, 16), True, "", id="refund-in-7-days"),
        pytest.param("refund", date(2026, 11, 10), False, "7 天", id="refund-after-7-days"),
        pytest.param("replace", date(2026, 11, 1), True, "", id="exchange-in-30-days"),
        pytest.param("replace", date(2026, 10, 15), False, "30 天", id="exchange-after-30-days"),
    ],
)
def test_a_quality_problem_may_be_returned_in_7_days_or_exchanged_in_30(
    returns: Engine, remedy: str, bought: date, eligible: bool, reason: str
) -> None:
    add_ledger_line(returns, sale_date=bought)
    instance_id = start(
        returns,
        customer_type="consumer",
        purchase_date=bought.isoformat(),
        reason="quality_defect",
        package_intact="no",
        requested_remedy=remedy,
    )
    complete(returns, instance_id, "task_return_notice", NOTICE_OK, BILL)
    data = case_data(returns, instance_id)
    assert data["calendar_days_since_purchase"] == (date(2026, 11, 20) - bought).days
    assert data["eligible"] is eligible
    assert reason in data["ineligible_reason"]
