"""Runtime commands against a real database: each one transaction, refused commands change nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import event, func, select

from engine import clock
from engine.accounts.users import create_user
from engine.definitions import collect_files
from engine.errors import (
    FormInvalid,
    InstanceNotActive,
    NotFound,
    PermissionDenied,
    TaskAlreadyCompleted,
    TaskNotAvailable,
)
from engine.runtime import Engine
from engine.runtime.runner import TimerRunner
from engine.store.models import Event, Job, ProcessInstance, Task
from engine.store.serialization import state_from_json
from engine.store.state_store import state_text
from processes.roles import ROLE_KEYS
from processes.wiring import build_engine
from tests.conftest import ROOT, actor
from tests.state_checking import checking
from web.messages import translate_errors

FIXTURES = ROOT / "tests" / "fixtures" / "runtime"

CS = actor("cs1", "customer_service")
SUP = actor("sup1", "service_supervisor")
SUP2 = actor("sup2", "service_supervisor")
TECH = actor("tech1", "technician")
BILL = actor("bill1", "billing_clerk")

# Friday 2026-11-20 15:30 in Shanghai.
FRIDAY_AFTERNOON = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)


class FlakyLedger:
    """A sales-ledger service that can be switched off, like a remote system."""

    def __init__(self) -> None:
        self.available = True
        self.calls = 0

    def __call__(self, batch: str) -> dict[str, Any]:
        self.calls += 1
        if not self.available:
            raise ConnectionError("sales ledger unreachable")
        return {"batch": batch, "sold_to": ["协和医院"]}


@pytest.fixture
def ledger() -> FlakyLedger:
    return FlakyLedger()


@pytest.fixture
def runtime(db: SqlEngine, ledger: FlakyLedger) -> Iterator[Engine]:
    clock.freeze(FRIDAY_AFTERNOON)
    engine = build_engine(db)
    checking(engine)  # every command's stored state is checked against a whole save
    engine.script_engine.services["ledger_lookup"] = ledger
    files, problems = collect_files([FIXTURES])
    assert not problems
    del files["scheduled.bpmn"]  # its scheduled cases would fire whenever a test moves the clock
    del files["reply_or_timeout.bpmn"]  # deployed by the one test that needs it
    engine.deploy(files, deployed_by="owner1")
    with engine.writer.begin() as session:
        for username, roles in (
            ("sup1", ["service_supervisor"]),
            ("sup2", ["service_supervisor"]),
            ("tech1", ["technician"]),
            ("cs1", ["customer_service"]),
        ):
            create_user(session, username, "pw", roles, ROLE_KEYS)
    yield engine


def open_tasks(engine: Engine, instance_id: int) -> list[Task]:
    with engine.sessions() as session:
        return list(
            session.scalars(
                select(Task)
                .where(Task.instance_id == instance_id, Task.state == "open")
                .order_by(Task.created_at)
            )
        )


def only_open_task(engine: Engine, instance_id: int, spec_id: str) -> Task:
    tasks = [t for t in open_tasks(engine, instance_id) if t.spec_id == spec_id]
    assert len(tasks) == 1, [t.spec_id for t in open_tasks(engine, instance_id)]
    return tasks[0]


def instance(engine: Engine, instance_id: int) -> ProcessInstance:
    with engine.sessions() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        return row


def stored_workflow(engine: Engine, instance_id: int) -> BpmnWorkflow:
    """The case's workflow restored from what the database holds (its snapshot and the changes after it)."""
    with engine.sessions() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        return state_from_json(state_text(session, row), engine.definitions.specs(row.definition))


def events(engine: Engine, instance_id: int, action: str | None = None) -> list[Event]:
    with engine.sessions() as session:
        query = select(Event).where(Event.instance_id == instance_id).order_by(Event.id)
        if action:
            query = query.where(Event.action == action)
        return list(session.scalars(query))


def snapshot(engine: Engine) -> tuple[Any, ...]:
    """Everything a refused command must leave untouched."""
    with engine.sessions() as session:
        return (
            session.scalar(select(func.count(ProcessInstance.id))),
            session.scalar(select(func.count(Event.id))),
            tuple(
                session.execute(
                    select(Task.id, Task.state, Task.assignee, Task.draft).order_by(Task.id)
                ).all()
            ),
            tuple(
                session.execute(
                    select(
                        ProcessInstance.id,
                        ProcessInstance.lock_version,
                        ProcessInstance.state,
                        ProcessInstance.state_seq,
                        ProcessInstance.state_changes,
                        ProcessInstance.status,
                    ).order_by(ProcessInstance.id)
                ).all()
            ),
            tuple(session.execute(select(Job.id, Job.done_at).order_by(Job.id)).all()),
        )


def start_mini(engine: Engine, divisor: int = 2, owner: str = "sup1") -> int:
    return engine.start("mini", {"customer_name": "协和医院", "owner": owner, "divisor": str(divisor)}, CS).id


def test_start_gives_a_business_number_and_offers_the_first_task_with_its_due_time(runtime: Engine) -> None:
    started = runtime.start("mini", {"customer_name": "协和医院", "owner": "sup1", "divisor": "2"}, CS)
    second = runtime.start("mini", {"customer_name": "华山医院", "owner": "sup1", "divisor": "2"}, CS)

    assert started.business_number == "MN-20261120-0001"
    assert second.business_number == "MN-20261120-0002"
    task = only_open_task(runtime, started.id, "task_first")
    assert task.role == "customer_service" and task.assignee is None and task.form_key == "mini_first"
    # Friday 15:30 + 4 working hours (08:30-17:30) = Monday 10:30 Shanghai = 02:30 UTC.
    assert task.due_at == datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    row = instance(runtime, started.id)
    assert (row.status, row.customer_name, row.current_step, row.due_at) == (
        "running",
        "协和医院",
        "第一步",
        task.due_at,
    )
    started_event = events(runtime, started.id, "instance_started")[0]
    assert started_event.actor == "cs1" and started_event.data["data"]["customer_name"] == "协和医院"


def test_start_with_bad_form_data_or_without_the_role_changes_nothing(runtime: Engine) -> None:
    before = snapshot(runtime)
    with pytest.raises(FormInvalid) as invalid:
        runtime.start("mini", {"customer_name": "", "divisor": "many"}, CS)
    assert translate_errors(invalid.value.errors, "en")["customer_name"] == ["This field is required."]
    assert "divisor" in invalid.value.errors
    with pytest.raises(PermissionDenied):
        runtime.start("mini", {"customer_name": "x"}, TECH)
    with pytest.raises(NotFound):
        runtime.start("no_such_process", {}, CS)
    assert snapshot(runtime) == before


def test_complete_validates_the_form_and_a_refusal_changes_nothing(runtime: Engine) -> None:
    instance_id = start_mini(runtime)
    task = only_open_task(runtime, instance_id, "task_first")
    before = snapshot(runtime)

    with pytest.raises(FormInvalid) as invalid:
        runtime.complete(task.id, {"amount": "-3"}, CS)
    assert translate_errors(invalid.value.errors, "zh") == {"amount": ["不能小于 0。"]}
    with pytest.raises(PermissionDenied):
        runtime.complete(task.id, {"amount": "5"}, TECH)
    assert snapshot(runtime) == before

    version_before = instance(runtime, instance_id).lock_version
    runtime.complete(task.id, {"amount": "5"}, CS)
    done = instance(runtime, instance_id)
    assert done.lock_version == version_before + 1
    second = only_open_task(runtime, instance_id, "task_second")
    assert second.assignee == "sup1"  # from the task's assignee expression: owner
    with runtime.sessions() as session:
        completed = session.get(Task, task.id)
        assert completed is not None
        assert (completed.state, completed.completed_by, completed.completed_at) == (
            "completed",
            "cs1",
            FRIDAY_AFTERNOON,
        )
    workflow = stored_workflow(runtime, done.id)
    script_task = next(t for t in workflow.get_tasks() if t.task_spec.name == "script_total")
    assert script_task.data["total"] == 10 and script_task.data["amount"] == 5


def test_a_second_completion_is_told_who_completed_the_task(runtime: Engine) -> None:
    instance_id = start_mini(runtime)
    task = only_open_task(runtime, instance_id, "task_first")
    other = actor("cs2", "customer_service")
    runtime.complete(task.id, {"amount": "1"}, CS)
    before = snapshot(runtime)
    with pytest.raises(TaskAlreadyCompleted) as already:
        runtime.complete(task.id, {"amount": "2"}, other)
    assert already.value.completed_by == "cs1"
    assert "cs1" in already.value.message
    assert snapshot(runtime) == before


def test_claim_unclaim_and_assign_follow_roles_and_are_audited(runtime: Engine) -> None:
    instance_id = start_mini(runtime, owner="")
    runtime.complete(only_open_task(runtime, instance_id, "task_first").id, {"amount": "1"}, CS)
    task = only_open_task(runtime, instance_id, "task_second")
    assert task.assignee is None and task.role == "service_supervisor"

    with pytest.raises(PermissionDenied):
        runtime.claim(task.id, TECH)
    runtime.claim(task.id, SUP)
    with pytest.raises(TaskNotAvailable) as taken:
        runtime.claim(task.id, SUP2)
    assert taken.value.details["assignee"] == "sup1"
    with pytest.raises(TaskNotAvailable):
        runtime.complete(task.id, {}, SUP2)
    runtime.unclaim(task.id, SUP)
    assert only_open_task(runtime, instance_id, "task_second").assignee is None

    with pytest.raises(PermissionDenied):
        runtime.assign(task.id, "sup2", CS)
    with pytest.raises(Exception, match="does not hold the role"):
        runtime.assign(task.id, "tech1", SUP)
    with pytest.raises(NotFound):
        runtime.assign(task.id, "nobody", SUP)
    runtime.assign(task.id, "sup2", SUP)
    assert only_open_task(runtime, instance_id, "task_second").assignee == "sup2"
    actions = [(e.action, e.actor) for e in events(runtime, instance_id) if e.action.startswith("task_")]
    assert ("task_claimed", "sup1") in actions and ("task_unclaimed", "sup1") in actions
    assert ("task_assigned", "sup1") in actions
    runtime.complete(task.id, {}, SUP2)
    assert instance(runtime, instance_id).status == "completed"


def test_save_draft_keeps_input_without_completing(runtime: Engine) -> None:
    instance_id = start_mini(runtime)
    task = only_open_task(runtime, instance_id, "task_first")
    runtime.save_draft(task.id, {"amount": "12"}, CS)
    reloaded = only_open_task(runtime, instance_id, "task_first")
    assert reloaded.draft == {"amount": "12"} and reloaded.state == "open"
    with pytest.raises(PermissionDenied):
        runtime.save_draft(task.id, {"amount": "1"}, TECH)


def test_a_failing_script_puts_the_case_in_error_and_keeps_the_input(runtime: Engine) -> None:
    instance_id = start_mini(runtime, divisor=0)
    task = only_open_task(runtime, instance_id, "task_first")
    runtime.complete(task.id, {"amount": "7"}, CS)

    row = instance(runtime, instance_id)
    assert row.status == "error"
    assert row.error_element == "script_total"
    assert "division by zero" in (row.error_message or "")
    assert events(runtime, instance_id, "task_completed")[0].data == {"data": {"amount": 7}}
    workflow = stored_workflow(runtime, row.id)
    assert next(t for t in workflow.get_tasks() if t.task_spec.name == "task_first").data["amount"] == 7
    assert open_tasks(runtime, instance_id) == []
    # Nothing more can be done on a case in error but retry or terminate.
    with pytest.raises(InstanceNotActive):
        runtime.suspend(instance_id, SUP, "look at it")


def test_a_script_that_never_ends_is_stopped_and_reported(runtime: Engine, db: SqlEngine) -> None:
    runtime.script_engine.environment.time_limit = 0.3
    loop = (FIXTURES / "mini.bpmn").read_text().replace("check = 10 / divisor", "while True:\n    pass")
    forms = {name: (FIXTURES / name).read_text() for name in ("mini_start.form.json", "mini_first.form.json")}
    runtime.deploy({"mini.bpmn": loop, **forms})
    instance_id = start_mini(runtime)
    runtime.complete(only_open_task(runtime, instance_id, "task_first").id, {"amount": "1"}, CS)
    row = instance(runtime, instance_id)
    assert (row.status, row.error_element) == ("error", "script_total")
    assert "longer than the limit" in (row.error_message or "")


def test_retry_after_the_cause_is_fixed_runs_the_case_on(runtime: Engine, ledger: FlakyLedger) -> None:
    ledger.available = False
    started = runtime.start("lookup", {"batch": "B2026-11"}, BILL)
    row = instance(runtime, started.id)
    assert (row.status, row.error_element) == ("error", "service_ledger")
    assert "sales ledger unreachable" in (row.error_message or "")

    with pytest.raises(PermissionDenied):
        runtime.retry(started.id, BILL, "try again")
    runtime.retry(started.id, SUP, "still down?")
    assert instance(runtime, started.id).status == "error"

    ledger.available = True
    runtime.retry(started.id, SUP, "ledger is back")
    row = instance(runtime, started.id)
    assert (row.status, row.error_element, row.error_message) == ("running", None, None)
    assert row.current_step == "等待客户回复"
    assert [e.data["reason"] for e in events(runtime, started.id, "instance_retried")] == [
        "still down?",
        "ledger is back",
    ]


def test_a_message_is_delivered_only_to_a_case_waiting_for_it(runtime: Engine) -> None:
    started = runtime.start("lookup", {"batch": "B1"}, BILL)
    before = snapshot(runtime)
    with pytest.raises(TaskNotAvailable):
        runtime.send_message(started.id, "no_such_message", {}, BILL)
    assert snapshot(runtime) == before
    runtime.send_message(started.id, "customer_reply", {"accepted": True}, BILL)
    task = only_open_task(runtime, started.id, "task_check")
    row = instance(runtime, started.id)
    workflow = stored_workflow(runtime, row.id)
    ready = next(t for t in workflow.get_tasks() if str(t.id) == task.id)
    assert ready.data["reply"] == {"accepted": True}
    assert ready.data["ledger"]["sold_to"] == ["协和医院"]


def test_suspend_resume_and_terminate(runtime: Engine) -> None:
    instance_id = start_mini(runtime)
    task = only_open_task(runtime, instance_id, "task_first")
    with pytest.raises(PermissionDenied):
        runtime.suspend(instance_id, CS, "why not")
    with pytest.raises(Exception, match="reason"):
        runtime.suspend(instance_id, SUP, "  ")
    runtime.suspend(instance_id, SUP, "customer asked to wait")
    before = snapshot(runtime)
    with pytest.raises(InstanceNotActive):
        runtime.complete(task.id, {"amount": "1"}, CS)
    assert snapshot(runtime) == before
    runtime.resume(instance_id, SUP, "customer is ready")
    runtime.complete(task.id, {"amount": "1"}, CS)

    runtime.terminate(instance_id, SUP, "duplicate case")
    row = instance(runtime, instance_id)
    assert row.status == "terminated" and row.ended_at == FRIDAY_AFTERNOON
    assert open_tasks(runtime, instance_id) == []
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Job.id)).where(Job.done_at.is_(None))) == 0
    reasons = [
        e.data["reason"]
        for e in events(runtime, instance_id)
        if e.action.startswith("instance_") and e.data and "reason" in e.data
    ]
    assert reasons == ["customer asked to wait", "customer is ready", "duplicate case"]


def fire(engine: Engine) -> int:
    return TimerRunner(engine, name="test").run_once()


def test_a_boundary_timer_fires_once_when_due_and_escalates(runtime: Engine) -> None:
    instance_id = start_mini(runtime)
    runtime.complete(only_open_task(runtime, instance_id, "task_first").id, {"amount": "1"}, CS)
    with runtime.sessions() as session:
        job = session.scalars(select(Job).where(Job.instance_id == instance_id)).one()
    assert job.element_id == "timer_late"
    assert job.due_at == FRIDAY_AFTERNOON + timedelta(hours=2)

    clock.advance(timedelta(hours=1, minutes=59))
    assert fire(runtime) == 0
    assert [t.spec_id for t in open_tasks(runtime, instance_id)] == ["task_second"]

    clock.advance(timedelta(minutes=2))
    assert fire(runtime) == 1
    assert fire(runtime) == 0
    assert sorted(t.spec_id for t in open_tasks(runtime, instance_id)) == ["task_escalate", "task_second"]
    assert len(events(runtime, instance_id, "timer_fired")) == 1


def test_completing_the_task_cancels_its_boundary_timer(runtime: Engine) -> None:
    instance_id = start_mini(runtime)
    runtime.complete(only_open_task(runtime, instance_id, "task_first").id, {"amount": "1"}, CS)
    runtime.complete(only_open_task(runtime, instance_id, "task_second").id, {}, SUP)
    clock.advance(timedelta(hours=3))
    assert fire(runtime) == 0
    assert instance(runtime, instance_id).status == "completed"
    assert [e.action for e in events(runtime, instance_id) if e.action.startswith("timer_")] == [
        "timer_cancelled"
    ]


def run_in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released at the same moment; return results or exceptions."""
    import threading

    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def target(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_runners_fire_a_due_timer_exactly_once(runtime: Engine, db: SqlEngine) -> None:
    ids = [start_mini(runtime) for _ in range(4)]
    for instance_id in ids:
        runtime.complete(only_open_task(runtime, instance_id, "task_first").id, {"amount": "1"}, CS)
    clock.advance(timedelta(hours=3))
    # Two runners with their own engines and connection pools, as two processes would have.
    engines = [build_engine(db), build_engine(db)]
    results = run_in_threads(2, lambda i: TimerRunner(engines[i], name=f"runner-{i}").run_once())
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 4
    for instance_id in ids:
        assert len(events(runtime, instance_id, "timer_fired")) == 1
        assert [t.spec_id for t in open_tasks(runtime, instance_id)].count("task_escalate") == 1


def test_two_people_completing_one_task_at_once_get_one_success(runtime: Engine, db: SqlEngine) -> None:
    instance_id = start_mini(runtime)
    task = only_open_task(runtime, instance_id, "task_first")
    people = [actor("cs1", "customer_service"), actor("cs2", "customer_service")]
    engines = [build_engine(db), build_engine(db)]
    results = run_in_threads(2, lambda i: engines[i].complete(task.id, {"amount": str(i + 1)}, people[i]))

    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1, results
    winner = people[results.index(None)].username
    assert isinstance(failures[0], TaskAlreadyCompleted)
    assert failures[0].completed_by == winner
    assert len(events(runtime, instance_id, "task_completed")) == 1
    assert [t.spec_id for t in open_tasks(runtime, instance_id)] == ["task_second"]


def test_concurrent_starts_get_distinct_business_numbers(runtime: Engine, db: SqlEngine) -> None:
    engines = [build_engine(db) for _ in range(4)]
    results = run_in_threads(
        4, lambda i: engines[i].start("mini", {"customer_name": f"c{i}"}, CS).business_number
    )
    assert sorted(results) == [f"MN-20261120-{n:04d}" for n in range(1, 5)]


def test_a_thrown_message_starts_the_linked_case_in_the_same_transaction(runtime: Engine) -> None:
    visit = runtime.start("visit", {"customer_name": "协和医院"}, CS)
    assert [d.process_key for d in runtime.startable_definitions(CS)] == ["mini", "visit"]  # not "grievance"
    runtime.complete(only_open_task(runtime, visit.id, "task_rate").id, {"rating": "unsatisfied"}, CS)

    with runtime.sessions() as session:
        child = session.scalars(
            select(ProcessInstance).where(ProcessInstance.process_key == "grievance")
        ).one()
    assert child.parent_instance_id == visit.id
    assert child.business_number == "GV-20261120-0001"
    assert child.customer_name == "协和医院"
    register = only_open_task(runtime, child.id, "task_register")
    assert register.role == "quality"
    workflow = stored_workflow(runtime, child.id)
    ready = next(t for t in workflow.get_tasks() if str(t.id) == register.id)
    assert ready.data["source_number"] == visit.business_number
    linked = events(runtime, visit.id, "linked_case_started")
    assert [e.data["business_number"] for e in linked] == ["GV-20261120-0001"]
    assert instance(runtime, visit.id).status == "completed"


def test_a_satisfied_rating_starts_no_linked_case(runtime: Engine) -> None:
    visit = runtime.start("visit", {"customer_name": "协和医院"}, CS)
    runtime.complete(only_open_task(runtime, visit.id, "task_rate").id, {"rating": "satisfied"}, CS)
    with runtime.sessions() as session:
        assert (
            session.scalar(
                select(func.count(ProcessInstance.id)).where(ProcessInstance.process_key == "grievance")
            )
            == 0
        )


def deploy_scheduled(engine: Engine, text: str | None = None) -> None:
    engine.deploy({"scheduled.bpmn": text or (FIXTURES / "scheduled.bpmn").read_text()})


def scheduled(engine: Engine) -> list[ProcessInstance]:
    with engine.sessions() as session:
        return list(
            session.scalars(
                select(ProcessInstance)
                .where(ProcessInstance.process_key == "hourly_check")
                .order_by(ProcessInstance.id)
            )
        )


def test_a_timer_start_process_runs_when_due_and_schedules_the_next_case(runtime: Engine) -> None:
    deploy_scheduled(runtime)
    [waiting] = scheduled(runtime)
    assert waiting.status == "scheduled" and waiting.current_step == "每小时"
    assert open_tasks(runtime, waiting.id) == []

    assert fire(runtime) == 0
    clock.advance(timedelta(hours=1, seconds=1))
    assert fire(runtime) == 1
    first, following = scheduled(runtime)
    assert first.id == waiting.id and first.status == "running"
    assert [t.spec_id for t in open_tasks(runtime, first.id)] == ["task_check_list"]
    assert following.status == "scheduled"
    with runtime.sessions() as session:
        job = session.scalars(select(Job).where(Job.instance_id == following.id)).one()
    assert job.due_at == clock.now() + timedelta(hours=1)


def test_deploying_a_new_version_reschedules_on_it(runtime: Engine) -> None:
    deploy_scheduled(runtime)
    [old] = scheduled(runtime)
    deploy_scheduled(runtime, (FIXTURES / "scheduled.bpmn").read_text().replace('"PT1H"', '"PT2H"'))
    withdrawn, new = scheduled(runtime)
    assert withdrawn.id == old.id and withdrawn.status == "terminated"
    assert new.status == "scheduled" and new.definition.version == 2
    with runtime.sessions() as session:
        open_jobs = session.scalars(
            select(Job).where(Job.done_at.is_(None), Job.element_id == "every_hour")
        ).all()
    assert [j.instance_id for j in open_jobs] == [new.id]
    assert open_jobs[0].due_at == FRIDAY_AFTERNOON + timedelta(hours=2)


def test_a_timer_behind_an_event_based_gateway_gets_a_job_and_fires(runtime: Engine) -> None:
    runtime.deploy({"reply_or_timeout.bpmn": (FIXTURES / "reply_or_timeout.bpmn").read_text()})
    started = runtime.start("reply_or_timeout", {}, CS)
    with runtime.sessions() as session:
        job = session.scalars(select(Job).where(Job.instance_id == started.id)).one()
    assert job.element_id == "gw_reply_or_timeout"
    assert job.due_at == FRIDAY_AFTERNOON + timedelta(hours=1)
    clock.advance(timedelta(hours=1, seconds=1))
    assert fire(runtime) == 1
    assert instance(runtime, started.id).status == "completed"
    assert len(events(runtime, started.id, "timer_fired")) == 1


def one_lane_process(key: str, name: str, prefix: str, nodes: list[str], body: str) -> str:
    """A process of one customer-service lane holding ``nodes``, its elements and flows in ``body``."""
    refs = "".join(f"<bpmn:flowNodeRef>{node}</bpmn:flowNodeRef>" for node in nodes)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_{key}"
  targetNamespace="http://afterflow.test">
  <bpmn:collaboration id="collab_{key}"><bpmn:participant id="p_{key}" processRef="{key}"/></bpmn:collaboration>
  <bpmn:process id="{key}" name="{name}" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="businessNumberPrefix" value="{prefix}"/>
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:laneSet id="lanes_{key}"><bpmn:lane id="lane_{key}" name="customer_service">{refs}</bpmn:lane></bpmn:laneSet>
    {body}
  </bpmn:process>
</bpmn:definitions>
"""


PAST_TIMER = one_lane_process(
    "past_timer",
    "过期定时",
    "PT",
    ["past_start", "first", "passed", "second", "past_end"],
    """<bpmn:startEvent id="past_start" name="开始"/>
    <bpmn:userTask id="first" name="第一步"/>
    <bpmn:intermediateCatchEvent id="passed" name="已过时间"><bpmn:timerEventDefinition id="passed_def">
      <bpmn:timeDate>"2020-01-01T00:00:00+00:00"</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="second" name="第二步"/>
    <bpmn:endEvent id="past_end" name="结束"/>
    <bpmn:sequenceFlow id="pf1" sourceRef="past_start" targetRef="first"/>
    <bpmn:sequenceFlow id="pf2" sourceRef="first" targetRef="passed"/>
    <bpmn:sequenceFlow id="pf3" sourceRef="passed" targetRef="second"/>
    <bpmn:sequenceFlow id="pf4" sourceRef="second" targetRef="past_end"/>""",
)


def test_a_timer_already_past_when_reached_gets_one_closed_job_and_fires_once(runtime: Engine) -> None:
    runtime.deploy({"past_timer.bpmn": PAST_TIMER}, deployed_by="owner1")
    started = runtime.start("past_timer", {}, CS)
    runtime.complete(only_open_task(runtime, started.id, "first").id, {}, CS)

    def timer_jobs() -> list[Job]:
        with runtime.sessions() as session:
            return list(session.scalars(select(Job).where(Job.instance_id == started.id)))

    [job] = timer_jobs()
    assert (job.element_id, job.due_at) == ("passed", datetime(2020, 1, 1, tzinfo=UTC))
    assert job.done_at is not None
    assert [e.element_id for e in events(runtime, started.id, "timer_fired")] == ["passed"]
    # The next command sees the fired timer in the case's history and records nothing more for it.
    runtime.complete(only_open_task(runtime, started.id, "second").id, {}, CS)
    assert instance(runtime, started.id).status == "completed"
    assert [j.id for j in timer_jobs()] == [job.id]
    assert len(events(runtime, started.id, "timer_fired")) == 1


PARALLEL = one_lane_process(
    "both_then_one",
    "两步并行",
    "BO",
    ["both_start", "fork", "left", "right", "join", "after", "both_end"],
    """<bpmn:startEvent id="both_start" name="开始"/>
    <bpmn:parallelGateway id="fork" name="分开"/>
    <bpmn:userTask id="left" name="左"/>
    <bpmn:userTask id="right" name="右"/>
    <bpmn:parallelGateway id="join" name="汇合"/>
    <bpmn:userTask id="after" name="之后"/>
    <bpmn:endEvent id="both_end" name="结束"/>
    <bpmn:sequenceFlow id="bf1" sourceRef="both_start" targetRef="fork"/>
    <bpmn:sequenceFlow id="bf2" sourceRef="fork" targetRef="left"/>
    <bpmn:sequenceFlow id="bf3" sourceRef="fork" targetRef="right"/>
    <bpmn:sequenceFlow id="bf4" sourceRef="left" targetRef="join"/>
    <bpmn:sequenceFlow id="bf5" sourceRef="right" targetRef="join"/>
    <bpmn:sequenceFlow id="bf6" sourceRef="join" targetRef="after"/>
    <bpmn:sequenceFlow id="bf7" sourceRef="after" targetRef="both_end"/>""",
)


@contextmanager
def reads_of(db: SqlEngine, table: str) -> Iterator[list[str]]:
    """The statements that read the table's rows on their own (not with the case's lock), while inside."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        flat = " ".join(statement.split())
        if flat.startswith("SELECT") and f" FROM {table}" in flat:
            seen.append(flat)

    event.listen(db, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db, "before_cursor_execute", note)


def test_completing_a_cases_only_open_task_reads_no_other_task_rows(runtime: Engine, db: SqlEngine) -> None:
    runtime.deploy({"past_timer.bpmn": PAST_TIMER}, deployed_by="owner1")
    started = runtime.start("past_timer", {}, CS)
    first = only_open_task(runtime, started.id, "first")
    with reads_of(db, "task") as reads:
        runtime.complete(first.id, {}, CS)
    assert reads == []
    second = only_open_task(runtime, started.id, "second")
    assert [t.id for t in open_tasks(runtime, started.id)] == [second.id]
    assert [e.task_id for e in events(runtime, started.id, "task_created")] == [first.id, second.id]
    assert instance(runtime, started.id).current_step == "第二步"
    with runtime.sessions() as session:
        assert session.get(Task, first.id).state == "completed"  # type: ignore[union-attr]


def test_completing_one_of_two_open_tasks_keeps_the_other_open_and_the_next_opens_after_both(
    runtime: Engine, db: SqlEngine
) -> None:
    runtime.deploy({"both_then_one.bpmn": PARALLEL}, deployed_by="owner1")
    started = runtime.start("both_then_one", {}, CS)
    assert {t.spec_id for t in open_tasks(runtime, started.id)} == {"left", "right"}
    left = only_open_task(runtime, started.id, "left")
    with reads_of(db, "task") as reads:
        runtime.complete(left.id, {}, CS)
    assert len(reads) == 1  # two open rows: the projection reads them
    assert [t.spec_id for t in open_tasks(runtime, started.id)] == ["right"]
    runtime.complete(only_open_task(runtime, started.id, "right").id, {}, CS)
    assert [t.spec_id for t in open_tasks(runtime, started.id)] == ["after"]
    runtime.complete(only_open_task(runtime, started.id, "after").id, {}, CS)
    assert instance(runtime, started.id).status == "completed"
    assert events(runtime, started.id, "task_cancelled") == []
    with runtime.sessions() as session:
        states = session.scalars(select(Task.state).where(Task.instance_id == started.id)).all()
    assert sorted(states) == ["completed"] * 3


def test_task_commands_keep_the_timer_jobs_in_step_without_reading_them(
    runtime: Engine, db: SqlEngine
) -> None:
    instance_id = start_mini(runtime)
    first = only_open_task(runtime, instance_id, "task_first")
    with reads_of(db, "job") as reads:
        runtime.complete(first.id, {"amount": "1"}, CS)  # the next task's boundary timer starts
    with runtime.sessions() as session:
        [job] = session.scalars(select(Job).where(Job.instance_id == instance_id)).all()
    assert (job.element_id, job.due_at, job.done_at) == (
        "timer_late",
        FRIDAY_AFTERNOON + timedelta(hours=2),
        None,
    )
    second = only_open_task(runtime, instance_id, "task_second")
    clock.advance(timedelta(minutes=30))
    with reads_of(db, "job") as more:
        runtime.claim(second.id, SUP)
        runtime.complete(second.id, {}, SUP)  # the timer is cancelled with its task
    assert reads == more == []
    with runtime.sessions() as session:
        closed = session.get(Job, job.id)
        assert closed is not None and closed.done_at == clock.now()
    [cancelled] = events(runtime, instance_id, "timer_cancelled")
    assert (cancelled.task_id, cancelled.element_id) == (job.task_id, "timer_late")
    assert cancelled.data == {"due_at": job.due_at.isoformat()}
    clock.advance(timedelta(hours=3))
    assert fire(runtime) == 0
    assert instance(runtime, instance_id).status == "completed"
