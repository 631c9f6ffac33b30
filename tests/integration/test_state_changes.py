"""A command saves only what it changed in its case's state: a snapshot, then changes, folded again in time.

Real repair cases on the real database. The scenario engine checks after every command that
the stored snapshot with its changes applied is the document a whole save of the live
workflow writes (``tests.state_checking``); these tests walk whole cases through it, let two
engines (two caches) take turns on one case, and show when a snapshot is written instead.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import event, func, inspect, select, text
from sqlalchemy.orm import Session

from engine import clock
from engine.accounts.users import create_user
from engine.calendar import store
from engine.calendar.package_days import HOLIDAY, SpecialDay
from engine.runtime import Engine, unit_of_work
from engine.runtime.retiming import change_calendar
from engine.runtime.workflow_cache import WorkflowCache
from engine.store.compressed_text import compress_text, decompress_text
from engine.store.database import make_engine
from engine.store.models import Job, ProcessInstance, StateChange
from engine.store.schema import alembic_config
from engine.store.state_store import state_text
from processes.demo.users import DEMO_USERS
from processes.roles import ROLE_KEYS
from processes.wiring import build_engine
from tests.conftest import diagram_files
from tests.integration.ops_support import drop_database, fresh_database
from tests.scenarios.conftest import as_user, complete_step, open_steps, open_task, stored_workflow
from tests.scenarios.test_repair import (
    CS,
    ON_SITE,
    SATISFIED,
    SUP,
    TECH2,
    add_product,
    dispatch_and_arrive,
    not_solved_by_phone,
    register,
)
from tests.state_checking import StateCheckingCache, checking

ADMIN = as_user("admin")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def stored(engine: Engine, case: int) -> tuple[int, int, int, int]:
    """(state_seq, state_changes, change rows, bytes of the stored changes) of a case."""
    with engine.sessions() as session:
        row = session.get(ProcessInstance, case)
        assert row is not None
        rows, size = session.execute(
            select(func.count(), func.coalesce(func.sum(func.length(StateChange.body)), 0)).where(
                StateChange.instance_id == case
            )
        ).one()
        return row.state_seq, row.state_changes, int(rows), int(size)


def snapshot_bytes(engine: Engine, case: int) -> int:
    with engine.sessions() as session:
        row = session.get(ProcessInstance, case)
        assert row is not None
        return len(compress_text(row.state))


def walk_repair_with_rework(engine: Engine, case: int) -> None:
    """Guidance, dispatch, arrival, a repair the acceptance sends back, the repair again, acceptance, follow-up."""
    not_solved_by_phone(engine, case)
    dispatch_and_arrive(engine, case)
    complete_step(engine, case, "task_repair", ON_SITE, TECH2)
    complete_step(engine, case, "task_acceptance", {"accepted": "no", "acceptance_notes": "客户未签字"}, SUP)
    complete_step(engine, case, "task_repair", {**ON_SITE, "work_done": "补签服务凭证"}, TECH2)
    complete_step(engine, case, "task_acceptance", {"accepted": "yes"}, SUP)
    complete_step(engine, case, "task_follow_up", SATISFIED, CS)


def test_a_repair_case_is_saved_as_changes_that_rebuild_every_state(scenario_engine: Engine) -> None:
    engine = scenario_engine
    cache = engine.workflows
    assert isinstance(cache, StateCheckingCache)
    add_product(engine, "SN-0001", warranty_end=date(2027, 6, 30))
    case = register(engine)
    assert stored(engine, case)[:3] == (1, 0, 0)  # a new case starts with a snapshot
    walk_repair_with_rework(engine, case)
    with engine.sessions() as session:
        row = session.get(ProcessInstance, case)
        assert row is not None and row.status == "completed"
    seq, changes, rows, size = stored(engine, case)
    assert seq == 9 and rows == changes  # every command saved once; folded changes are gone
    assert size <= snapshot_bytes(engine, case)  # the changes never outweigh the snapshot they follow
    assert cache.checked == 9 and cache.changes_seen >= 4  # most commands wrote a change, each checked


def test_two_engines_on_one_database_take_turns_on_one_case(scenario_engine: Engine) -> None:
    first = scenario_engine
    second = build_engine(first.db)
    checking(second)
    second.definitions = first.definitions  # the same deployed versions, read once
    add_product(first, "SN-0001", warranty_end=date(2027, 6, 30))
    case = register(first)
    steps = [
        ("task_remote_guidance", {"solved_by_phone": "no"}, CS),
        ("task_dispatch", {"technician": "tech2"}, SUP),
        ("task_arrival", {"arrived_at": clock.now().isoformat(), "fault_level": "minor"}, TECH2),
        ("task_repair", ON_SITE, TECH2),
        ("task_acceptance", {"accepted": "no", "acceptance_notes": "客户未签字"}, SUP),
        ("task_repair", ON_SITE, TECH2),
        ("task_acceptance", {"accepted": "yes"}, SUP),
        ("task_follow_up", SATISFIED, CS),
    ]
    engines = (second, first)
    for number, (spec_id, data, who) in enumerate(steps):
        engine = engines[number % 2]
        misses = engine.workflows.misses
        complete_step(engine, case, spec_id, data, who)
        # The other engine moved the case since this one last saw it: it restored it afresh.
        assert engine.workflows.misses == misses + 1, spec_id
        # A second command in the same engine finds its own workflow kept.
        if spec_id == "task_repair" and number == 3:
            hits = engine.workflows.hits
            engine.claim(open_task(engine, case, "task_acceptance").id, SUP)
            assert engine.workflows.hits == hits + 1
    with first.sessions() as session:
        row = session.get(ProcessInstance, case)
        assert row is not None and row.status == "completed"
    assert stored(first, case)[1] > 0  # the turns were saved as changes, not snapshots


def test_changes_fold_into_a_snapshot_every_so_many(
    scenario_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = scenario_engine
    monkeypatch.setattr(unit_of_work, "CHANGES_PER_SNAPSHOT", 3)
    case = register(engine)
    task = open_task(engine, case, "task_remote_guidance").id
    seen = []
    for turn in range(8):
        (engine.claim if turn % 2 == 0 else engine.unclaim)(task, CS)
        _, changes, rows, size = stored(engine, case)
        assert rows == changes <= 3  # the folded changes went in the same transaction
        assert size <= snapshot_bytes(engine, case)
        seen.append(changes)
    assert seen == [1, 2, 3, 0, 1, 2, 3, 0]
    engine.workflows.clear()
    assert open_steps(engine, case) == {"task_remote_guidance"}
    not_solved_by_phone(engine, case)  # restored from the last snapshot and its changes
    assert open_steps(engine, case) == {"task_dispatch"}


def test_changes_outweighing_the_snapshot_are_folded(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = register(engine)
    task = open_task(engine, case, "task_remote_guidance").id
    folded = False
    last = 0
    for turn in range(40):
        (engine.claim if turn % 2 == 0 else engine.unclaim)(task, CS)
        _, changes, rows, size = stored(engine, case)
        assert rows == changes and size <= snapshot_bytes(engine, case)
        folded = folded or changes < last
        last = changes
    assert folded


def test_a_suspend_or_a_retimed_timer_writes_a_snapshot_a_restore_shows(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = register(engine)
    not_solved_by_phone(engine, case)
    assert stored(engine, case)[1] == 1
    engine.suspend(case, SUP, "客户要求暂停")
    assert stored(engine, case)[1:3] == (0, 0)
    engine.resume(case, SUP, "继续")
    assert stored(engine, case)[1:3] == (0, 0)

    with engine.sessions() as session:
        before = {
            job.task_id: job.due_at
            for job in session.scalars(select(Job).where(Job.instance_id == case, Job.done_at.is_(None)))
        }
    assert before
    moved = change_calendar(engine, lambda session: _holiday_on_the_due_days(session, before), ADMIN)
    assert moved and stored(engine, case)[1:3] == (0, 0)  # retimed timers: a snapshot
    engine.workflows.clear()  # the next command restores the case from the database
    workflow = stored_workflow(engine, case)
    for retimed in moved:
        if retimed.instance_id != case or retimed.kind != "timer":
            continue
        waiting = [
            t
            for t in workflow.get_tasks(state=TaskState.WAITING)
            if t.task_spec.bpmn_id == retimed.element_id
        ]
        assert [t._get_internal_data("event_value") for t in waiting] == [retimed.new.isoformat()]


def _holiday_on_the_due_days(session: Session, due: dict[str | None, datetime]) -> set[date]:
    days = sorted({when.astimezone(SHANGHAI).date() for when in due.values()})
    return store.set_days(session, [SpecialDay(day, HOLIDAY, "停工") for day in days], ADMIN.username)


def test_a_terminated_case_is_saved_whole(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = register(engine)
    not_solved_by_phone(engine, case)
    engine.terminate(case, SUP, "客户撤回")
    assert stored(engine, case)[1:3] == (0, 0)
    workflow = stored_workflow(engine, case)
    assert not workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)


def test_a_command_on_a_kept_workflow_reads_neither_the_snapshot_nor_the_changes(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine
    engine.workflows = WorkflowCache()  # the engine's own cache (the checking one reads the state itself)
    case = register(engine)
    task = open_task(engine, case, "task_remote_guidance").id
    engine.claim(task, CS)  # the case's workflow is now kept
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine.db, "before_cursor_execute", seen)
    try:
        hits = engine.workflows.hits
        engine.unclaim(task, CS)
        assert engine.workflows.hits == hits + 1
    finally:
        event.remove(engine.db, "before_cursor_execute", seen)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert reads and not [s for s in reads if "FROM state_change" in s]  # no change read
    assert not [s for s in reads if re.search(r"process_instance\.state\b(?!_)", s)]  # nor the snapshot
    assert [s for s in statements if s.lstrip().upper().startswith("INSERT INTO STATE_CHANGE")]


def test_a_downgrade_folds_each_case_s_changes_into_its_state(
    scenario_engine: Engine, database: SqlEngine, tmp_path: Path
) -> None:
    url = fresh_database(database, tmp_path, "state_changes")  # beside the scenario's, its clock frozen
    config = alembic_config(url)
    db = make_engine(url)
    try:
        command.upgrade(config, "head")
        engine = build_engine(db)
        engine.deploy(diagram_files(), deployed_by="owner1")
        with engine.writer.begin() as session:
            for username, display_name, roles in DEMO_USERS:
                create_user(session, username, "pw-long-enough", roles, ROLE_KEYS, display_name)
        case = register(engine)
        not_solved_by_phone(engine, case)
        with engine.sessions() as session:
            row = session.get(ProcessInstance, case)
            assert row is not None and row.state_changes == 1
            whole = state_text(session, row)
        command.downgrade(config, "0031")
        with db.connect() as connection:
            (kept,) = connection.execute(
                text("SELECT state FROM process_instance WHERE id = :id"), {"id": case}
            )
            assert decompress_text(kept[0]) == whole
            assert "state_change" not in inspect(connection).get_table_names()
        command.upgrade(config, "head")
        engine.workflows.clear()
        dispatch_and_arrive(engine, case)  # the case goes on from its folded state
        assert open_steps(engine, case) == {"task_repair"}
    finally:
        db.dispose()
        drop_database(url)
