"""Separation of duties on the task page: the refusal says why, in the user's language."""

from __future__ import annotations

from sqlalchemy import select

from engine.accounts.users import Actor, create_user
from engine.store.models import Task
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.roles import ROLE_KEYS
from tests.scenarios.test_sales_return import (
    PICKUP_OK,
    RECEIVE_OK,
    SALES,
    add_ledger_line,
    approve,
    complete,
    only_task,
    through_notice,
)
from tests.web.conftest import Web

DUTIES = ("warehouse", "receiver", "inspector", "storekeeper")
INSPECTION = {
    "inspection_result": "acceptable",
    "inspected_quantity": "20",
    "inspection_record_number": "YS-7",
}


def test_who_received_the_goods_is_told_in_their_language_that_another_person_must_inspect(web: Web) -> None:
    engine = web.engine
    with engine.writer.begin() as session:
        create_user(session, "wh9", DEMO_PASSWORD, DUTIES, ROLE_KEYS, "全能仓管")
        for username, display_name, roles in DEMO_USERS:  # the approvers sign with their passwords
            if username in ("bm1", "qa1"):
                create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name)
    add_ledger_line(engine)
    case = through_notice(engine)
    approve(engine, case)
    complete(engine, case, "task_pickup", PICKUP_OK, SALES)
    complete(engine, case, "task_receive", RECEIVE_OK, Actor("wh9", frozenset(DUTIES)))
    inspect = only_task(engine, case, "task_inspect")

    wh9 = web.client("wh9")
    page = wh9.post(f"/tasks/{inspect.id}", data=INSPECTION)
    assert page.status_code == 409
    assert "您本人已在本案办理“收货核对”，此环节须由另一人办理（职责分离）。" in web.flashes(page.text)
    wh9.post("/language", data={"lang": "en"})
    page = wh9.post(f"/tasks/{inspect.id}", data=INSPECTION)
    assert (
        "You did “收货核对” on this case yourself; another person must do this step (separation of duties)."
        in web.flashes(page.text)
    )
    with engine.sessions() as session:
        assert session.scalar(select(Task.state).where(Task.id == inspect.id)) == "open"
