"""The share of a task's time at which "due soon" is told is set per process, with a default: two processes
with different shares are told at different moments (on a simulated clock)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine import clock
from engine.outbox.collect import DueSoonShares, scan_due_soon
from engine.outbox.models import Notification
from engine.runtime import Engine
from engine.store.models import Task
from processes.notifications import DUE_SOON_SHARE, outbox_config
from processes.notifications.settings import NoticeSettingInvalid, save_due_soon_share
from tests.conftest import COMPLAINT_RECEIVED
from tests.scenarios.conftest import (  # noqa: F401  (fixtures)
    REPAIR_REQUEST,
    as_user,
    complete_step,
    demo_password_hash,
    open_tasks,
    scenario_engine,
    scenario_time,
)

CS, SALES = as_user("cs1"), as_user("sales1")


def told(engine: Engine, task: Task) -> bool:
    with engine.sessions() as session:
        return (
            session.scalar(select(Notification.id).where(Notification.event_key == f"due_soon:{task.id}"))
            is not None
        )


def at_share(task: Task, share: float) -> datetime:
    assert task.due_at is not None
    return task.created_at + (task.due_at - task.created_at) * share


def test_two_processes_with_different_shares_are_told_at_different_moments(scenario_engine: Engine) -> None:  # noqa: F811
    engine = scenario_engine
    with engine.writer.begin() as session:
        save_due_soon_share(session, "repair_service", 0.5, "admin1")
        save_due_soon_share(session, "", 0.9, "admin1")  # the default: the complaint follows it
    repair = engine.start("repair_service", REPAIR_REQUEST, CS).id
    complete_step(engine, repair, "task_remote_guidance", {"solved_by_phone": "no"}, CS)
    complaint = engine.start("complaint", COMPLAINT_RECEIVED, SALES).id
    (dispatch,) = [t for t in open_tasks(engine, repair) if t.spec_id == "task_dispatch"]
    complaint_task = next(t for t in open_tasks(engine, complaint) if t.due_at is not None)
    config = outbox_config(engine.config.calendar)

    with engine.sessions() as session:
        shares = config.due_soon_share(session)
    assert isinstance(shares, DueSoonShares)
    assert (shares.of("repair_service"), shares.of("complaint")) == (0.5, 0.9)

    clock.freeze(max(at_share(dispatch, 0.6), at_share(complaint_task, 0.6)))
    scan_due_soon(engine.writer, config)
    assert told(engine, dispatch) and not told(engine, complaint_task)
    clock.freeze(at_share(complaint_task, 0.85))
    scan_due_soon(engine.writer, config)
    assert not told(engine, complaint_task)
    clock.freeze(at_share(complaint_task, 0.92))
    scan_due_soon(engine.writer, config)
    assert told(engine, complaint_task)


def test_without_a_setting_the_policy_tables_share_applies_and_bad_shares_change_nothing(
    scenario_engine: Engine,  # noqa: F811
) -> None:
    engine = scenario_engine
    config = outbox_config(engine.config.calendar)
    with engine.writer.begin() as session:
        shares = config.due_soon_share(session)
        assert isinstance(shares, DueSoonShares)
        assert (shares.default, dict(shares.by_process)) == (DUE_SOON_SHARE, {})
        save_due_soon_share(session, "complaint", 0.6, "admin1")
    for key, share, reason in (
        ("complaint", 1.0, "bad_share"),
        ("complaint", 0.0, "bad_share"),
        ("complaint", float("nan"), "bad_share"),
        ("no_such_process", 0.5, "unknown_process"),
    ):
        with pytest.raises(NoticeSettingInvalid) as refused, engine.writer.begin() as session:
            save_due_soon_share(session, key, share, "admin1")
        assert refused.value.reason == reason
    with engine.writer.begin() as session:
        assert config.due_soon_share(session).by_process == {"complaint": 0.6}  # type: ignore[union-attr]
        save_due_soon_share(session, "complaint", None, "admin1")  # back to the default
    with engine.sessions() as session:
        assert config.due_soon_share(session).by_process == {}  # type: ignore[union-attr]
