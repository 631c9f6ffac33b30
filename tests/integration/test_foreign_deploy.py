"""A Camunda Modeler diagram deploys from the CLI after conversion and runs as afterflow's own."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import clock
from engine.accounts.users import create_user
from engine.runtime import Engine
from engine.store.models import ProcessDefinition, Task
from processes.demo.users import DEMO_PASSWORD
from processes.roles import ROLE_KEYS
from tests.conftest import ROOT, actor
from tests.integration.ops_support import afterflow, url_of

CAMUNDA = ROOT / "tests" / "fixtures" / "camunda" / "site_inspection.bpmn"


def test_a_camunda_diagram_deploys_from_the_cli_and_its_task_reaches_the_role(
    deployed: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(CAMUNDA, tmp_path / CAMUNDA.name)
    done = afterflow(monkeypatch, url_of(deployed.db), tmp_path, "deploy", str(tmp_path / CAMUNDA.name))
    assert done.exit_code == 0, done.output
    assert "Activity_inspect: converted: candidate group 'service_supervisor'" in done.output
    assert "Flow_done: converted: condition" in done.output
    assert "not converted: assignee 'demo'" in done.output
    assert "site_inspection: deployed version 1" in done.output
    with deployed.sessions() as session:
        definition = session.scalar(
            select(ProcessDefinition).where(ProcessDefinition.process_key == "site_inspection")
        )
        assert definition is not None

    # Tuesday 10:00 in Shanghai: four wall-clock hours later is 14:00 the same day.
    clock.freeze(datetime(2026, 3, 10, 2, 0, tzinfo=UTC))
    started = deployed.start("site_inspection", {}, actor("sup1", "service_supervisor"))
    with deployed.sessions() as session:
        task = session.scalar(select(Task).where(Task.instance_id == started.id, Task.state == "open"))
        assert task is not None
        assert (task.role, task.form_key) == ("service_supervisor", "repair_escalation")
        assert task.due_at == datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
        task_id = task.id
    supervisor = actor("sup1", "service_supervisor")
    deployed.claim(task_id, supervisor)
    deployed.complete(task_id, {"action_taken": "fixed"}, supervisor)
    with deployed.sessions() as session:
        assert (
            session.scalar(select(Task).where(Task.instance_id == started.id, Task.state == "open")) is None
        )


def test_an_unconvertible_setting_is_listed_and_the_diagram_refused(
    deployed: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = CAMUNDA.read_text().replace("repair_escalation.form.json", "no_such_form.form.json")
    (tmp_path / "site_inspection.bpmn").write_text(text)
    refused = afterflow(
        monkeypatch, url_of(deployed.db), tmp_path, "deploy", str(tmp_path / "site_inspection.bpmn")
    )
    assert refused.exit_code == 1
    assert "not converted: form 'embedded:app:forms/no_such_form.form.json'" in refused.output
    assert "Activity_inspect" in refused.output
    with deployed.sessions() as session:
        assert (
            session.scalar(
                select(ProcessDefinition).where(ProcessDefinition.process_key == "site_inspection")
            )
            is None
        )


def test_a_camunda_assignee_naming_a_user_assigns_the_task_to_that_user(
    deployed: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with deployed.writer.begin() as session:
        create_user(session, "sup1", DEMO_PASSWORD, ["service_supervisor"], ROLE_KEYS, "苏主管")
    text = CAMUNDA.read_text().replace('camunda:assignee="demo"', 'camunda:assignee="sup1"')
    (tmp_path / CAMUNDA.name).write_text(text)
    done = afterflow(monkeypatch, url_of(deployed.db), tmp_path, "deploy", str(tmp_path / CAMUNDA.name))
    assert done.exit_code == 0, done.output
    assert "Activity_inspect: converted: assignee 'sup1' → assignee 'sup1'" in done.output
    started = deployed.start("site_inspection", {}, actor("sup1", "service_supervisor"))
    with deployed.sessions() as session:
        task = session.scalar(select(Task).where(Task.instance_id == started.id, Task.state == "open"))
        assert task is not None and task.assignee == "sup1"


def test_embedded_camunda_form_fields_deploy_as_the_task_form(
    deployed: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.test_convert_foreign import embedded_camunda

    (tmp_path / CAMUNDA.name).write_text(embedded_camunda())
    done = afterflow(monkeypatch, url_of(deployed.db), tmp_path, "deploy", str(tmp_path / CAMUNDA.name))
    assert done.exit_code == 0, done.output
    assert "Activity_inspect: converted: embedded form fields → generated form" in done.output
    assert "site_inspection: deployed version 1" in done.output
    supervisor = actor("sup1", "service_supervisor")
    started = deployed.start("site_inspection", {}, supervisor)
    with deployed.sessions() as session:
        task = session.scalar(select(Task).where(Task.instance_id == started.id, Task.state == "open"))
        assert task is not None and (task.role, task.form_key) == ("service_supervisor", "activity_inspect")
        task_id = task.id
    deployed.claim(task_id, supervisor)
    deployed.complete(task_id, {"action_taken": "fixed", "hours": 3, "note": "ok"}, supervisor)
    with deployed.sessions() as session:
        assert (
            session.scalar(select(Task).where(Task.instance_id == started.id, Task.state == "open")) is None
        )
