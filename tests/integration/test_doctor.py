"""``afterflow doctor`` on the demo set-up and on an installation with serious findings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine as SqlEngine

from engine import clock
from engine.definitions import collect_files
from processes.wiring import build_engine
from tests.conftest import actor
from tests.integration.ops_support import afterflow, url_of
from tests.integration.test_runtime import FIXTURES

#: 2 December in Shanghai: next year's holidays are due, and the holiday package stops at 2026.
DECEMBER = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def test_doctor_on_the_demo_set_up_names_the_default_secret_key_and_the_unconfirmed_year(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    clock.freeze(DECEMBER)
    url = f"sqlite:///{tmp_path / 'afterflow.db'}"
    assert afterflow(monkeypatch, url, tmp_path, "setup-demo").exit_code == 0
    report = afterflow(monkeypatch, url, tmp_path, "doctor")
    lines = report.output.splitlines()
    secret = [line for line in lines if line.startswith("WARNING  secret key")]
    assert secret and "SECRET_KEY is not set" in secret[0] and "set SECRET_KEY" in secret[0]
    calendar = [line for line in lines if "calendar" in line]
    assert len(calendar) == 1 and "2027" in calendar[0] and "not confirmed" in calendar[0]
    assert "confirm the year" in calendar[0]
    assert any(line.startswith("WARNING  runner: no timer runner is alive") for line in lines)
    assert report.exit_code == 0  # nothing serious: the demo runs
    assert lines[-1].endswith("0 serious")


def test_doctor_exits_1_on_a_known_secret_key_and_timers_a_runner_left_late(
    db: SqlEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.freeze(datetime(2026, 3, 10, 2, 0, tzinfo=UTC))
    engine = build_engine(db)
    files, _ = collect_files([FIXTURES / "reply_or_timeout.bpmn"])
    engine.deploy(files)
    engine.start("reply_or_timeout", {}, actor("cs1", "customer_service"))
    clock.advance(timedelta(hours=1, minutes=3))
    monkeypatch.setenv("SECRET_KEY", "dev")
    report = afterflow(monkeypatch, url_of(db), tmp_path, "doctor")
    assert report.exit_code == 1
    lines = report.output.splitlines()
    assert any(
        line.startswith("SERIOUS  secret key: SECRET_KEY is a well-known or short value") for line in lines
    )
    assert any(
        line.startswith("SERIOUS  jobs: 1 timer(s) overdue by more than 1 minute(s)") for line in lines
    )
    assert any(
        line.startswith("SERIOUS  runner: no timer runner is alive and 1 timer(s) are due") for line in lines
    )
    assert "calendar" not in report.output  # March 2026: this year is known, next year not yet due


def test_doctor_names_customer_notices_that_cannot_reach_anyone(
    db: SqlEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from processes.notifications.settings import save_customer_notices

    engine = build_engine(db)
    for name in (
        "AFTERFLOW_SMTP_HOST",
        "AFTERFLOW_SMS_GATEWAY_URL",
        "AFTERFLOW_BASE_URL",
        "AFTERFLOW_CUSTOMER_NOTICES",
    ):
        monkeypatch.delenv(name, raising=False)
    assert "customer notices" not in afterflow(monkeypatch, url_of(db), tmp_path, "doctor").output  # off
    with engine.writer.begin() as session:
        save_customer_notices(session, ["sms", "email"], False, "admin1")
    monkeypatch.setenv("AFTERFLOW_SMTP_HOST", "127.0.0.1")
    report = afterflow(monkeypatch, url_of(db), tmp_path, "doctor")
    lines = [line for line in report.output.splitlines() if "customer notices" in line]
    assert report.exit_code == 1
    assert any(line.startswith("SERIOUS  customer notices: customers are told by sms") for line in lines)
    assert not any("by email" in line for line in lines)  # the mail server is set
    assert any(line.startswith("WARNING  customer notices: AFTERFLOW_BASE_URL is not set") for line in lines)
