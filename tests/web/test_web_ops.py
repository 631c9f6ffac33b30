"""Health, readiness, metrics and request logs, through the app's HTTP interface."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine as SqlEngine

from engine import clock
from engine.db import make_engine
from engine.runner import TimerRunner
from engine.runtime import Engine, EngineConfig
from engine.schema import alembic_config
from engine.users import Actor
from processes.roles import role_for_lane
from processes.wiring import build_engine
from tests.integration.ops_support import drop_database, fresh_database
from tests.integration.test_upgrade import _previous_revision
from tests.web.conftest import Web, settings_in
from web.app import create_app
from web.ops.logging_setup import json_formatter

MARCH = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
#: 2 December in Shanghai: next year's schedule is now due, and the package does not know 2027.
DECEMBER = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def _readyz(app: Flask) -> tuple[int, dict[str, object]]:
    response = app.test_client().get("/readyz")
    return response.status_code, response.get_json()


def test_healthz_answers_without_login(web: Web) -> None:
    response = web.client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_is_ready_with_the_database_up_a_runner_alive_and_the_calendar_confirmed(
    web: Web, deployed: Engine
) -> None:
    clock.freeze(MARCH)
    status, body = _readyz(web.app)
    assert status == 503 and body["checks"] == {
        "database": "ok",
        "migrations": "current",
        "runner": "none",
        "calendar": "confirmed",
    }
    runner = TimerRunner(deployed, name="ready-test")
    runner.run_once()
    status, body = _readyz(web.app)
    assert status == 200 and body == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "current", "runner": "alive", "calendar": "confirmed"},
    }
    runner.stop()  # gives the lease back
    assert _readyz(web.app)[1]["checks"]["runner"] == "none"  # type: ignore[index]


def test_readyz_wants_next_years_calendar_confirmed_from_the_first_of_december(
    web: Web, deployed: Engine
) -> None:
    clock.freeze(DECEMBER)
    TimerRunner(deployed, name="december").run_once()
    status, body = _readyz(web.app)
    assert status == 503 and body["checks"]["calendar"] == "unconfirmed"  # type: ignore[index]


def test_readyz_says_down_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    unreachable = make_engine(
        "postgresql+psycopg://afterflow@127.0.0.1:9/afterflow", connect_args={"connect_timeout": 2}
    )
    # Built without the calendar seeding build_engine does: the database is not there to seed.
    engine = Engine(unreachable, EngineConfig(resolve_role=role_for_lane))
    app = create_app({"TESTING": True, "AFTERFLOW_ENGINE": engine}, settings_in(tmp_path))
    assert app.test_client().get("/healthz").status_code == 200
    status, body = _readyz(app)
    assert status == 503 and body == {
        "status": "not ready",
        "checks": {"database": "down", "migrations": "unknown", "runner": "unknown", "calendar": "unknown"},
    }


@pytest.fixture
def behind_engine(database: SqlEngine, tmp_path: Path) -> Iterator[Engine]:
    from alembic import command

    url = fresh_database(database, tmp_path, "ready_behind")
    try:
        command.upgrade(alembic_config(url), _previous_revision())
        db = make_engine(url)
        yield build_engine(db)
        db.dispose()
    finally:
        drop_database(url)


def test_readyz_says_behind_for_a_database_one_migration_behind(
    behind_engine: Engine, tmp_path: Path
) -> None:
    app = create_app({"TESTING": True, "AFTERFLOW_ENGINE": behind_engine}, settings_in(tmp_path))
    status, body = _readyz(app)
    assert status == 503 and body["checks"] == {  # type: ignore[index]
        "database": "ok",
        "migrations": "behind",
        "runner": "unknown",
        "calendar": "unknown",
    }


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in found, f"{key} exposed twice"
            found[key] = sample.value
    return found


def _metric(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_move_when_a_case_is_started_and_a_task_completed(web: Web) -> None:
    scraper = web.client()
    before = _samples(scraper.get("/metrics").text)
    number = web.start_repair(web.client("cs1"))
    middle = _samples(scraper.get("/metrics").text)
    assert _metric(middle, "afterflow_commands_total", command="start", result="ok") == (
        _metric(before, "afterflow_commands_total", command="start", result="ok") + 1
    )
    assert _metric(middle, "afterflow_command_duration_seconds_count", command="start") == (
        _metric(before, "afterflow_command_duration_seconds_count", command="start") + 1
    )
    open_before = _metric(middle, "afterflow_open_tasks", process="repair_service", role="customer_service")
    assert (
        open_before
        == _metric(before, "afterflow_open_tasks", process="repair_service", role="customer_service") + 1
    )
    assert _metric(middle, "afterflow_cases", process="repair_service", status="running") >= 1
    assert _metric(
        middle, "afterflow_http_requests_total", endpoint="cases.start", method="POST", status="302"
    ) > _metric(before, "afterflow_http_requests_total", endpoint="cases.start", method="POST", status="302")
    for name in (
        "afterflow_jobs_due",
        "afterflow_jobs_overdue",
        "afterflow_cases_in_error",
        "afterflow_runners_alive",
    ):
        assert (name, ()) in middle

    guidance = web.open_task(number, "task_remote_guidance")
    web.engine.complete(guidance.id, {"solved_by_phone": "no"}, Actor("cs1", frozenset({"customer_service"})))
    after = _samples(scraper.get("/metrics").text)
    assert _metric(after, "afterflow_commands_total", command="complete", result="ok") == (
        _metric(middle, "afterflow_commands_total", command="complete", result="ok") + 1
    )
    assert (
        _metric(after, "afterflow_open_tasks", process="repair_service", role="customer_service")
        == open_before - 1
    )
    assert _metric(after, "afterflow_open_tasks", process="repair_service", role="service_supervisor") >= 1


def test_metrics_can_be_kept_behind_a_token(make_app: object) -> None:
    app = make_app(TESTING=True, AFTERFLOW_METRICS_TOKEN="s3cret-token")  # type: ignore[operator]
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    answered = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert answered.status_code == 200 and "afterflow_open_tasks" in answered.text


def test_one_log_line_per_request_and_command_with_case_and_user_never_the_form(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = web.client("cs1")
    caplog.clear()
    number = web.start_repair(client)
    formatter = json_formatter()
    lines = [json.loads(formatter.format(record)) for record in caplog.records]
    commands = [line for line in lines if line["logger"] == "afterflow.command"]
    requests = [line for line in lines if line["logger"] == "afterflow.request"]
    assert [(c["command"], c["result"], c["case"], c["user"]) for c in commands] == [
        ("start", "ok", number, "cs1")
    ]
    start = [r for r in requests if r["endpoint"] == "cases.start"]
    assert len(start) == 1 and start[0]["case"] == number and start[0]["user"] == "cs1"
    assert start[0]["status"] == 302 and start[0]["duration_ms"] > 0

    caplog.clear()
    web.client().post("/login?next=/", data={"username": "cs1", "password": "the-Password-1"})
    text = "\n".join(
        json.dumps(json.loads(formatter.format(record)), ensure_ascii=False) for record in caplog.records
    )
    assert "/login" in text and "the-Password-1" not in text and "next=" not in text
    leaked = [line for line in lines if "主轴异响" in str(line)]
    assert not leaked, leaked  # form data of the start form


def test_the_sample_grafana_dashboard_queries_only_series_the_app_exposes(web: Web) -> None:
    dashboard = json.loads(
        (Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json").read_text()
    )
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    exposed = web.client().get("/metrics").text
    names = {name for expr in exprs for name in re.findall(r"afterflow_[a-z_]+", expr)}
    assert len(names) >= 10
    for name in names:
        family = re.sub(r"_(bucket|count|sum)$", "", name)
        assert f"# TYPE {family} " in exposed, name
