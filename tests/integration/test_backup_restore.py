"""Backup and restore round trips: demo data and cases in flight, restored into a fresh database."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select

from engine import clock
from engine.definitions import collect_files
from engine.operations.table_dump import table_counts
from engine.runtime.collaboration import Collaboration
from engine.runtime.runner import TimerRunner
from engine.store.database import make_engine
from engine.store.models import Attachment, Event, ProcessInstance, Task
from processes.wiring import build_engine
from tests.conftest import actor
from tests.integration.ops_support import afterflow, drop_database, fresh_database, url_of
from tests.integration.test_runtime import FIXTURES

#: A Tuesday morning in Shanghai: the timer of the waiting case is due an hour later.
T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
CS = actor("cs1", "customer_service")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
REPAIR = {
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


@pytest.fixture
def demo(db: SqlEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """The demo set-up, a repair case with an attachment, and a case waiting on its timer."""
    clock.freeze(T0)
    source_dir = tmp_path / "source"
    setup = afterflow(monkeypatch, url_of(db), source_dir, "setup-demo")
    assert setup.exit_code == 0, setup.output
    engine = build_engine(db)
    files, _ = collect_files([FIXTURES / "reply_or_timeout.bpmn"])
    engine.deploy(files)
    waiting = engine.start("reply_or_timeout", {}, CS)
    repair = engine.start("repair_service", REPAIR, CS)
    with engine.sessions() as session:
        task = session.scalars(
            select(Task).where(Task.instance_id == repair.id, Task.state == "open")
        ).first()
    assert task is not None
    Collaboration(engine).add_attachment(repair.id, task.id, "报修单.pdf", PDF, CS)
    issued = source_dir / "documents" / f"{repair.business_number}.pdf"
    issued.parent.mkdir(parents=True)
    issued.write_bytes(PDF)
    yield {"source_dir": source_dir, "waiting": waiting.business_number, "repair": repair.business_number}


METHODS = {"sqlite": ("sqlite-backup", "logical"), "postgresql": ("pg_dump", "logical")}


@pytest.mark.parametrize("choice", [0, 1], ids=["native", "logical"])
def test_a_restored_backup_holds_every_row_and_its_cases_go_on(
    db: SqlEngine, demo: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, choice: int
) -> None:
    method = METHODS[db.dialect.name][choice]
    archive = tmp_path / "afterflow-backup.zip"
    source_dir = Path(str(demo["source_dir"]))
    taken = afterflow(monkeypatch, url_of(db), source_dir, "backup", str(archive), "--method", method)
    assert taken.exit_code == 0, taken.output
    assert f"method: {method}" in taken.output
    manifest = json.loads(zipfile.ZipFile(archive).read("manifest.json"))
    assert manifest["copied_with"] == method and manifest["files"] == [f"documents/{demo['repair']}.pdf"]

    target_url = fresh_database(db, tmp_path)
    target_dir = tmp_path / "restored"
    try:
        done = afterflow(monkeypatch, target_url, target_dir, "restore", str(archive))
        assert done.exit_code == 0, done.output
        assert f"method: {method}" in done.output
        restored = make_engine(target_url)
        try:
            _check_restored(db, restored, demo, target_dir)
        finally:
            restored.dispose()
    finally:
        drop_database(target_url)


def _check_restored(
    source: SqlEngine, restored: SqlEngine, demo: dict[str, object], target_dir: Path
) -> None:
    with source.connect() as a, restored.connect() as b:
        before, after = table_counts(a), table_counts(b)
    assert before == after and sum(after.values()) > 100
    assert (target_dir / "documents" / f"{demo['repair']}.pdf").read_bytes() == PDF
    engine = build_engine(restored)
    with engine.sessions() as session:
        content = session.scalar(select(Attachment.content))
        waiting_id = session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.business_number == demo["waiting"])
        )
    assert content == PDF and waiting_id is not None

    # The case waiting on its timer completes on the restored instance when the timer fires.
    clock.advance(timedelta(hours=1, seconds=1))
    assert TimerRunner(engine, name="restored").run_once() == 1
    with engine.sessions() as session:
        waiting = session.get(ProcessInstance, waiting_id)
        fired = session.scalar(
            select(func.count(Event.id)).where(Event.instance_id == waiting_id, Event.action == "timer_fired")
        )
    assert waiting is not None and waiting.status == "completed" and fired == 1

    # New rows get fresh ids after the copied ones (PostgreSQL's sequences were moved on).
    again = engine.start("repair_service", REPAIR, CS)
    assert again.business_number.endswith("0002")
    with engine.sessions() as session:
        task = session.scalars(select(Task).where(Task.instance_id == again.id)).first()
    assert task is not None
    Collaboration(engine).add_attachment(again.id, task.id, "second.pdf", PDF, CS)


def test_restore_refuses_a_database_that_holds_data(
    db: SqlEngine, demo: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "b.zip"
    source_dir = Path(str(demo["source_dir"]))
    assert afterflow(monkeypatch, url_of(db), source_dir, "backup", str(archive)).exit_code == 0
    with db.connect() as connection:
        before = table_counts(connection)
    refused = afterflow(monkeypatch, url_of(db), source_dir, "restore", str(archive))
    assert refused.exit_code == 1
    assert "the database is not empty" in refused.output and "app_user" in refused.output
    with db.connect() as connection:
        assert table_counts(connection) == before


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bogus = tmp_path / "notes.zip"
    bogus.write_text("not a zip")
    refused = afterflow(monkeypatch, f"sqlite:///{tmp_path / 'x.db'}", tmp_path, "restore", str(bogus))
    assert refused.exit_code == 1 and "is not an afterflow backup" in refused.output


@pytest.mark.databases("sqlite")  # it moves a SQLite installation into the PostgreSQL server
def test_a_sqlite_backup_moves_into_postgresql(
    db: SqlEngine, demo: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres = os.environ.get("TEST_DATABASE_URL")
    if not postgres:
        pytest.skip("needs TEST_DATABASE_URL (a PostgreSQL server)")
    archive = tmp_path / "sqlite.zip"
    source_dir = Path(str(demo["source_dir"]))
    assert afterflow(monkeypatch, url_of(db), source_dir, "backup", str(archive)).exit_code == 0
    server = make_engine(postgres)
    target_url = fresh_database(server, tmp_path, "from_sqlite")
    server.dispose()
    try:
        done = afterflow(monkeypatch, target_url, tmp_path / "moved", "restore", str(archive))
        assert done.exit_code == 0, done.output
        restored = make_engine(target_url)
        try:
            _check_restored(db, restored, demo, tmp_path / "moved")
        finally:
            restored.dispose()
    finally:
        drop_database(target_url)
