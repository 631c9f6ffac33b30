"""The trial run of changed files on a simulated clock, and the replay of a recorded repair case.

A trial runs the files in memory: the due times and timers it shows are the ones a real case
gets on the company calendar, and no case, task, job or event row is written.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.errors import DeploymentInvalid
from engine.runtime import Engine
from engine.runtime.trial import TrialPlan, TrialStep, bundle_of, run_trial
from engine.runtime.trial_replay import recorded_case, replay
from engine.store.models import Event, Job, ProcessInstance, Task
from tests.conftest import diagram_files
from tests.scenarios.conftest import REPAIR_REQUEST, add_product, as_user, complete_step, open_task, shanghai

CS, SUP = as_user("cs1"), as_user("sup1")
OWNER = as_user("owner1")
FRIDAY_16 = shanghai(2026, 11, 27, 16, 0)


def _rows(engine: Engine) -> tuple[int, ...]:
    with engine.sessions() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (ProcessInstance, Task, Job, Event)
        )


def _repair_files(solved_when: str = "solved_by_phone == 'yes'") -> dict[str, str]:
    files = diagram_files()
    files["repair_service.bpmn"] = files["repair_service.bpmn"].replace(
        "solved_by_phone == 'yes'</bpmn:conditionExpression>", f"{solved_when}</bpmn:conditionExpression>"
    )
    return files


def test_a_trial_shows_the_due_times_a_real_case_gets_and_writes_nothing(scenario_engine: Engine) -> None:
    engine = scenario_engine
    add_product(engine, "SN-0001")
    real = engine.start("repair_service", REPAIR_REQUEST, CS).id
    complete_step(engine, real, "task_remote_guidance", {"solved_by_phone": "no"}, CS)
    real_dispatch_due = open_task(engine, real, "task_dispatch").due_at
    before = _rows(engine)

    bundle = bundle_of(engine, _repair_files(), "repair_service")
    plan = TrialPlan(
        clock.now(), REPAIR_REQUEST, [TrialStep("task_remote_guidance", {"solved_by_phone": "no"}, 0)]
    )
    result = run_trial(engine, bundle, plan, OWNER)

    assert result.error is None and result.refused is None
    assert [t.element for t in result.open_tasks] == ["task_dispatch"]
    assert result.open_tasks[0].due == real_dispatch_due
    assert "decide_category" in result.path and "task_remote_guidance" in result.path
    decisions = [e for e in result.events if e.kind == "decision"]
    assert decisions and decisions[0].detail["rules"], "the matched rows of the category table are shown"
    category = next(e for e in decisions if e.element == "decide_category")
    assert category.detail["outputs"]["service_category"] in {"A", "B", "C"}
    assert _rows(engine) == before
    assert clock.now() == shanghai(2026, 11, 23, 9, 0), "the simulated clock stays in the trial"


def test_timers_fire_on_the_simulated_clock_at_their_own_moment(scenario_engine: Engine) -> None:
    engine = scenario_engine
    bundle = bundle_of(engine, _repair_files(), "repair_service")
    plan = TrialPlan(FRIDAY_16, REPAIR_REQUEST, [TrialStep(None, {}, 7 * 24 * 60)])
    result = run_trial(engine, bundle, plan, OWNER)

    waiting = {e.element: e.due for e in result.events if e.kind == "timer_waiting"}
    fired = [e for e in result.events if e.kind == "timer_fired" and e.element == "timer_response_late"]
    assert fired and fired[0].at == fired[0].due == waiting["timer_response_late"]
    assert FRIDAY_16 < fired[0].at < FRIDAY_16 + timedelta(days=7)
    assert "task_response_escalation" in {t.element for t in result.open_tasks}
    assert result.clock == FRIDAY_16 + timedelta(days=7)


def test_an_answer_the_form_refuses_stops_the_trial_naming_the_field(scenario_engine: Engine) -> None:
    bundle = bundle_of(scenario_engine, _repair_files(), "repair_service")
    plan = TrialPlan(
        clock.now(), REPAIR_REQUEST, [TrialStep("task_remote_guidance", {"solved_by_phone": "maybe"})]
    )
    result = run_trial(scenario_engine, bundle, plan, OWNER)
    assert result.refused is not None
    assert (
        result.refused["element"] == "task_remote_guidance" and "solved_by_phone" in result.refused["errors"]
    )
    assert [t.element for t in result.open_tasks] == ["task_remote_guidance"]


def test_files_with_problems_are_refused_before_any_trial(scenario_engine: Engine) -> None:
    files = _repair_files("solved_by_phone ==")
    with pytest.raises(DeploymentInvalid):
        bundle_of(scenario_engine, files, "repair_service")


def test_a_recorded_repair_case_replayed_on_a_changed_gateway_names_the_step(scenario_engine: Engine) -> None:
    engine = scenario_engine
    add_product(engine, "SN-0001")
    case = engine.start("repair_service", REPAIR_REQUEST, CS).id
    clock.advance(timedelta(minutes=20))
    complete_step(engine, case, "task_remote_guidance", {"solved_by_phone": "no"}, CS)
    clock.advance(timedelta(minutes=30))
    complete_step(engine, case, "task_dispatch", {"technician": "tech2"}, SUP)
    recorded = recorded_case(engine, case, "repair_service")
    before = _rows(engine)

    same = replay(engine, bundle_of(engine, _repair_files(), "repair_service"), recorded, OWNER)
    assert same.difference is None and same.due_changes == []

    changed = bundle_of(engine, _repair_files("solved_by_phone == 'no'"), "repair_service")
    result = replay(engine, changed, recorded, OWNER)
    assert result.difference is not None
    assert result.difference["after"] == "task_remote_guidance"
    assert result.difference["recorded"] == "task_dispatch"
    assert result.difference["draft"] != "task_dispatch"
    assert _rows(engine) == before


def test_a_replay_lists_the_due_times_a_changed_limit_moves(scenario_engine: Engine) -> None:
    engine = scenario_engine
    add_product(engine, "SN-0001")
    case = engine.start("repair_service", REPAIR_REQUEST, CS).id
    recorded_due = open_task(engine, case, "task_remote_guidance").due_at
    files = _repair_files()
    files["sla_policy.dmn"] = files["sla_policy.dmn"].replace(
        '<outputEntry id="rule_repair_response_default_amount"><text>4</text>',
        '<outputEntry id="rule_repair_response_default_amount"><text>8</text>',
    )
    result = replay(
        engine,
        bundle_of(engine, files, "repair_service"),
        recorded_case(engine, case, "repair_service"),
        OWNER,
    )

    assert result.difference is None, "the path stays the same"
    (change,) = result.due_changes
    assert (change["element"], change["recorded"]) == ("task_remote_guidance", recorded_due)
    assert change["draft"] == engine.config.calendar.count_due(
        shanghai(2026, 11, 23, 9, 0), 8, "working_hours"
    )
