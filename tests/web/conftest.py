"""Web fixtures: the real app over the deployed test database, demo users, and page helpers.

Tests drive the app through Flask's test client and read pages the way a user would:
the inbox tabs (``/?tab=mine``, ``offered``, ``done``, ``team``: one table each, with the
tab's name as its id), flash messages and the field blocks of a form
(``<div class="field" data-field="KEY">``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import clock
from engine.accounts import users
from engine.accounts.users import Actor, create_user
from engine.calendar import CalendarConfig
from engine.runtime import Engine
from engine.store.models import ProcessDefinition, ProcessInstance, Task, User
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.records.models import Customer, MaintenanceContract, Product, SalesLedgerEntry
from processes.roles import ROLE_KEYS
from tests.web.api_client import api  # noqa: F401  (the API tests' fixture)
from web.app import create_app
from web.settings import Settings

# Hashing a password costs ~65 ms, so only the demo users these tests log in as are created
# (plus a second customer service user to race cs1 for the same task), all with one hash.
WEB_USERS = ("cs1", "sup1", "tech1", "tech2")
EXTRA_USERS = (("cs2", "刘客服", ("customer_service",)),)

#: A complete repair request (start form repair_register) that leads to 派工 when not solved
#: by phone: a maintenance contract in force makes it an A case (合同服务).
REPAIR_REQUEST: dict[str, str] = {
    "channel": "phone",
    "customer_name": "华东精密机械有限公司",
    "customer_phone": "021-5555-0101",
    "customer_address": "上海市浦东新区张江路 88 号",
    "product_model": "HX-200 数控机床",
    "serial_number": "SN-0001",
    "fault_description": "主轴异响，无法启动。",
    "urgency": "normal",
    "distance_band": "urban",
    "contract_in_force": "true",
    "cause": "normal",
}


#: A fixed "now" for inbox tests: 2026-03-10 10:00 in Shanghai (a Tuesday).
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Seed:
    """A case with one task, written straight into the projection tables (no workflow behind it).

    Inbox tests need many tasks with chosen due times, roles and urgencies; the inbox reads only
    the projections, so rows that look like real ones are enough (and fast).
    """

    number: str
    customer: str = "华东精密机械有限公司"
    role: str | None = "customer_service"
    assignee: str | None = None
    due: datetime | None = None
    priority: str | None = "normal"
    process: str = "repair_service"
    step: tuple[str, str] = ("task_remote_guidance", "电话指导")
    state: str = "open"
    completed_by: str | None = None
    completed_at: datetime | None = None
    status: str = "running"
    created: datetime = NOW - timedelta(days=1)


def settings_in(instance_dir: Path) -> Settings:
    """Settings that keep the app's files in a temporary folder."""
    return Settings(
        database_url="sqlite://",  # unused: the engine comes from AFTERFLOW_ENGINE
        secret_key="web-tests-secret",
        instance_dir=instance_dir,
        calendar=CalendarConfig(),
        embedded_runner=False,
    )


@dataclass(frozen=True)
class Row:
    """One line of an inbox table."""

    task_id: str
    cells: list[str]

    @property
    def business_number(self) -> str:
        return self.cells[0]

    @property
    def step(self) -> str:
        return self.cells[2]

    @property
    def customer(self) -> str:
        return self.cells[3]


class _TableParser(HTMLParser):
    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.depth = 0  # >0 while inside the wanted table
        self.rows: list[Row] = []
        self._row: Row | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and (self.depth or found.get("id") == self.table_id):
            self.depth += 1
        elif self.depth and tag == "tr" and found.get("data-task-id"):
            self._row = Row(str(found["data-task-id"]), [])
        elif self._row is not None and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag == "td" and self._row is not None and self._cell is not None:
            self._row.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_rows(html: str, table_id: str) -> list[Row]:
    """Return the task rows of the inbox table with this id ([] when the section is empty)."""
    parser = _TableParser(table_id)
    parser.feed(html)
    return parser.rows


def field_block(html: str, key: str) -> str:
    """Return the HTML of one form field's block (label, input, errors)."""
    match = re.search(
        rf'<div class="field[^"]*" data-field="{re.escape(key)}">(.*?)\n</div>', html, flags=re.DOTALL
    )
    assert match, f"no field block for {key!r} on the page"
    return match.group(0)


def flashes(html: str) -> list[str]:
    """Return the flash messages shown on a page."""
    return [" ".join(m.split()) for m in re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', html, re.DOTALL)]


class Web:
    """The app under test, with helpers to log in, start cases and read inboxes."""

    request = REPAIR_REQUEST
    table_rows = staticmethod(table_rows)
    field_block = staticmethod(field_block)
    flashes = staticmethod(flashes)

    def __init__(self, app: Flask, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    def client(self, username: str | None = None) -> FlaskClient:
        """Return a new browser-like client, logged in as ``username`` if given."""
        client = self.app.test_client()
        if username is not None:
            response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
            assert response.status_code == 302, f"{username} could not log in"
        return client

    def rows(self, client: FlaskClient, table_id: str, **args: str) -> list[Row]:
        """Return the rows of one inbox tab (``mine``, ``offered``, ``done``, ``team``) as ``client`` sees it."""
        response = client.get("/", query_string={"tab": table_id, **args})
        assert response.status_code == 200
        return table_rows(response.text, table_id)

    def seed(self, *seeds: Seed) -> list[str]:
        """Write cases with one task each into the projection tables; return the task ids."""
        ids: list[str] = []
        with self.engine.writer.begin() as session:
            for seed in seeds:
                definition_id = session.scalar(
                    select(ProcessDefinition.id)
                    .where(ProcessDefinition.process_key == seed.process)
                    .order_by(ProcessDefinition.version.desc())
                    .limit(1)
                )
                assert definition_id is not None, f"{seed.process} is not deployed"
                instance = ProcessInstance(
                    business_number=seed.number,
                    definition_id=definition_id,
                    process_key=seed.process,
                    status=seed.status,
                    state="",
                    lock_version=1,
                    started_by="cs1",
                    started_at=seed.created,
                    updated_at=seed.created,
                    customer_name=seed.customer,
                    product="HX-200 数控机床",
                    priority=seed.priority,
                    current_step=seed.step[1],
                    due_at=seed.due,
                )
                session.add(instance)
                session.flush()
                task_id = str(uuid.uuid4())
                session.add(
                    Task(
                        id=task_id,
                        instance_id=instance.id,
                        spec_id=seed.step[0],
                        name=seed.step[1],
                        role=seed.role,
                        assignee=seed.assignee or seed.completed_by,
                        state=seed.state,
                        created_at=seed.created,
                        claimed_at=seed.created if seed.assignee else None,
                        completed_at=seed.completed_at,
                        completed_by=seed.completed_by,
                        due_at=seed.due,
                    )
                )
                ids.append(task_id)
        return ids

    def open_task(self, number: str, spec_id: str) -> Task:
        """Return the open task ``spec_id`` of case ``number``."""
        with self.engine.sessions() as session:
            task = session.scalar(
                select(Task)
                .join(ProcessInstance, Task.instance_id == ProcessInstance.id)
                .where(
                    ProcessInstance.business_number == number, Task.spec_id == spec_id, Task.state == "open"
                )
            )
            assert task is not None, f"{number} has no open {spec_id}"
            return task

    def repair_at_arrival(self, technician: str = "tech1") -> tuple[str, Task]:
        """Start a repair case and move it (through the engine) to the technician's 到达现场."""
        number = self.start_repair(self.client("cs1"))
        guidance = self.open_task(number, "task_remote_guidance")
        self.engine.complete(
            guidance.id, {"solved_by_phone": "no"}, Actor("cs1", frozenset({"customer_service"}))
        )
        dispatch = self.open_task(number, "task_dispatch")
        self.engine.complete(
            dispatch.id, {"technician": technician}, Actor("sup1", frozenset({"service_supervisor"}))
        )
        return number, self.open_task(number, "task_arrival")

    @staticmethod
    def freeze(at: datetime = NOW) -> None:
        """Stop the clock (the fixtures start it again after each test)."""
        clock.freeze(at)

    def start_repair(self, client: FlaskClient, **fields: str) -> str:
        """Start a repair case through the start form; return its business number."""
        response = client.post("/start/repair_service", data={**REPAIR_REQUEST, **fields})
        assert response.status_code == 302, response.text
        response = client.get(response.location)
        (message,) = [m for m in flashes(response.text) if "RO-" in m]
        match = re.search(r"RO-\d{8}-\d{4}", message)
        assert match
        return match.group(0)

    def task_id(self, client: FlaskClient, number: str, step: str, table_id: str = "offered") -> str:
        """Return the id of the task ``step`` of case ``number`` in one of the client's tables."""
        matching = [r for r in self.rows(client, table_id) if r.business_number == number and r.step == step]
        assert len(matching) == 1, f"{step} of {number} not in {table_id}: {self.rows(client, table_id)}"
        return matching[0].task_id


@pytest.fixture(scope="session")
def demo_password_hash() -> str:
    return users.hash_password(DEMO_PASSWORD)


@pytest.fixture
def app(deployed: Engine, tmp_path: Path, demo_password_hash: str) -> Flask:
    """The app over the deployed test database, CSRF off (see test_csrf_* for CSRF on)."""
    real_hash = users.hash_password
    with pytest.MonkeyPatch.context() as patch, deployed.writer.begin() as session:
        patch.setattr(
            users, "hash_password", lambda p: demo_password_hash if p == DEMO_PASSWORD else real_hash(p)
        )
        for username, display_name, roles in DEMO_USERS:
            if username in WEB_USERS:
                create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name)
        for username, display_name, roles in EXTRA_USERS:
            create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name)
    return create_app(
        {"TESTING": True, "WTF_CSRF_ENABLED": False, "AFTERFLOW_ENGINE": deployed},
        settings_in(tmp_path),
    )


@pytest.fixture
def web(app: Flask, deployed: Engine) -> Web:
    return Web(app, deployed)


@pytest.fixture
def make_app(app: Flask, deployed: Engine, tmp_path: Path) -> Callable[..., Flask]:
    """Build another app over the same database and users with other Flask settings."""

    def make(**config: Any) -> Flask:
        return create_app({"AFTERFLOW_ENGINE": deployed, **config}, settings_in(tmp_path))

    return make


SHANGHAI = ZoneInfo("Asia/Shanghai")


def closing_steps(on: date, severity: str = "general") -> tuple[tuple[str, str, str, dict[str, Any]], ...]:
    """The steps that close a complaint, each by a holder of its lane's role, dated ``on``.

    ``on`` is the day the steps are done (the case's day: plausibility refuses a visit or a reply
    before the complaint or in the future); a major complaint adds the general manager's 批阅.
    """
    day = on.isoformat()
    acknowledge = (
        (
            (
                "task_gm_acknowledge",
                "gm1",
                "general_manager",
                {"gm_acknowledge_instructions": "立即处理，函告客户"},
            ),
        )
        if severity == "major"
        else ()
    )
    return (
        (
            "task_first_response",
            "sales1",
            "sales",
            {"first_response_channel": "phone", "first_response_text": "已收到"},
        ),
        ("task_register", "qa1", "quality", {"severity": severity, "screening_opinion": "返修后复发"}),
        *acknowledge,
        (
            "task_investigation",
            "qa1",
            "quality",
            {"investigation_report": "电源板虚焊", "complaint_substantiated": "yes"},
        ),
        (
            "task_cause_analysis",
            "qa1",
            "quality",
            {
                "cause_analysis": "返修未更换电源板",
                "responsible_department": "production",
                "cause_type": "process",
                "proposed_disposition": "replace",
                "disposition_detail": "更换整机",
            },
        ),
        (
            "task_countermeasure",
            "techdept1",
            "technical",
            {"technical_cause": "焊点疲劳", "countermeasure": "增加检查"},
        ),
        ("task_loss", "fin1", "finance", {"loss_amount": "100"}),
        (
            "task_gm_approval",
            "gm1",
            "general_manager",
            {"approval_decision": "approve", "approved_disposition": "更换"},
        ),
        (
            "task_customer_visit",
            "techdept1",
            "technical",
            {
                "visitor": "王主管",
                "visitor_capacity": "head",
                "visit_date": day,
                "visit_result": "已当面说明",
            },
        ),
        (
            "task_reply",
            "sales1",
            "sales",
            {
                "reply_channel": "letter" if severity == "major" else "phone",
                "reply_date": day,
                "reply_text": "为您更换。",
                "reply_within_approval": True,
            },
        ),
        ("task_customer_decision", "sales1", "sales", {"customer_accepts": "yes"}),
        (
            "task_improvement_tracking",
            "qa1",
            "quality",
            {"improvement_result": "已修订", "improvement_effective": "yes"},
        ),
    )


def case_day(web: Web, number: str) -> date:
    """The day (in Shanghai) case ``number`` was started: the shared walks' steps are dated so."""
    with web.engine.sessions() as session:
        started = session.scalar(
            select(ProcessInstance.started_at).where(ProcessInstance.business_number == number)
        )
    assert started is not None, f"no case {number}"
    return started.astimezone(SHANGHAI).date()


def close_complaint(web: Web, number: str) -> None:
    with web.engine.writer.begin() as session:  # the general manager signs the approval
        if session.scalar(select(User.id).where(User.username == "gm1")) is None:
            create_user(session, "gm1", DEMO_PASSWORD, ("general_manager",), ROLE_KEYS, "卫总")
    for spec_id, username, role, data in closing_steps(case_day(web, number)):
        web.engine.complete(
            web.open_task(number, spec_id).id, data, Actor(username, frozenset({role})), DEMO_PASSWORD
        )
    with web.engine.sessions() as session:
        status = session.scalar(
            select(ProcessInstance.status).where(ProcessInstance.business_number == number)
        )
    assert status == "completed"


# --- records the walks start from (shared with the browser walks) ------------------------------------


def _shanghai_today() -> date:
    return clock.now().astimezone(SHANGHAI).date()


def add_sale(
    engine: Engine, purchaser: str, quantity: int, batch: str, document: str, contact: str = ""
) -> None:
    """One line of the sales ledger: ``quantity`` boxes of amoxicillin of ``batch`` sold ten days ago."""
    today = _shanghai_today()
    with engine.writer.begin() as session:
        session.add(
            SalesLedgerEntry(
                document_number=document,
                line_number=1,
                product_name="阿莫西林胶囊",
                specification="0.25g×24粒",
                batch_number=batch,
                expiry_date=today + timedelta(days=500),
                quantity=quantity,
                unit="盒",
                unit_price=Decimal("12.5000"),
                sale_date=today - timedelta(days=10),
                purchaser_name=purchaser,
                purchaser_contact=contact or f"{purchaser}联系人 021-5288{quantity:04d}",
                imported_at=clock.now(),
            )
        )


def archive_machine_under_contract(engine: Engine, serial: str, contract: str) -> None:
    """A customer's machine out of warranty but under maintenance contract ``contract``."""
    today = _shanghai_today()
    with engine.writer.begin() as session:
        customer = Customer(name="华东精密机械有限公司", phone="021-5555-0101", created_at=clock.now())
        session.add(customer)
        session.flush()
        product = Product(
            customer_id=customer.id,
            model="HX-200 数控机床",
            serial_number=serial,
            sale_date=today - timedelta(days=800),
            invoice_date=today - timedelta(days=800),
            warranty_end=today - timedelta(days=435),
        )
        session.add(product)
        session.flush()
        session.add(
            MaintenanceContract(
                number=contract,
                customer_id=customer.id,
                product_id=product.id,
                starts_on=today - timedelta(days=30),
                ends_on=today + timedelta(days=335),
            )
        )


#: The pharmacies and hospitals a recalled batch was sold to, with the boxes each bought.
FIVE_CUSTOMERS = (
    ("瑞金医院药剂科", 100),
    ("华山医院药房", 50),
    ("仁济堂大药房", 40),
    ("第一人民医院", 30),
    ("益丰大药房", 10),
)


def return_request(**changes: str) -> dict[str, str]:
    """A pharmacy's return request for 20 boxes of batch B20260601, with ``changes``."""
    today = _shanghai_today()
    data = {
        "customer_name": "华山医院药房",
        "customer_type": "institution",
        "customer_phone": "021-52888888",
        "product_name": "阿莫西林胶囊",
        "specification": "0.25g×24粒",
        "batch_number": "B20260601",
        "quantity": "20",
        "expiry_date": (today + timedelta(days=500)).isoformat(),
        "reason": "near_expiry",
        "reason_detail": "",
        "package_intact": "yes",
        "purchase_voucher_number": "FP-0098812",
        "purchase_date": (today - timedelta(days=10)).isoformat(),
        "cold_chain": "no",
        "requested_remedy": "refund",
    }
    data.update(changes)
    return data
