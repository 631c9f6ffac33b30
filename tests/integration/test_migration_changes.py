"""The migration dry run says, per case, what moving changes for it.

A repair case waits at 电话指导; version 2 of the repair process asks 派工 for a new required field
and gives the dispatch limit three working days instead of two in the policy table. The dry run
names the field, the limit (2 → 3) and the dispatch due time recomputed on the working-time
calendar, and the step the case will be on. A case the move changes nothing for lists no change.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select

from engine import clock
from engine.runtime import Engine
from engine.runtime.case_variables import case_variables
from engine.runtime.migration import migrate_instance, plan_migration
from engine.store.models import Task
from tests.conftest import actor, diagram_files
from tests.integration.test_version_migration import (
    FRIDAY_AFTERNOON,
    complete_first,
    mini,  # noqa: F401  # the fixture
    mini_files,
    start,
    with_bpmn,
)
from tests.web.conftest import REPAIR_REQUEST

CS = actor("cs1", "customer_service")
OWNER = actor("owner1", "process_owner")
DISPATCH_LIMIT = '<outputEntry id="rule_repair_dispatch_default_amount"><text>2</text></outputEntry>'


def with_dispatch_changes(files: dict[str, str]) -> dict[str, str]:
    """派工 asks for the spare parts to bring (required); the dispatch limit becomes 3 working days."""
    form = json.loads(files["repair_dispatch.form.json"])
    form["components"].append(
        {
            "id": "field_parts_to_bring",
            "key": "parts_to_bring",
            "type": "textfield",
            "label": "携带备件",
            "validate": {"required": True},
            "properties": {"label_en": "Parts to bring"},
        }
    )
    files = {**files, "repair_dispatch.form.json": json.dumps(form, ensure_ascii=False, indent=2)}
    return with_bpmn(
        files, "sla_policy.dmn", DISPATCH_LIMIT, DISPATCH_LIMIT.replace("<text>2</text>", "<text>3</text>")
    )


def working_days_from(engine: Engine, start: str, days: int) -> datetime:
    value = engine.script_engine.environment.evaluate(
        f"due_from(start, {days}, 'working_days')", {"start": start}
    )
    return datetime.fromisoformat(str(value))


def test_the_dry_run_lists_the_new_field_the_new_limit_and_the_recomputed_due_time(deployed: Engine) -> None:
    case = deployed.start("repair_service", REPAIR_REQUEST, CS).id
    report = deployed.deploy(
        with_dispatch_changes(diagram_files()), deployed_by="owner1", change_summary="派工时限"
    )
    assert ("repair_service", 2) in report.deployed

    (check,) = plan_migration(deployed, "repair_service", 1).cases

    assert check.can_migrate and check.changes is not None
    changes = check.changes
    assert [(s.element_id, s.new_name) for s in changes.steps] == [("task_remote_guidance", "电话指导")]
    assert [(f.element_id, f.key, f.label_zh, f.label_en, f.when) for f in changes.fields] == [
        ("task_dispatch", "parts_to_bring", "携带备件", "Parts to bring", "next")
    ]
    limits = {(c.element_id, c.variable): (c.old, c.new) for c in changes.limits}
    assert limits == {("sla_dispatch", "sla_amount"): (2, 3)}
    (due,) = [due for due in changes.due_times if due.element_id == "sla_dispatch"]
    assert (due.element_id, due.step_name, due.variable) == ("sla_dispatch", "计算派工时限", "dispatch_due")
    data_accepted = case_variables(deployed, case)["accepted_at"]
    assert datetime.fromisoformat(due.old) == working_days_from(deployed, data_accepted, 2)
    assert datetime.fromisoformat(due.new) == working_days_from(deployed, data_accepted, 3)
    assert changes.unknown == ()
    # The dry run wrote nothing: the case is still on version 1, and moves as the dry run said.
    migrate_instance(deployed, case, 2, OWNER, "派工时限改为 3 个工作日")
    with deployed.sessions() as session:
        guidance = session.scalar(select(Task).where(Task.instance_id == case, Task.state == "open"))
        assert guidance is not None and guidance.spec_id == "task_remote_guidance"
    deployed.complete(guidance.id, {"solved_by_phone": "no"}, CS)
    with deployed.sessions() as session:
        dispatch = session.scalar(
            select(Task).where(Task.instance_id == case, Task.spec_id == "task_dispatch")
        )
        assert dispatch is not None and dispatch.due_at is not None
    assert dispatch.due_at == datetime.fromisoformat(due.new)


def test_a_changed_timer_shows_its_new_due_time_and_a_rename_changes_nothing(mini: Engine) -> None:  # noqa: F811
    case = start(mini)
    complete_first(mini, case)
    mini.deploy(
        with_bpmn(mini_files(), "mini.bpmn", 'name="超时处理"', 'name="超时跟进"'), deployed_by="owner1"
    )

    (renamed,) = plan_migration(mini, "mini", 1).cases

    assert renamed.changes is not None and renamed.changes.empty
    assert [(s.element_id, s.old_name, s.new_name) for s in renamed.changes.steps] == [
        ("task_second", "第二步", "第二步")
    ]
    mini.deploy(with_bpmn(mini_files(), "mini.bpmn", "hours(2)", "hours(8)"), deployed_by="owner1")
    clock.freeze(FRIDAY_AFTERNOON + timedelta(minutes=30))

    (retimed,) = plan_migration(mini, "mini", 1, 3).cases

    assert retimed.changes is not None
    assert [(c.element_id, c.old, c.new) for c in retimed.changes.due_times] == [
        (
            "timer_late",
            FRIDAY_AFTERNOON + timedelta(hours=2),
            FRIDAY_AFTERNOON + timedelta(minutes=30, hours=8),
        )
    ]
    assert retimed.changes.fields == () and retimed.changes.limits == ()
