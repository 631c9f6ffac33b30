"""A deploy's checked files are kept by content: an unchanged set is not checked again, any change is.

The files are tests/fixtures/runtime's: ``lookup`` calls the service ``ledger_lookup(batch)``,
``mini`` has lanes naming roles and a timer ``hours(2)`` evaluated at deploy, ``hourly_check``
(scheduled.bpmn) starts on a timer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine.definitions import collect_files
from engine.definitions.checked_bundles import CheckedFiles, check_files, forget_checked_files
from engine.sandbox import SandboxLimits
from engine.store.serialization import specs_from_json
from processes.roles import role_for_lane
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "runtime"


def ledger_lookup(batch: str) -> dict[str, Any]:
    return {"batch": batch}


def ledger_lookup_by_order(order: str) -> dict[str, Any]:
    return {"order": order}


SERVICES = {"ledger_lookup": ledger_lookup}


def timers_at(moment: str) -> Any:
    """The fixtures' timer expressions as the sandbox evaluates them, ``hours(2)`` giving ``moment``."""
    values = {"hours(2)": moment, '"PT1H"': "PT1H"}
    return lambda expression: values[expression]


in_two_hours = timers_at("2026-11-20T17:30:00+08:00")


@pytest.fixture(autouse=True)
def _nothing_kept() -> Iterator[None]:
    forget_checked_files()
    yield
    forget_checked_files()


def fixture_files() -> dict[str, str]:
    files, problems = collect_files([FIXTURES])
    assert not problems
    return files


def check(files: dict[str, str], **changes: Any) -> CheckedFiles:
    given: dict[str, Any] = {
        "resolve_role": role_for_lane,
        "evaluate_timer": in_two_hours,
        "limits": None,
        "services": SERVICES,
    }
    given.update(changes)
    return check_files(files, **given)


def messages(checked: CheckedFiles) -> list[str]:
    return [problem.line() for problem in checked.problems]


def test_the_same_files_checked_again_give_the_kept_outcome() -> None:
    first = check(fixture_files())
    assert not first.problems
    assert {p.key for p in first.processes} == {
        "grievance",
        "hourly_check",
        "lookup",
        "mini",
        "reply_or_timeout",
        "visit",
    }
    assert check(fixture_files()) is first


def test_the_kept_outcome_is_what_a_fresh_check_gives() -> None:
    kept = check(fixture_files())
    forget_checked_files()
    fresh = check(fixture_files())
    assert fresh is not kept
    assert fresh == kept
    by_key = {p.key: p for p in kept.processes}
    assert by_key["hourly_check"].timer_start and not by_key["mini"].timer_start
    assert specs_from_json(by_key["lookup"].spec_json).spec.name == "lookup"


def test_what_a_caller_gets_cannot_change_the_next_deploy() -> None:
    first = check(fixture_files())
    mini = next(p for p in first.processes if p.key == "mini")
    files, meta = mini.file_map(), mini.meta()
    files["mini.bpmn"] = "changed"
    meta["tasks"].clear()
    again = next(p for p in check(fixture_files()).processes if p.key == "mini")
    assert again.file_map()["mini.bpmn"] != "changed"
    assert again.meta()["tasks"]


def test_a_changed_file_is_checked_again_and_its_problem_reported() -> None:
    files = fixture_files()
    assert not check(files).problems
    broken = {
        **files,
        "mini.bpmn": files["mini.bpmn"].replace('name="service_supervisor"', 'name="仓库管理员"'),
    }
    assert any("names no known role" in line for line in messages(check(broken)))
    assert not check(files).problems


def test_a_broken_set_is_checked_again_each_time() -> None:
    files = fixture_files()
    broken = {
        **files,
        "mini.bpmn": files["mini.bpmn"].replace('name="service_supervisor"', 'name="仓库管理员"'),
    }
    first = check(broken)
    assert first.problems
    second = check(broken)
    assert second is not first and second == first


def test_a_handler_gone_from_the_registry_is_reported() -> None:
    files = fixture_files()
    assert not check(files).problems
    assert any("ledger_lookup" in line for line in messages(check(files, services={})))


def test_a_handler_taking_other_parameters_is_reported() -> None:
    files = fixture_files()
    assert not check(files).problems
    changed = check(files, services={"ledger_lookup": ledger_lookup_by_order})
    assert changed.problems and all(p.element_id == "service_ledger" for p in changed.problems)


def test_another_handler_with_the_same_parameters_keeps_the_outcome() -> None:
    files = fixture_files()
    first = check(files)

    def other_ledger(batch: str) -> dict[str, Any]:
        return {}

    assert check(files, services={"ledger_lookup": other_ledger}) is first


def test_a_lane_resolving_to_another_role_is_checked_again() -> None:
    files = fixture_files()
    first = check(files)

    def without_supervisors(lane: str | None) -> str | None:
        return None if lane == "service_supervisor" else role_for_lane(lane)

    refused = check(files, resolve_role=without_supervisors)
    assert any("service_supervisor" in line and "names no known role" in line for line in messages(refused))

    def supervisors_as_managers(lane: str | None) -> str | None:
        return "general_manager" if lane == "service_supervisor" else role_for_lane(lane)

    moved = check(files, resolve_role=supervisors_as_managers)
    assert not moved.problems and moved is not first
    mini = next(p for p in moved.processes if p.key == "mini")
    assert "general_manager" in {task["role"] for task in mini.meta()["tasks"].values()}


def test_a_timer_that_no_longer_evaluates_is_reported() -> None:
    files = fixture_files()
    assert not check(files).problems

    def broken_calendar(expression: str) -> Any:
        raise ValueError("no working days in 2026")

    assert any("does not evaluate" in line for line in messages(check(files, evaluate_timer=broken_calendar)))

    a_duration = timers_at("PT2H")  # hours(2) as a duration, where a timeDate needs a moment
    assert any("does not evaluate" in line for line in messages(check(files, evaluate_timer=a_duration)))


def test_a_timer_giving_another_moment_keeps_the_outcome() -> None:
    files = fixture_files()
    first = check(files)
    assert check(files, evaluate_timer=timers_at("2027-01-04T09:00:00+08:00")) is first


def test_other_limits_check_the_files_again() -> None:
    files = fixture_files()
    first = check(files)
    again = check(files, limits=SandboxLimits(time_limit=2.0))
    assert again is not first and again == first
    assert check(files, limits=SandboxLimits(time_limit=2.0)) is again
