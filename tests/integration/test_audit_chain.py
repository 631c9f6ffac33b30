"""The audit trail proves itself: `afterflow audit verify` passes on real cases and names any altered row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner, Result
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select, text

from engine import clock
from engine.audit.days import seal_closed_days
from engine.audit.tables import AuditChain, AuditDayHead
from engine.audit.verify import VERIFIERS, Finding, register_verifier, verify
from engine.runtime import Engine
from engine.store.database import make_engine
from engine.store.models import Event, ProcessInstance
from engine.store.schema import alembic_config
from processes.demo.load import load_cases
from processes.wiring import build_engine
from tests.integration.generated import END, prepare
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
        heads = session.scalars(select(AuditChain)).all()
        events = session.scalar(select(func.count(Event.id)))
        assert sum(head.length for head in heads) == events
        assert session.scalar(select(func.count()).select_from(AuditDayHead)) == len(anchors)


def test_an_event_altered_by_sql_is_named_with_its_case(demo: Engine) -> None:
    _instance_id, number, ids = one_case(demo)
    execute(demo, "UPDATE event SET actor = 'someone_else' WHERE id = :id", id=ids[1])
    result = audit_verify()
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert f"case {number}" in first and f"event {ids[1]}" in first and "altered" in first
    assert audit_verify("--case", number).exit_code == 1


def test_altered_data_or_a_rewritten_hash_is_found(demo: Engine) -> None:
    _instance_id, number, ids = one_case(demo)
    with demo.sessions() as session:
        digest = session.scalar(select(Event.hash).where(Event.id == ids[0]))
    assert digest and len(digest) == 64
    execute(demo, "UPDATE event SET hash = :h WHERE id = :id", h="0" * 64, id=ids[0])
    result = audit_verify("--case", number)
    assert result.exit_code == 1 and f"event {ids[0]}" in result.output.splitlines()[0]


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
