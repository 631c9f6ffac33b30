"""Shared scenario fixtures: the deployed diagrams, the demo users and a frozen clock.

A scenario drives a whole case through the real engine and database as the people of
``processes.demo.users`` would, one command at a time:

    def test_something(scenario_engine: Engine) -> None:
        started = scenario_engine.start("repair_service", REQUEST, as_user("cs1"))
        complete_step(scenario_engine, started.id, "task_remote_guidance", {...}, as_user("cs1"))

The clock is frozen at ``scenario_time`` (Monday 2026-11-23 09:00 in Shanghai unless a test
overrides it, e.g. ``@pytest.mark.parametrize("scenario_time", [shanghai(2026, 9, 30, 16)])``)
before the diagrams are deployed; move it with ``engine.clock.advance`` / ``freeze`` and fire
due timers with ``fire_timers`` (which also runs scheduled processes whose day has come, so
count a case's own firings with ``timers_fired``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import clock
from engine.accounts import users
from engine.accounts.users import Actor, create_user
from engine.runtime import Engine
from engine.runtime.runner import TimerRunner
from engine.store import queries
from engine.store.models import Event, ProcessInstance, SlaBreach, Task
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.records.models import Customer, MaintenanceContract, Product
from processes.roles import ROLE_KEYS
from tests.conftest import diagram_files
from tests.state_checking import checking

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware datetime on the Shanghai wall clock."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


#: The demo users as actors, by user name (cs1, sup1, tech1, tech2, acct1, gm1, …).
ACTORS: dict[str, Actor] = {name: Actor(name, frozenset(roles)) for name, _display, roles in DEMO_USERS}


def as_user(username: str) -> Actor:
    """The actor of a demo user."""
    return ACTORS[username]


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_password_hash() -> str:
    return users.hash_password(DEMO_PASSWORD)


@pytest.fixture
def scenario_time() -> datetime:
    """When the scenario happens: Monday 2026-11-23 09:00 in Shanghai (override to change)."""
    return shanghai(2026, 11, 23, 9, 0)


@pytest.fixture
def scenario_engine(
    engine: Engine, scenario_time: datetime, demo_password_hash: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """Every diagram deployed (as ``deployed``), the demo users created, the clock frozen at ``scenario_time``.

    The clock is frozen before the deploy, so scheduled processes (timer start events) wait
    for their first run counted from ``scenario_time``, not from the real time. After every
    command the stored state (snapshot and changes) is checked against a whole save of the
    live workflow (``tests.state_checking``).
    """
    checking(engine)
    clock.freeze(scenario_time)
    engine.deploy(diagram_files(), deployed_by="owner1")
    real_hash = users.hash_password
    with monkeypatch.context() as patch:  # one scrypt hash for all demo users
        patch.setattr(
            users, "hash_password", lambda p: demo_password_hash if p == DEMO_PASSWORD else real_hash(p)
        )
        with engine.writer.begin() as session:
            for username, display_name, roles in DEMO_USERS:
                create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name)
    yield engine


# --- archive records -------------------------------------------------------------------------------


def add_product(
    engine: Engine,
    serial_number: str,
    model: str = "XR-200",
    customer_name: str = "华东人民医院",
    sale_date: date | None = None,
    warranty_end: date | None = None,
    contract: tuple[str, date, date] | None = None,
    phone: str = "021-5555-0101",
) -> int:
    """Put a customer, a product and optionally a maintenance contract into the archive."""
    with engine.writer.begin() as session:
        customer = session.scalar(select(Customer).where(Customer.name == customer_name))
        if customer is None:
            customer = Customer(
                name=customer_name, phone=phone, address="上海市徐汇区", created_at=clock.now()
            )
            session.add(customer)
            session.flush()
        product = Product(
            customer_id=customer.id,
            model=model,
            serial_number=serial_number,
            sale_date=sale_date,
            invoice_date=sale_date,
            warranty_end=warranty_end,
        )
        session.add(product)
        session.flush()
        if contract is not None:
            number, starts_on, ends_on = contract
            session.add(
                MaintenanceContract(
                    number=number,
                    customer_id=customer.id,
                    product_id=product.id,
                    starts_on=starts_on,
                    ends_on=ends_on,
                )
            )
        return product.id


# --- reading the case --------------------------------------------------------------------------------


def open_tasks(engine: Engine, instance_id: int) -> list[Task]:
    """The open tasks of a case, oldest first."""
    with engine.sessions() as session:
        return list(
            session.scalars(
                select(Task)
                .where(Task.instance_id == instance_id, Task.state == "open")
                .order_by(Task.created_at, Task.spec_id)
            )
        )


def open_steps(engine: Engine, instance_id: int) -> set[str]:
    """The element ids of the open tasks of a case."""
    return {task.spec_id for task in open_tasks(engine, instance_id)}


def open_task(engine: Engine, instance_id: int, spec_id: str) -> Task:
    """The one open task of ``spec_id`` in the case."""
    tasks = [task for task in open_tasks(engine, instance_id) if task.spec_id == spec_id]
    assert len(tasks) == 1, f"expected one open {spec_id}, found {sorted(open_steps(engine, instance_id))}"
    return tasks[0]


def visible_task_ids(engine: Engine, actor: Actor) -> set[str]:
    """The open tasks an actor sees in the inbox: offered to one of its roles or assigned to it."""
    with engine.sessions() as session:
        offered = queries.offered_to(session, actor.roles, limit=10_000)
        assigned = queries.assigned_to(session, actor.username, limit=10_000)
    return {row.id for row in offered} | {row.id for row in assigned}


def complete_step(
    engine: Engine, instance_id: int, spec_id: str, data: Mapping[str, Any], actor: Actor
) -> Task:
    """Complete the open task ``spec_id`` as ``actor``, after checking it is in the actor's inbox."""
    task = open_task(engine, instance_id, spec_id)
    assert task.id in visible_task_ids(engine, actor), (
        f"{spec_id} (role {task.role}, assignee {task.assignee}) is not offered or assigned to {actor.username}"
    )
    engine.complete(task.id, data, actor, DEMO_PASSWORD)
    return task


def instance_row(engine: Engine, instance_id: int) -> ProcessInstance:
    with engine.sessions() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        return row


def stored_workflow(engine: Engine, instance_id: int) -> Any:
    """The case's workflow restored from what the database holds (its snapshot and the changes after it)."""
    from engine.store.serialization import state_from_json
    from engine.store.state_store import state_text

    with engine.sessions() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        return state_from_json(state_text(session, row), engine.definitions.specs(row.definition))


def case_data(engine: Engine, instance_id: int) -> dict[str, Any]:
    """The data of a case: of its first open human task, or the final data once it ended."""
    from engine.store.projection import ready_human_tasks

    workflow = stored_workflow(engine, instance_id)
    ready = ready_human_tasks(workflow)
    if ready:
        return dict(ready[0].data)
    return dict(workflow.last_task.data if workflow.last_task else workflow.data)


def sla_breaches(engine: Engine, instance_id: int) -> list[SlaBreach]:
    with engine.sessions() as session:
        return list(
            session.scalars(
                select(SlaBreach).where(SlaBreach.instance_id == instance_id).order_by(SlaBreach.id)
            )
        )


def events(engine: Engine, instance_id: int, action: str | None = None) -> list[Event]:
    with engine.sessions() as session:
        query = select(Event).where(Event.instance_id == instance_id).order_by(Event.id)
        if action:
            query = query.where(Event.action == action)
        return list(session.scalars(query))


def children(engine: Engine, instance_id: int) -> list[ProcessInstance]:
    """The cases started by messages this case threw (linked cases)."""
    with engine.sessions() as session:
        return list(
            session.scalars(
                select(ProcessInstance)
                .where(ProcessInstance.parent_instance_id == instance_id)
                .order_by(ProcessInstance.id)
            )
        )


def fire_timers(engine: Engine) -> int:
    """Fire every timer that is due at the frozen time, as the background runner would."""
    return TimerRunner(engine, name="scenario").run_once()


def timers_fired(engine: Engine, instance_id: int) -> list[str]:
    """The timer elements of a case that fired so far, in order."""
    return [event.element_id or "" for event in events(engine, instance_id, "timer_fired")]


def cases_of(engine: Engine, process_key: str, status: str | None = None) -> list[ProcessInstance]:
    """The cases of a process (optionally in one status), oldest first."""
    with engine.sessions() as session:
        query = select(ProcessInstance).where(ProcessInstance.process_key == process_key)
        if status is not None:
            query = query.where(ProcessInstance.status == status)
        return list(session.scalars(query.order_by(ProcessInstance.id)))


#: A plain repair request (register form data) the scenarios start from.
REPAIR_REQUEST: dict[str, Any] = {
    "channel": "phone",
    "customer_name": "华东人民医院",
    "customer_phone": "021-5555-0101",
    "customer_address": "上海市徐汇区",
    "product_model": "XR-200",
    "serial_number": "SN-0001",
    "fault_description": "开机无显示",
    "urgency": "normal",
    "distance_band": "urban",
    "contract_in_force": False,
    "warranty_end": "2027-06-30",
    "cause": "normal",
}
