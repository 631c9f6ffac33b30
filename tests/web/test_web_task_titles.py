"""Titles computed from the case (「通知 …」) read in English for English readers (the diagram's ``title_en``)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient
from sqlalchemy import select

from engine import clock
from engine.accounts.users import create_user
from engine.store.models import ProcessInstance, Task
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.records.models import SalesLedgerEntry
from processes.roles import ROLE_KEYS
from tests.web.conftest import Web

ROLES = {username: roles for username, _name, roles in DEMO_USERS}
PURCHASERS = ("瑞金医院药剂科", "华山医院药房")


def recall_with_two_purchasers(web: Web) -> str:
    today = clock.now().date()
    with web.engine.writer.begin() as session:
        create_user(session, "qa1", DEMO_PASSWORD, ROLES["qa1"], ROLE_KEYS, "周质管")
        for index, purchaser in enumerate(PURCHASERS):
            session.add(
                SalesLedgerEntry(
                    document_number=f"XS-T-{index}",
                    line_number=1,
                    product_name="阿莫西林胶囊",
                    specification="0.25g×24粒",
                    batch_number="RC-T-01",
                    expiry_date=today + timedelta(days=500),
                    quantity=10 + index,
                    unit="盒",
                    unit_price=Decimal("12.5000"),
                    sale_date=today - timedelta(days=10),
                    purchaser_name=purchaser,
                    purchaser_contact="联系人 021-52880000",
                    imported_at=clock.now(),
                )
            )
    opened = web.client("qa1").post(
        "/start/recall",
        data={
            "product_name": "阿莫西林胶囊",
            "specification": "0.25g×24粒",
            "batch_numbers": "RC-T-01",
            "recall_type": "voluntary",
            "recall_level": "1",
            "reason": "抽检含量不合格",
        },
    )
    assert opened.status_code == 302, opened.text
    with web.engine.sessions() as session:
        number = session.scalar(
            select(ProcessInstance.business_number).where(ProcessInstance.process_key == "recall")
        )
    assert number is not None
    return number


def english(web: Web, username: str) -> FlaskClient:
    client = web.client(username)
    client.post("/language", data={"lang": "en"})
    return client


def notification(web: Web, number: str, purchaser: str) -> Task:
    with web.engine.sessions() as session:
        found = session.scalar(
            select(Task)
            .join(ProcessInstance, Task.instance_id == ProcessInstance.id)
            .where(ProcessInstance.business_number == number, Task.name == f"通知 {purchaser}")
        )
    assert found is not None
    return found


def test_a_computed_title_reads_in_english_in_the_inbox_and_on_the_task_page(web: Web) -> None:
    number = recall_with_two_purchasers(web)
    qa1 = english(web, "qa1")

    rows = [r for r in web.rows(qa1, "offered") if r.business_number == number]
    assert sorted(r.step for r in rows) == sorted(f"Notify {purchaser}" for purchaser in PURCHASERS)
    task = notification(web, number, PURCHASERS[0])
    page = qa1.get(f"/tasks/{task.id}").text
    assert re.search(rf"<h1>\s*Notify {PURCHASERS[0]}\s*</h1>", page)
    assert "通知 " + PURCHASERS[0] not in page.split("<h1>", 1)[1].split("</h1>", 1)[0]

    # Chinese readers keep the title as computed in Chinese.
    qa1.post("/language", data={"lang": "zh"})
    chinese = [r.step for r in web.rows(qa1, "offered") if r.business_number == number]
    assert sorted(chinese) == sorted(f"通知 {purchaser}" for purchaser in PURCHASERS)


def test_the_completion_message_names_the_task_by_its_english_title(web: Web) -> None:
    number = recall_with_two_purchasers(web)
    qa1 = english(web, "qa1")
    task = notification(web, number, PURCHASERS[1])
    done = qa1.post(
        f"/tasks/{task.id}",
        data={
            "notified_at": clock.now().astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M"),
            "method": "phone",
            "contact_person": "药剂科主任",
            "acknowledged": "on",
            "quantity_to_return": "0",
        },
        follow_redirects=True,
    )
    assert f"Notify {PURCHASERS[1]} of {number} is done." in " ".join(web.flashes(done.text))


def test_the_history_names_each_task_by_its_english_title(web: Web) -> None:
    number = recall_with_two_purchasers(web)
    qa1 = english(web, "qa1")
    task = notification(web, number, PURCHASERS[0])

    page = qa1.get(f"/tasks/{task.id}").text
    history = re.sub(r"<[^>]+>", " ", page[page.index('<ol class="history">') :])
    for purchaser in PURCHASERS:
        assert f"Notify {purchaser}" in history  # whom each notification concerns, in English
        assert f"通知 {purchaser}" not in history
