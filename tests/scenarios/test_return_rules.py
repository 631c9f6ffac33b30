"""Sales-return rules found only in the seeds, driven through the real sales-return diagram.

- Receiving (收货员), inspection (验收员) and storage (保管员) are separate duties [002 4、5.2.2–5.2.4]:
  each step is offered to its own role, and the person who received the goods may not inspect
  them, even when they hold both roles — refused with a clear message, nothing changed.
"""

from __future__ import annotations

import pytest

from engine import clock
from engine.accounts.users import Actor
from engine.errors import DutiesNotSeparated
from engine.runtime import Engine
from engine.store.models import Event
from tests.conftest import actor, diagram_files
from tests.scenarios.test_sales_return import (
    FRIDAY_AFTERNOON,
    INSPECTOR,
    PICKUP_OK,
    RECEIVE_OK,
    SALES,
    WH,
    add_ledger_line,
    approve,
    complete,
    completed_by,
    offered,
    only_task,
    through_notice,
)

INSPECTION = {
    "inspection_result": "acceptable",
    "inspected_quantity": "20",
    "inspection_record_number": "YS-09",
}


@pytest.fixture
def returns(engine: Engine) -> Engine:
    clock.freeze(FRIDAY_AFTERNOON)  # Friday 2026-11-20 15:30 Shanghai
    engine.deploy(diagram_files(), deployed_by="owner1")
    return engine


#: A small warehouse where one person holds all three duties.
ALL_DUTIES = actor("wh9", "warehouse", "receiver", "inspector", "storekeeper")


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
        returns.complete(inspect.id, INSPECTION, ALL_DUTIES)
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
