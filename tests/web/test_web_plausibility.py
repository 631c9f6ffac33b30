"""The server refuses implausible input with a message naming the field, and changes nothing.

Dates are relative to now in Asia/Shanghai; each rule is tried over HTTP as the demo user who
holds the step, in Chinese and (for one) in English.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine import clock
from engine.accounts.users import Actor, create_user
from engine.store.models import Event, ProcessInstance, Task
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.roles import ROLE_KEYS
from tests.conftest import COMPLAINT_RECEIVED
from tests.web.conftest import Web, add_sale, case_day, closing_steps, return_request

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROLES = {username: roles for username, _name, roles in DEMO_USERS}
TECH = Actor("tech1", frozenset({"technician"}))


def local_now() -> datetime:
    return clock.now().astimezone(SHANGHAI)


def today() -> date:
    return local_now().date()


@pytest.fixture
def staff(web: Web) -> Web:
    with web.engine.writer.begin() as session:
        for username in ("qa1", "sales1", "gm1"):
            create_user(session, username, DEMO_PASSWORD, ROLES[username], ROLE_KEYS, username)
    return web


def errors_of(html: str, key: str) -> str:
    return " ".join(Web.field_block(html, key).split())


def completions(web: Web, task_id: str) -> int:
    with web.engine.sessions() as session:
        return int(
            session.scalar(
                select(func.count()).where(Event.task_id == task_id, Event.action == "task_completed")
            )
            or 0
        )


def still_open(web: Web, task_id: str) -> bool:
    with web.engine.sessions() as session:
        row = session.get(Task, task_id)
        return row is not None and row.state == "open"


def cases_of(web: Web, process_key: str) -> int:
    with web.engine.sessions() as session:
        return int(
            session.scalar(select(func.count()).where(ProcessInstance.process_key == process_key)) or 0
        )


def submit(client: FlaskClient, task_id: str, data: dict[str, str]) -> str:
    response = client.post(f"/tasks/{task_id}", data={**data, "action": "complete"})
    assert response.status_code == 422, response.status_code
    return response.text


@pytest.mark.parametrize(
    ("arrived_at", "expected"),
    [
        ("1900-01-01T09:00", "「实际到达时间」不能早于报修受理时间"),
        (None, "「实际到达时间」不能晚于当前时间"),
    ],
)
def test_an_arrival_before_the_call_or_in_the_future_is_refused(
    web: Web, arrived_at: str | None, expected: str
) -> None:
    _number, arrival = web.repair_at_arrival()
    moment = arrived_at or (local_now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    tech1 = web.client("tech1")

    page = submit(tech1, arrival.id, {"arrived_at": moment, "fault_level": "minor"})

    assert expected in errors_of(page, "arrived_at")
    assert still_open(web, arrival.id) and completions(web, arrival.id) == 0
    now = local_now().strftime("%Y-%m-%dT%H:%M")
    done = tech1.post(f"/tasks/{arrival.id}", data={"arrived_at": now, "fault_level": "minor"})
    assert done.status_code == 302  # the true time is accepted


def test_the_refusal_reads_in_english_for_an_english_user(web: Web) -> None:
    _number, arrival = web.repair_at_arrival()
    tech1 = web.client("tech1")
    tech1.set_cookie("lang", "en")

    page = submit(tech1, arrival.id, {"arrived_at": "1900-01-01T09:00", "fault_level": "minor"})

    assert "“Arrived at” cannot be before the time the call was taken" in errors_of(page, "arrived_at")


@pytest.mark.parametrize(
    ("changes", "key", "expected"),
    [
        ({"quantity": "5", "defect_quantity": "50"}, "defect_quantity", "「不良数量」不能大于数量（5）"),
        ({"delivery_date": "2099-01-01"}, "delivery_date", "「交运日期」不能晚于今天"),
    ],
)
def test_a_complaint_with_more_defects_than_delivered_or_a_future_delivery_is_refused(
    staff: Web, changes: dict[str, str], key: str, expected: str
) -> None:
    sales1 = staff.client("sales1")
    before = cases_of(staff, "complaint")
    data = {**COMPLAINT_RECEIVED, "delivery_date": (today() - timedelta(days=30)).isoformat(), **changes}

    response = sales1.post("/start/complaint", data=data)

    assert response.status_code == 422
    assert expected in errors_of(response.text, key)
    assert cases_of(staff, "complaint") == before


@pytest.mark.parametrize(
    ("changes", "key", "expected"),
    [
        ({"quantity": "99999"}, "quantity", "「退货数量」不能大于销售记录中的销售数量（500）"),
        ({"purchase_date": "2099-01-01"}, "purchase_date", "「购买日期」不能晚于今天"),
    ],
)
def test_a_return_beyond_the_ledger_or_bought_in_the_future_is_refused(
    staff: Web, changes: dict[str, str], key: str, expected: str
) -> None:
    add_sale(staff.engine, "华山医院药房", 500, "B20260601", "XS-B20260601-华山")
    sales1 = staff.client("sales1")
    before = cases_of(staff, "sales_return")

    response = sales1.post("/start/sales_return", data=return_request(**changes))

    assert response.status_code == 422
    assert expected in errors_of(response.text, key)
    assert cases_of(staff, "sales_return") == before
    assert sales1.post("/start/sales_return", data=return_request(quantity="500")).status_code == 302


def test_a_major_complaint_answered_by_phone_is_refused_and_stays_with_its_holder(staff: Web) -> None:
    sales = Actor("sales1", frozenset({"sales"}))
    case = staff.engine.start("complaint", dict(COMPLAINT_RECEIVED), sales)
    number = case.business_number
    for spec_id, username, role, data in closing_steps(case_day(staff, number), "major"):
        if spec_id == "task_reply":
            break
        task = staff.open_task(number, spec_id)
        # The general manager signs the approval with the password [SPEC §3 records].
        password = DEMO_PASSWORD if spec_id == "task_gm_approval" else None
        staff.engine.complete(task.id, data, Actor(username, frozenset({role})), password=password)
    reply = staff.open_task(number, "task_reply")
    sales1 = staff.client("sales1")
    sales1.post(f"/tasks/{reply.id}/claim")
    phone = {
        "reply_channel": "phone",
        "reply_date": today().isoformat(),
        "reply_text": "为您更换整机。",
        "reply_within_approval": "on",
    }

    page = submit(sales1, reply.id, phone)

    assert "重大投诉须书面函告" in errors_of(page, "reply_channel")
    with staff.engine.sessions() as session:
        row = session.get(Task, reply.id)
        assert row is not None and (row.state, row.assignee) == ("open", "sales1")
    letter = {**phone, "reply_channel": "letter"}
    assert sales1.post(f"/tasks/{reply.id}", data=letter).status_code == 302
