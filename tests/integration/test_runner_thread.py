"""Runners sleep until the next due timer and are woken by new ones, in this process or another."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select

from engine import clock
from engine.definitions import collect_files
from engine.runtime.runner import TimerRunner
from engine.runtime.timer_wakeups import WakeupListener
from engine.store.models import Event, Job, Task
from processes.wiring import build_engine
from tests.conftest import actor
from tests.integration.test_runtime import FIXTURES


def test_a_sleeping_runner_is_woken_by_a_new_timer_and_fires_it_on_time(db: SqlEngine) -> None:
    engine = build_engine(db)
    files, _ = collect_files([FIXTURES])
    del files["lookup.bpmn"]  # calls a service only the runtime tests register
    # The escalation timer is due 1.5 s after the second step starts.
    files["mini.bpmn"] = files["mini.bpmn"].replace("hours(2)", "hours(1.5 / 3600)")
    engine.deploy(files)
    # With nothing to do the runner would sleep 60 s; only the wake-up can make it fire in time.
    runner = TimerRunner(engine, name="embedded", max_sleep=60)
    thread = runner.start_thread()
    try:
        cs = actor("cs1", "customer_service")
        started = engine.start("mini", {"customer_name": "x", "owner": "sup1", "divisor": "1"}, cs)
        with engine.sessions() as session:
            first = session.scalars(select(Task).where(Task.instance_id == started.id)).one()
        engine.complete(first.id, {"amount": "1"}, cs)
        created = time.monotonic()
        fired_after = None
        while time.monotonic() - created < 10:
            with engine.sessions() as session:
                if session.scalar(select(Event).where(Event.action == "timer_fired")) is not None:
                    fired_after = time.monotonic() - created
                    break
            time.sleep(0.05)
    finally:
        runner.stop()
        thread.join(5)
    assert fired_after is not None, "the timer did not fire"
    assert 1.4 <= fired_after < 5, fired_after
    assert not thread.is_alive()


def test_a_runner_of_another_process_fires_a_new_timer_within_a_second_of_its_time(db: SqlEngine) -> None:
    """The runner has an engine of its own, as in another process: no in-process wake-up reaches it.

    On PostgreSQL it sleeps up to a minute and only the command's ``NOTIFY`` can wake it; on
    SQLite it looks at the job table every second.
    """
    engine = build_engine(db)
    files, _ = collect_files([FIXTURES])
    del files["lookup.bpmn"]  # calls a service only the runtime tests register
    files["mini.bpmn"] = files["mini.bpmn"].replace("hours(2)", "hours(1.5 / 3600)")
    engine.deploy(files)
    postgres = db.dialect.name == "postgresql"
    runner = TimerRunner(build_engine(db), name="other-process", max_sleep=60 if postgres else 1.0)
    thread = runner.start_thread()
    try:
        time.sleep(0.5)  # the runner has looked once and gone to sleep
        cs = actor("cs1", "customer_service")
        started = engine.start("mini", {"customer_name": "x", "owner": "sup1", "divisor": "1"}, cs)
        with engine.sessions() as session:
            first = session.scalars(select(Task).where(Task.instance_id == started.id)).one()
        engine.complete(first.id, {"amount": "1"}, cs)
        created = time.monotonic()
        fired_after = None
        while time.monotonic() - created < 10:
            with engine.sessions() as session:
                if session.scalar(select(Event).where(Event.action == "timer_fired")) is not None:
                    fired_after = time.monotonic() - created
                    break
            time.sleep(0.05)
    finally:
        runner.stop()
        thread.join(5)
    assert fired_after is not None, "the timer did not fire"
    # Due 1.5 s after the completion. Without the wake-up (PostgreSQL) it would fire a minute late;
    # how late it is on a quiet machine is measured by `make bench`, not here.
    assert 1.4 <= fired_after < 5, fired_after


@pytest.mark.databases("postgresql")  # SQLite has no notification channel: its runners look every second
def test_postgresql_itself_announces_each_new_open_job_once_its_transaction_commits(db: SqlEngine) -> None:
    """Whoever inserts an open job — a command, a deploy scheduling a case — wakes the listening
    runners without a statement of its own; a closed job or a rolled-back insert wakes nobody."""
    engine = build_engine(db)
    files, _ = collect_files([FIXTURES])
    del files["lookup.bpmn"]  # calls a service only the runtime tests register
    engine.deploy(files)
    started = engine.start(
        "mini", {"customer_name": "x", "owner": "sup1", "divisor": "1"}, actor("cs1", "customer_service")
    )
    woken = threading.Event()
    listener = WakeupListener(db, woken)
    listener.start()

    def job(done: bool) -> Job:
        now = clock.now()
        return Job(
            instance_id=started.id,
            kind="timer",
            task_id=str(uuid.uuid4()),
            element_id="probe",
            due_at=now + timedelta(hours=1),
            attempts=0,
            done_at=now if done else None,
        )

    try:
        deadline = time.monotonic() + 10
        while not woken.is_set():  # until the listener hears: its LISTEN is in place
            assert time.monotonic() < deadline, "the listener never heard a new job"
            with engine.writer.begin() as session:
                session.add(job(done=False))
            woken.wait(0.2)
        time.sleep(0.5)
        woken.clear()
        with engine.writer.begin() as session:
            session.add(job(done=True))
        with engine.writer() as session:
            session.add(job(done=False))
            session.flush()
            session.rollback()
        assert not woken.wait(1.5), "a closed job or a rolled-back one woke the runners"
        with engine.writer.begin() as session:
            session.add(job(done=False))
            session.flush()
            assert not woken.wait(0.5), "announced before the commit"
        assert woken.wait(2.0), "a committed open job did not wake the runners"
    finally:
        listener.stop()
