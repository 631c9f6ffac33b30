"""Warnings that do not stop a deploy: implicit parallel splits and elements nothing reaches."""

from __future__ import annotations

from engine.definitions import validate_files
from engine.runtime import Engine
from processes.roles import role_for_lane
from tests.integration.test_deploy import mini_files, mini_with


def warnings_of(files: dict[str, str]) -> list[tuple[str, str]]:
    result = validate_files(files, role_for_lane)
    assert result.ok, result.problems
    return [(w.element_id, w.message) for w in result.warnings]


def test_the_plain_mini_process_has_no_warning() -> None:
    assert warnings_of(mini_files()) == []


TWO_STARTS = (
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task_first" />',
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task_first" />'
    '<bpmn:sequenceFlow id="f1b" sourceRef="start" targetRef="task_escalate" />',
)


def test_a_second_unconditioned_flow_out_of_the_start_is_an_implicit_parallel_split() -> None:
    found = warnings_of(mini_with(*TWO_STARTS))
    assert [element for element, _ in found] == ["start"]
    assert "implicit parallel split" in found[0][1] and "2 without a condition" in found[0][1]


def test_a_second_flow_out_of_a_task_is_a_problem_that_says_what_to_draw() -> None:
    files = mini_with(
        '<bpmn:sequenceFlow id="f4" sourceRef="task_second" targetRef="end" />',
        '<bpmn:sequenceFlow id="f4" sourceRef="task_second" targetRef="end" />'
        '<bpmn:sequenceFlow id="f4b" sourceRef="task_second" targetRef="end_escalated" />',
    )
    result = validate_files(files, role_for_lane)
    assert [(p.element_id, "parallel gateway" in p.message) for p in result.problems] == [
        ("task_second", True)
    ]


def test_a_loop_no_start_reaches_is_unreachable() -> None:
    files = mini_with(
        '<bpmn:sequenceFlow id="f4" sourceRef="task_second" targetRef="end" />',
        '<bpmn:sequenceFlow id="f4" sourceRef="task_second" targetRef="end" />'
        '<bpmn:intermediateThrowEvent id="island_a" /><bpmn:intermediateThrowEvent id="island_b" />'
        '<bpmn:sequenceFlow id="fa" sourceRef="island_a" targetRef="island_b" />'
        '<bpmn:sequenceFlow id="fb" sourceRef="island_b" targetRef="island_a" />',
    )
    found = dict(warnings_of(files))
    assert set(found) >= {"island_a", "island_b"}
    assert "never runs" in found["island_a"]
    assert "task_second" not in found and "end" not in found


def test_a_deploy_with_warnings_goes_through_and_reports_them(engine: Engine) -> None:
    report = engine.deploy(mini_with(*TWO_STARTS), deployed_by="owner1")
    assert report.deployed == [("mini", 1)]
    assert [w.element_id for w in report.warnings] == ["start"]
