"""Moving running cases from version N to N+1: the dry run and the all-or-nothing migration.

Real instances of the small ``mini`` process (task_first → script_total → task_second with a
2-hour boundary timer) and of the repair process, on the real database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select
from sqlalchemy.orm import undefer

from engine import clock
from engine.accounts.users import create_user
from engine.definitions import collect_files
from engine.errors import PermissionDenied
from engine.runtime import Engine
from engine.runtime.migration import MigrationRefused, migrate_instance, plan_migration
from engine.store.models import Event, Job, ProcessInstance, Task
from processes.roles import ROLE_KEYS
from processes.wiring import build_engine
from tests.conftest import ROOT, actor
from tests.state_checking import checking

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CS = actor("cs1", "customer_service")
SUP = actor("sup1", "service_supervisor")
OWNER = actor("owner1", "process_owner")
FRIDAY_AFTERNOON = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
MINI_FILES = ("mini.bpmn", "mini_first.form.json", "mini_start.form.json")


def mini_files() -> dict[str, str]:
    files, problems = collect_files([ROOT / "tests" / "fixtures" / name for name in MINI_FILES])
    assert not problems
    return files


def with_bpmn(files: dict[str, str], name: str, edit: str, replacement: str) -> dict[str, str]:
    assert edit in files[name], edit
    return {**files, name: files[name].replace(edit, replacement)}


def add_step_after(text: str, source_flow: str, new_id: str, new_name: str, lane_id: str) -> str:
    """Insert a user task where ``source_flow`` ends (the flow now leads to it), placed in a lane."""
    root = etree.fromstring(text.encode())
    flow = root.find(f".//{{{BPMN}}}sequenceFlow[@id='{source_flow}']")
    assert flow is not None
    process = flow.getparent()
    target = flow.get("targetRef")
    flow.set("targetRef", new_id)
    target_node = process.find(f"*[@id='{target}']")
    new_flow = f"{source_flow}_{new_id}"
    for incoming in target_node.findall(f"{{{BPMN}}}incoming"):
        if incoming.text == source_flow:
            incoming.text = new_flow
    task = etree.SubElement(process, f"{{{BPMN}}}userTask", id=new_id, name=new_name)
    etree.SubElement(task, f"{{{BPMN}}}incoming").text = source_flow
    etree.SubElement(task, f"{{{BPMN}}}outgoing").text = new_flow
    etree.SubElement(process, f"{{{BPMN}}}sequenceFlow", id=new_flow, sourceRef=new_id, targetRef=target)
    lane = process.find(f".//{{{BPMN}}}lane[@id='{lane_id}']")
    etree.SubElement(lane, f"{{{BPMN}}}flowNodeRef").text = new_id
    return etree.tostring(root, encoding="unicode")


def repair_v2(files: dict[str, str]) -> dict[str, str]:
    """The repair process with 备件确认 (service supervisor) between 派工 and 到达现场."""
    text = add_step_after(
        files["repair_service.bpmn"],
        "flow_dispatch_arrival",
        "task_parts_check",
        "备件确认",
        "lane_service_supervisor",
    )
    return {**files, "repair_service.bpmn": text}


@pytest.fixture
def mini(db: SqlEngine) -> Iterator[Engine]:
    clock.freeze(FRIDAY_AFTERNOON)
    engine = build_engine(db)
    checking(engine)  # every command's stored state (a move included) is checked against a whole save
    engine.deploy(mini_files(), deployed_by="owner1")
    yield engine


def start(engine: Engine, owner: str = "sup1") -> int:
    return engine.start("mini", {"customer_name": "协和医院", "owner": owner, "divisor": "2"}, CS).id


def open_task(engine: Engine, instance_id: int) -> Task:
    with engine.sessions() as session:
        (task,) = session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == "open"))
        return task


def complete_first(engine: Engine, instance_id: int) -> None:
    engine.complete(open_task(engine, instance_id).id, {"amount": "5"}, CS)


def row(engine: Engine, instance_id: int) -> ProcessInstance:
    with engine.sessions() as session:
        found = session.get(ProcessInstance, instance_id, options=[undefer(ProcessInstance.state)])
        assert found is not None
        return found


def migrated_events(engine: Engine, instance_id: int) -> list[Event]:
    with engine.sessions() as session:
        return list(
            session.scalars(
                select(Event).where(Event.instance_id == instance_id, Event.action == "instance_migrated")
            )
        )


def open_timer(engine: Engine, instance_id: int) -> Job:
    with engine.sessions() as session:
        (job,) = session.scalars(select(Job).where(Job.instance_id == instance_id, Job.done_at.is_(None)))
        return job


def test_dry_run_lists_every_running_case_with_why_it_cannot_move(mini: Engine) -> None:
    at_first = start(mini)
    at_second = start(mini)
    complete_first(mini, at_second)
    finished = start(mini)
    complete_first(mini, finished)
    mini.complete(open_task(mini, finished).id, {}, SUP)
    assert row(mini, finished).status == "completed"
    # Version 2 drops 第一步: the start leads straight to the script.
    files = mini_files()
    files = with_bpmn(
        files,
        "mini.bpmn",
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task_first" />',
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script_total" />',
    )
    files = with_bpmn(
        files,
        "mini.bpmn",
        files["mini.bpmn"][
            files["mini.bpmn"].index('<bpmn:userTask id="task_first"') : files["mini.bpmn"].index(
                '<bpmn:scriptTask id="script_total"'
            )
        ],
        "",
    )
    files = with_bpmn(
        files,
        "mini.bpmn",
        '<bpmn:sequenceFlow id="f2" sourceRef="task_first" targetRef="script_total" />',
        "",
    )
    files = with_bpmn(files, "mini.bpmn", "<bpmn:flowNodeRef>task_first</bpmn:flowNodeRef>", "")
    files = with_bpmn(
        files,
        "mini.bpmn",
        "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>",
        "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>",
    )
    report = mini.deploy(files, deployed_by="owner1", change_summary="第一步取消")
    assert report.deployed == [("mini", 2)]

    plan = plan_migration(mini, "mini", 1)

    assert plan.to_version == 2
    by_id = {case.instance_id: case for case in plan.cases}
    assert set(by_id) == {at_first, at_second}  # the completed case is not listed
    assert not by_id[at_first].can_migrate
    assert any("current step '第一步' (task_first) no longer exists" in r for r in by_id[at_first].reasons)
    assert not by_id[at_second].can_migrate  # it has done 第一步, which is gone
    assert any(
        "'第一步' (task_first) the case has done no longer exists" in r for r in by_id[at_second].reasons
    )


def test_a_case_moves_keeps_its_task_and_timer_and_is_audited(mini: Engine) -> None:
    ready = start(mini)
    waiting = start(mini)
    complete_first(mini, waiting)
    second = open_task(mini, waiting)
    mini.claim(second.id, SUP)
    timer_before = open_timer(mini, waiting)
    # Version 2 adds 复核 after 第二步 (not reached yet by either case).
    files = mini_files()
    files = {
        **files,
        "mini.bpmn": add_step_after(files["mini.bpmn"], "f4", "task_review", "复核", "lane_sup"),
    }
    mini.deploy(files, deployed_by="owner1", change_summary="加复核")

    plan = plan_migration(mini, "mini", 1)
    # 第二步 changed (its outgoing flow) but the case has only been offered it: both can move.
    assert {c.instance_id: c.can_migrate for c in plan.cases} == {ready: True, waiting: True}

    old = migrate_instance(mini, ready, 2, OWNER, "新复核环节")
    migrate_instance(mini, waiting, 2, OWNER, "新复核环节")

    assert old == 1
    moved = row(mini, ready)
    assert moved.definition.version == 2
    (event,) = migrated_events(mini, ready)
    assert event.actor == "owner1"
    assert event.data == {
        "from_version": 1,
        "to_version": 2,
        "from_definition": event.data["from_definition"],
        "to_definition": moved.definition_id,
        "reason": "新复核环节",
    }
    assert plan_migration(mini, "mini", 1).cases == []
    # It now runs version 2 to the end: 第一步 → 第二步 → 复核 (the new step).
    complete_first(mini, ready)
    mini.complete(open_task(mini, ready).id, {}, SUP)
    review = open_task(mini, ready)
    assert review.spec_id == "task_review"
    mini.complete(review.id, {}, SUP)
    assert row(mini, ready).status == "completed"
    # The case that was at 第二步 keeps its task (same id, still claimed) and its timer's due time.
    kept = open_task(mini, waiting)
    assert (kept.id, kept.assignee) == (second.id, "sup1")
    assert open_timer(mini, waiting).due_at == timer_before.due_at
    mini.complete(second.id, {}, SUP)
    assert open_task(mini, waiting).spec_id == "task_review"


def test_a_refused_migration_changes_nothing(mini: Engine) -> None:
    case = start(mini)
    complete_first(mini, case)
    files = with_bpmn(mini_files(), "mini.bpmn", 'name="第一步"', 'name="首步"')
    mini.deploy(files, deployed_by="owner1")
    before = row(mini, case)

    with pytest.raises(MigrationRefused) as refused:
        migrate_instance(mini, case, 2, OWNER, "改名")

    assert any(
        "'第一步' (task_first) was changed and the case has done it" in r for r in refused.value.reasons
    )
    after = row(mini, case)
    assert (after.definition_id, after.lock_version, after.state_seq, after.state) == (
        before.definition_id,
        before.lock_version,
        before.state_seq,
        before.state,
    )
    assert migrated_events(mini, case) == []


def test_only_process_owners_migrate_and_a_reason_is_required(mini: Engine) -> None:
    case = start(mini)
    mini.deploy(
        with_bpmn(mini_files(), "mini.bpmn", 'name="超时处理"', 'name="超时跟进"'), deployed_by="owner1"
    )
    with pytest.raises(PermissionDenied):
        migrate_instance(mini, case, 2, SUP, "试试")
    with pytest.raises(Exception, match="reason"):
        migrate_instance(mini, case, 2, OWNER, "  ")
    assert row(mini, case).definition.version == 1


def test_a_changed_timer_is_recomputed_an_unchanged_one_keeps_its_due_time(mini: Engine) -> None:
    case = start(mini)
    complete_first(mini, case)
    due_v1 = open_timer(mini, case).due_at
    assert due_v1 == FRIDAY_AFTERNOON + timedelta(hours=2)
    # Version 2 only renames the escalation task: 第二步 and its timer are untouched.
    mini.deploy(
        with_bpmn(mini_files(), "mini.bpmn", 'name="超时处理"', 'name="超时跟进"'), deployed_by="owner1"
    )
    clock.freeze(FRIDAY_AFTERNOON + timedelta(minutes=30))
    task_before = open_task(mini, case)

    migrate_instance(mini, case, 2, OWNER, "改名")

    assert open_timer(mini, case).due_at == due_v1
    task_after = open_task(mini, case)
    assert task_after.id == task_before.id  # the same task: links and claims stay valid
    # Version 3 changes the timer itself: the case moves and the new limit counts from now.
    mini.deploy(with_bpmn(mini_files(), "mini.bpmn", "hours(2)", "hours(8)"), deployed_by="owner1")
    migrate_instance(mini, case, 3, OWNER, "时限改为 8 小时")
    assert open_timer(mini, case).due_at == FRIDAY_AFTERNOON + timedelta(minutes=30, hours=8)


def test_repair_case_before_dispatch_moves_to_the_new_step(deployed: Engine) -> None:
    from tests.conftest import diagram_files
    from tests.web.conftest import REPAIR_REQUEST

    with deployed.writer.begin() as session:
        create_user(session, "tech1", "pw", ["technician"], ROLE_KEYS)
    early = deployed.start("repair_service", REPAIR_REQUEST, CS).id
    files = repair_v2(diagram_files())
    assert deployed.deploy(files, deployed_by="owner1", change_summary="备件确认").deployed == [
        ("repair_service", 2)
    ]

    plan = plan_migration(deployed, "repair_service", 1)
    assert [(c.instance_id, c.can_migrate) for c in plan.cases] == [(early, True)]
    migrate_instance(deployed, early, 2, OWNER, "备件确认")

    with deployed.sessions() as session:
        guidance = session.scalar(
            select(Task).where(Task.instance_id == early, Task.spec_id == "task_remote_guidance")
        )
        assert guidance is not None
    deployed.complete(guidance.id, {"solved_by_phone": "no"}, CS)
    with deployed.sessions() as session:
        dispatch = session.scalar(
            select(Task).where(Task.instance_id == early, Task.spec_id == "task_dispatch")
        )
        assert dispatch is not None
    deployed.complete(dispatch.id, {"technician": "tech1"}, SUP)
    with deployed.sessions() as session:
        spec_ids = set(
            session.scalars(select(Task.spec_id).where(Task.instance_id == early, Task.state == "open"))
        )
    assert "task_parts_check" in spec_ids
