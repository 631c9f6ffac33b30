"""The demo-load generator: real processes on a moving clock, a mix of states, the same cases per seed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from engine.runtime import Engine
from engine.store.models import Event, ProcessInstance, SlaBreach, UserRole
from processes.demo.load import REFUSALS_BEFORE_LEAVING, load_cases
from tests.integration.generated import END, fresh_engine, generated_engine

CASES = 60


def _signature(engine: Engine) -> list[tuple[str, str, bool, tuple[str, ...]]]:
    with engine.sessions() as session:
        rows = session.execute(
            select(
                ProcessInstance.id,
                ProcessInstance.business_number,
                ProcessInstance.status,
                ProcessInstance.late,
            )
            .where(ProcessInstance.status != "scheduled")
            .order_by(ProcessInstance.business_number)
        ).all()
        actions: dict[int, list[str]] = {}
        for instance_id, action, element in session.execute(
            select(Event.instance_id, Event.action, Event.element_id).order_by(Event.id)
        ):
            actions.setdefault(instance_id, []).append(f"{action}:{element or ''}")
    return [(r.business_number, r.status, r.late, tuple(actions.get(r.id, []))) for r in rows]


def test_the_generator_makes_real_cases_in_every_state_a_manager_sees(tmp_path: Path) -> None:
    engine = generated_engine(tmp_path, CASES, seed=11)
    with engine.sessions() as session:
        rows = session.execute(
            select(ProcessInstance.process_key, ProcessInstance.status, ProcessInstance.late).where(
                ProcessInstance.status != "scheduled"
            )
        ).all()
        breaches = session.scalar(select(SlaBreach.id).limit(1))
        reasons = [
            (e.data or {}).get("reason")
            for e in session.scalars(
                select(Event).where(Event.action.in_(("instance_suspended", "instance_terminated")))
            )
        ]
    statuses = {r.status for r in rows}
    assert len(rows) >= CASES
    assert {"running", "completed", "suspended", "terminated", "error"} <= statuses
    assert any(r.late and r.status != "completed" for r in rows), "some unfinished case is late"
    assert any(r.late and r.status == "completed" for r in rows), "some finished case was late"
    assert {"repair_service", "complaint", "sales_return"} <= {r.process_key for r in rows}
    assert breaches is not None, "the timers fired real SLA breaches"
    assert reasons and all(reasons), "every suspension and termination carries its reason"


@pytest.mark.parametrize("cases", [10])
def test_the_same_seed_makes_the_same_cases(tmp_path: Path, cases: int) -> None:
    first = _signature(generated_engine(tmp_path, cases, seed=3, name="a.db"))
    second = _signature(generated_engine(tmp_path, cases, seed=3, name="b.db"))
    assert first == second
    assert len(first) >= cases


def test_the_demo_password_is_checked_once_per_user_and_a_wrong_one_is_refused_every_time() -> None:
    from engine.accounts.users import hash_password, verify_password
    from processes.demo.load import _CheckedPasswords

    calls: list[str] = []

    def counted(password: str, stored: str) -> bool:
        calls.append(password)
        return verify_password(password, stored)

    check = _CheckedPasswords(counted)
    stored = hash_password("demo-secret")
    assert [check("demo-secret", stored) for _ in range(3)] == [True, True, True]
    assert calls == ["demo-secret"]  # scrypt ran once
    assert [check("wrong", stored) for _ in range(2)] == [False, False]
    assert calls == ["demo-secret", "wrong", "wrong"]  # a wrong password is never remembered
    assert check("demo-secret", hash_password("demo-secret")) is True  # another user's hash: checked anew
    assert len(calls) == 4


def test_a_load_split_over_worker_processes_makes_the_seeds_mix(tmp_path: Path) -> None:
    serial_engine = fresh_engine(tmp_path, "serial.db")
    serial = load_cases(serial_engine, 12, seed=5, end=END, days=90)
    parallel_engine = fresh_engine(tmp_path, "parallel.db")
    started: list[int] = []
    parallel = load_cases(parallel_engine, 12, seed=5, end=END, days=90, progress=started.append, workers=2)
    assert parallel.workers == 2
    assert parallel.by_fate == serial.by_fate, "the same cases by process and fate"
    assert sum(parallel.by_fate.values()) == sum(started) == 12
    assert parallel.cases >= 12 and parallel.commands > 12
    with parallel_engine.sessions() as session:
        rows = session.execute(
            select(ProcessInstance.process_key, ProcessInstance.status).where(
                ProcessInstance.status != "scheduled"
            )
        ).all()
    planned: Counter[str] = Counter()
    for (process, _fate), n in serial.by_fate.items():
        planned[process] += n
    assert planned <= Counter(r.process_key for r in rows), "every planned case was started"
    assert len({r.status for r in rows}) >= 2, "the groups moved their cases on"


def test_a_case_whose_commands_keep_being_refused_is_left_alone(tmp_path: Path) -> None:
    engine = fresh_engine(tmp_path, "no_technicians.db")
    with engine.writer.begin() as session:  # nobody left to dispatch a repair to: every dispatch is refused
        session.execute(delete(UserRole).where(UserRole.role == "technician"))
    report = load_cases(engine, 12, seed=5, end=END, days=90)
    with engine.sessions() as session:
        stuck = session.scalars(
            select(ProcessInstance.id).where(
                ProcessInstance.process_key == "repair_service", ProcessInstance.status == "running"
            )
        ).all()
    assert stuck, "repair cases wait at their dispatch"
    assert 0 < report.failures <= REFUSALS_BEFORE_LEAVING * report.cases
