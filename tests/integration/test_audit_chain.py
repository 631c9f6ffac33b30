"""The audit trail proves itself: `afterflow audit verify` passes on real cases and names any altered row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from click.testing import CliRunner, Result
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text

from engine import clock
from engine.audit.days import seal_closed_days
from engine.audit.hashing import SYSTEM_CHAIN
from engine.audit.heads import chain_heads
from engine.audit.tables import AuditChain, AuditDayHead
from engine.audit.verify import VERIFIERS, Finding, register_verifier, verify
from engine.runtime import Engine
from engine.store.database import make_engine
from engine.store.models import Event, ProcessInstance, Task
from engine.store.schema import alembic_config
from processes.demo.load import load_cases
from processes.wiring import build_engine
from tests.conftest import actor
from tests.integration.generated import END, prepare
from tests.integration.ops_support import drop_database, fresh_database
from web.cli import main as cli_main


@pytest.fixture
def demo(db: SqlEngine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Engine]:
    """A database with the demo set-up and a few days of real cases, the CLI pointed at it."""
    engine = prepare(build_engine(db))
    load_cases(engine, 8, seed=5, end=END, days=4)
    monkeypatch.setenv("DATABASE_URL", db.url.render_as_string(hide_password=False))
    monkeypatch.setenv("AFTERFLOW_INSTANCE_DIR", str(tmp_path))
    yield engine


def audit_verify(*args: str) -> Result:
    return CliRunner().invoke(cli_main, ["audit", "verify", *args])


def one_case(engine: Engine, least_events: int = 3) -> tuple[int, str, list[int]]:
    """A case with several events: its id, number and event ids in order."""
    with engine.sessions() as session:
        instance_id, number = session.execute(
            select(ProcessInstance.id, ProcessInstance.business_number)
            .join(Event, Event.instance_id == ProcessInstance.id)
            .group_by(ProcessInstance.id, ProcessInstance.business_number)
            .having(func.count(Event.id) >= least_events)
            .order_by(ProcessInstance.id)
            .limit(1)
        ).one()
        ids = list(
            session.scalars(select(Event.id).where(Event.instance_id == instance_id).order_by(Event.id))
        )
    return instance_id, number, ids


def execute(engine: Engine, sql: str, **params: object) -> None:
    with engine.db.begin() as conn:
        conn.execute(text(sql), params)


def test_real_cases_and_their_sealed_days_verify_intact(demo: Engine) -> None:
    with demo.writer.begin() as session:
        anchors = seal_closed_days(session, now=END + timedelta(days=1))
    assert len(anchors) >= 2, "the cases ran over several days, each anchored"
    result = audit_verify()
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    with demo.sessions() as session:
        heads = chain_heads(session)
        events = session.scalar(select(func.count(Event.id)))
        assert sum(head.length for head in heads.values()) == events
        # A case's head is on its row; only the chain of no case has a row of its own.
        assert set(session.scalars(select(AuditChain.chain))) <= {SYSTEM_CHAIN}
        assert sum(session.scalars(select(ProcessInstance.audit_length))) == sum(
            head.length for chain, head in heads.items() if chain != SYSTEM_CHAIN
        )
        assert session.scalar(select(func.count()).select_from(AuditDayHead)) == len(anchors)


def test_an_event_altered_by_sql_is_named_with_its_case(demo: Engine) -> None:
    _instance_id, number, ids = one_case(demo)
    execute(demo, "UPDATE event SET actor = 'someone_else' WHERE id = :id", id=ids[1])
    result = audit_verify()
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert f"case {number}" in first and f"event {ids[1]}" in first and "altered" in first
    assert audit_verify("--case", number).exit_code == 1


@pytest.mark.parametrize("forged", [bytes(32), "0" * 64], ids=["digest", "hex text"])
def test_altered_data_or_a_rewritten_hash_is_found(demo: Engine, forged: bytes | str) -> None:
    _instance_id, number, ids = one_case(demo)
    with demo.sessions() as session:
        digest = session.scalar(select(Event.hash).where(Event.id == ids[0]))
    assert digest and len(digest) == 64
    execute(demo, "UPDATE event SET hash = :h WHERE id = :id", h=forged, id=ids[0])
    result = audit_verify("--case", number)
    assert result.exit_code == 1 and f"event {ids[0]}" in result.output.splitlines()[0]


def test_hashes_are_stored_as_their_bytes(demo: Engine) -> None:
    _instance_id, _number, ids = one_case(demo)
    with demo.sessions() as session:
        event = session.get(Event, ids[1])
        assert event is not None and event.hash and event.prev_hash
        stored = session.execute(
            text("SELECT prev_hash, hash FROM event WHERE id = :id"), {"id": ids[1]}
        ).one()
    assert [bytes(value) for value in stored] == [bytes.fromhex(event.prev_hash), bytes.fromhex(event.hash)]


def test_a_deleted_event_breaks_the_link_of_the_next(demo: Engine) -> None:
    _instance_id, number, ids = one_case(demo)
    execute(demo, "DELETE FROM event WHERE id = :id", id=ids[1])
    result = audit_verify()
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert f"case {number}" in first and f"event {ids[2]}" in first and "deleted" in first


def test_a_deleted_last_event_is_found_by_the_chain_head(demo: Engine) -> None:
    _instance_id, number, ids = one_case(demo)
    execute(demo, "DELETE FROM event WHERE id = :id", id=ids[-1])
    result = audit_verify("--case", number)
    assert result.exit_code == 1
    assert f"case {number}" in result.output and str(ids[-1]) in result.output


def test_a_rewritten_day_is_found_by_its_anchor(demo: Engine) -> None:
    with demo.writer.begin() as session:
        seal_closed_days(session, now=END + timedelta(days=1))
    with demo.sessions() as session:
        day = session.scalar(select(AuditDayHead.day).order_by(AuditDayHead.day))
    assert day is not None
    # Rewrite the day's anchor as someone who recomputed a chain would leave it: the day no longer matches.
    execute(demo, "UPDATE audit_day_head SET hash = :h WHERE day = :d", h="f" * 64, d=day)
    result = audit_verify()
    assert result.exit_code == 1 and f"day {day}" in result.output


def test_one_intact_case_verifies_while_another_is_broken(demo: Engine) -> None:
    _instance_id, number, ids = one_case(demo)
    with demo.sessions() as session:
        other = session.scalar(
            select(ProcessInstance.business_number)
            .where(ProcessInstance.business_number != number, ProcessInstance.status != "scheduled")
            .limit(1)
        )
    execute(demo, "UPDATE event SET action = 'task_claimed' WHERE id = :id", id=ids[0])
    assert audit_verify("--case", str(other)).exit_code == 0
    assert audit_verify("--case", number).exit_code == 1
    unknown = audit_verify("--case", "NO-SUCH-1")
    assert unknown.exit_code == 2 and "NO-SUCH-1" in unknown.output


def test_registered_verifiers_of_other_records_run_with_the_chains(engine: Engine) -> None:
    def broken_documents(_session: object) -> list[Finding]:
        return [Finding("document", "its bytes hash to something else", None, 7)]

    register_verifier(broken_documents)
    try:
        with engine.sessions() as session:
            findings = verify(session)
    finally:
        VERIFIERS.remove(broken_documents)
    assert [f.describe() for f in findings] == ["document 7: its bytes hash to something else"]


def test_events_written_before_the_chain_existed_are_linked_by_the_upgrade(tmp_path: Path) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config(str(db.url))
    with db.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0016")
    at = datetime(2026, 11, 2, 8, 30, 0, 123456)
    with db.begin() as conn:
        for n, action in enumerate(["login_failed", "login_failed", "user_created"]):
            conn.execute(
                text(
                    "INSERT INTO event (instance_id, actor, action, at, data) VALUES (NULL, :a, :x, :t, :d)"
                ),
                {"a": f"user{n}", "x": action, "t": at, "d": f'{{"n": {n}, "来源": "网页"}}'},
            )
    with db.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    engine = build_engine(db)
    with engine.sessions() as session:
        assert verify(session) == []
        assert session.scalar(select(AuditChain.length)) == 3
    # New events continue the chain the upgrade began.
    clock.freeze(datetime(2026, 11, 3, tzinfo=UTC))
    with engine.writer.begin() as session:
        session.add(Event(instance_id=None, actor="admin", action="user_created", at=clock.now(), data={}))
    with engine.sessions() as session:
        assert verify(session) == []
    with db.begin() as conn:
        conn.execute(text("UPDATE event SET data = '{\"n\": 9}' WHERE actor = 'user1'"))
    with engine.sessions() as session:
        assert [f.record_id for f in verify(session)][:1] == [2]
    db.dispose()


def test_the_seal_command_anchors_closed_days_once_and_prints_them(demo: Engine) -> None:
    first = CliRunner().invoke(cli_main, ["audit", "seal"])
    assert first.exit_code == 0, first.output
    printed = [line.split("\t") for line in first.output.splitlines()]
    with demo.sessions() as session:
        stored = [(a.day, a.hash) for a in session.scalars(select(AuditDayHead).order_by(AuditDayHead.day))]
    assert [(day, digest) for day, digest, _chains in printed] == stored and len(stored) >= 2
    again = CliRunner().invoke(cli_main, ["audit", "seal"])
    assert again.exit_code == 0 and "no closed day" in again.output
    assert audit_verify().exit_code == 0


def case_head(engine: Engine, instance_id: int) -> tuple[int | None, int, int | None, int]:
    """A case's head as its row keeps it, and its last event id and event count as the events say."""
    with engine.sessions() as session:
        row = session.execute(
            select(ProcessInstance.audit_last_event_id, ProcessInstance.audit_length).where(
                ProcessInstance.id == instance_id
            )
        ).one()
        last, count = session.execute(
            select(func.max(Event.id), func.count(Event.id)).where(Event.instance_id == instance_id)
        ).one()
    return row[0], row[1], last, count


def open_task_of_a_running_case(engine: Engine) -> tuple[str, int]:
    with engine.sessions() as session:
        task_id, instance_id = session.execute(
            select(Task.id, Task.instance_id)
            .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
            .where(Task.state == "open", ProcessInstance.status == "running")
            .order_by(Task.instance_id)
            .limit(1)
        ).one()
    return task_id, instance_id


def test_a_command_moves_its_case_head_in_the_case_update_and_other_writers_continue_it(demo: Engine) -> None:
    task_id, instance_id = open_task_of_a_running_case(demo)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    sa_event.listen(demo.db, "before_cursor_execute", seen)
    try:
        demo.suspend(instance_id, actor("sup1", "service_supervisor"), "waiting for parts")
    finally:
        sa_event.remove(demo.db, "before_cursor_execute", seen)
    assert not [s for s in statements if "audit_chain" in s]
    assert len([s for s in statements if s.lstrip().upper().startswith("UPDATE PROCESS_INSTANCE")]) == 1
    last, length, newest, count = case_head(demo, instance_id)
    assert (last, length) == (newest, count)
    # A writer that does not hold the case (a note on its task) locks the head on the case row.
    demo.note_reassignment(task_id, "on leave", actor("sup1", "service_supervisor"))
    demo.resume(instance_id, actor("sup1", "service_supervisor"), "parts arrived")
    last, length, newest, count = case_head(demo, instance_id)
    assert (last, length) == (newest, count)
    with demo.sessions() as session:
        actions = session.scalars(
            select(Event.action).where(Event.instance_id == instance_id).order_by(Event.id.desc()).limit(3)
        ).all()
        assert actions == ["instance_resumed", "task_reassign_reason", "instance_suspended"]
        assert verify(session) == []


@contextmanager
def cases_in_a_database_of_their_own(
    database: SqlEngine, tmp_path: Path, name: str, cases: int
) -> Iterator[tuple[Config, SqlEngine, Engine]]:
    """A new database at the head revision with ``cases`` demo cases: its Alembic set-up, engine and product engine."""
    url = fresh_database(database, tmp_path, name)
    config = alembic_config(url)
    db = make_engine(url)
    try:
        command.upgrade(config, "head")
        engine = prepare(build_engine(db))
        load_cases(engine, cases, seed=5, end=END, days=2)
        yield config, db, engine
    finally:
        db.dispose()
        drop_database(url)


def test_the_upgrade_moves_case_heads_onto_their_cases_and_back(database: SqlEngine, tmp_path: Path) -> None:
    with cases_in_a_database_of_their_own(database, tmp_path, "audit_heads", 3) as (config, db, engine):
        with engine.sessions() as session:
            heads = chain_heads(session)
            events_per_case = dict(
                session.execute(
                    select(Event.instance_id, func.count(Event.id))
                    .where(Event.instance_id.is_not(None))
                    .group_by(Event.instance_id)
                ).all()
            )
        assert events_per_case
        command.downgrade(config, "0029")
        with db.connect() as connection:
            rows = connection.execute(text("SELECT chain, last_event_id, last_hash, length FROM audit_chain"))
            kept = {row.chain: tuple(row[1:]) for row in rows}
        assert {f"case:{i}" for i in events_per_case} <= set(kept)
        assert all(kept[chain] == tuple(head) for chain, head in heads.items())
        command.upgrade(config, "head")
        with engine.sessions() as session:
            assert chain_heads(session) == heads
            assert set(session.scalars(select(AuditChain.chain))) <= {SYSTEM_CHAIN}
            assert verify(session) == []
        # The moved heads go on: a command and a writer without the case's lock extend the chain.
        task_id, instance_id = open_task_of_a_running_case(engine)
        engine.note_reassignment(task_id, "on leave", actor("sup1", "service_supervisor"))
        engine.suspend(instance_id, actor("sup1", "service_supervisor"), "waiting for parts")
        with engine.sessions() as session:
            assert chain_heads(session)[f"case:{instance_id}"].length == events_per_case[instance_id] + 2
            assert verify(session) == []


def test_the_events_of_a_command_are_inserted_in_one_statement(demo: Engine) -> None:
    _task_id, instance_id = open_task_of_a_running_case(demo)
    with demo.sessions() as session:
        before = session.scalar(select(func.max(Event.id))) or 0
    inserts: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO EVENT"):
            inserts.append(statement)

    sa_event.listen(demo.db, "before_cursor_execute", seen)
    try:
        demo.terminate(instance_id, actor("sup1", "service_supervisor"), "customer withdrew")
    finally:
        sa_event.remove(demo.db, "before_cursor_execute", seen)
    with demo.sessions() as session:
        added = session.execute(
            select(Event.id, Event.action).where(Event.id > before).order_by(Event.id)
        ).all()
        assert verify(session) == []
    assert {"instance_terminated", "task_cancelled"} <= {action for _id, action in added}
    # Ids go on from the last one, in the order the events were recorded, all in one INSERT.
    assert [event_id for event_id, _action in added] == list(range(before + 1, before + 1 + len(added)))
    assert len(inserts) == 1


def test_the_upgrade_turns_hex_hashes_into_bytes_and_back(database: SqlEngine, tmp_path: Path) -> None:
    with cases_in_a_database_of_their_own(database, tmp_path, "audit_bytes", 2) as (config, db, engine):
        clock.freeze(END + timedelta(days=1))
        with engine.writer.begin() as session:  # more events than the migration converts at a time
            session.add_all(
                Event(
                    instance_id=None, actor=f"user{n}", action="login_failed", at=clock.now(), data={"n": n}
                )
                for n in range(5_100)
            )
        with engine.sessions() as session:
            hashes = {row.id: (row.prev_hash, row.hash) for row in session.scalars(select(Event))}
            heads = chain_heads(session)
        command.downgrade(config, "0033")
        with db.connect() as connection:
            rows = connection.execute(text("SELECT id, prev_hash, hash FROM event"))
            assert {row.id: (row.prev_hash, row.hash) for row in rows} == hashes
        command.upgrade(config, "head")
        with db.connect() as connection:
            stored = connection.execute(text("SELECT id, prev_hash, hash FROM event")).all()
        assert all(isinstance(row.hash, bytes) and len(row.hash) == 32 for row in stored)
        with engine.sessions() as session:
            assert {row.id: (row.prev_hash, row.hash) for row in session.scalars(select(Event))} == hashes
            assert chain_heads(session) == heads
            assert verify(session) == []
