"""The flat task scan finds what SpiffWorkflow's tree walk finds, in the same order."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

from engine.runtime.steps import do_engine_steps
from engine.store import task_scan
from engine.store.projection import ready_human_tasks, waiting_timers
from engine.store.task_scan import any_in_state, is_completed, tasks_in_state, walk_ready

NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'

#: Parallel branches: user tasks, an embedded subprocess with its own parallel branches and a
#: nested subprocess, a call activity, a task with an interrupting boundary timer, then a task
#: done three times over (a loop back).
SHAPES = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="defs" targetNamespace="http://afterflow.test">
  <bpmn:process id="shapes" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:userTask id="a1"/>
    <bpmn:subProcess id="sub">
      <bpmn:startEvent id="sub_start"/>
      <bpmn:parallelGateway id="sub_fork"/>
      <bpmn:userTask id="s1"/>
      <bpmn:userTask id="s2"/>
      <bpmn:subProcess id="inner">
        <bpmn:startEvent id="inner_start"/>
        <bpmn:userTask id="i1"/>
        <bpmn:endEvent id="inner_end"/>
        <bpmn:sequenceFlow id="if1" sourceRef="inner_start" targetRef="i1"/>
        <bpmn:sequenceFlow id="if2" sourceRef="i1" targetRef="inner_end"/>
      </bpmn:subProcess>
      <bpmn:parallelGateway id="sub_join"/>
      <bpmn:endEvent id="sub_end"/>
      <bpmn:sequenceFlow id="sf1" sourceRef="sub_start" targetRef="sub_fork"/>
      <bpmn:sequenceFlow id="sf2" sourceRef="sub_fork" targetRef="s1"/>
      <bpmn:sequenceFlow id="sf3" sourceRef="sub_fork" targetRef="s2"/>
      <bpmn:sequenceFlow id="sf4" sourceRef="sub_fork" targetRef="inner"/>
      <bpmn:sequenceFlow id="sf5" sourceRef="s1" targetRef="sub_join"/>
      <bpmn:sequenceFlow id="sf6" sourceRef="s2" targetRef="sub_join"/>
      <bpmn:sequenceFlow id="sf7" sourceRef="inner" targetRef="sub_join"/>
      <bpmn:sequenceFlow id="sf8" sourceRef="sub_join" targetRef="sub_end"/>
    </bpmn:subProcess>
    <bpmn:callActivity id="call" calledElement="called"/>
    <bpmn:userTask id="a2"/>
    <bpmn:boundaryEvent id="a2_late" attachedToRef="a2">
      <bpmn:timerEventDefinition id="a2_late_def"><bpmn:timeDuration>"P1D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="a2_escalated"/>
    <bpmn:exclusiveGateway id="a2_merge"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:exclusiveGateway id="again" default="done"/>
    <bpmn:userTask id="last"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="a1"/>
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="sub"/>
    <bpmn:sequenceFlow id="f4" sourceRef="fork" targetRef="call"/>
    <bpmn:sequenceFlow id="f5" sourceRef="fork" targetRef="a2"/>
    <bpmn:sequenceFlow id="f6" sourceRef="a1" targetRef="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="sub" targetRef="join"/>
    <bpmn:sequenceFlow id="f8" sourceRef="call" targetRef="join"/>
    <bpmn:sequenceFlow id="f9" sourceRef="a2" targetRef="a2_merge"/>
    <bpmn:sequenceFlow id="f10" sourceRef="a2_late" targetRef="a2_escalated"/>
    <bpmn:sequenceFlow id="f11" sourceRef="a2_escalated" targetRef="a2_merge"/>
    <bpmn:sequenceFlow id="f14" sourceRef="a2_merge" targetRef="join"/>
    <bpmn:sequenceFlow id="f12" sourceRef="join" targetRef="last"/>
    <bpmn:sequenceFlow id="f13" sourceRef="last" targetRef="again"/>
    <bpmn:sequenceFlow id="loop" sourceRef="again" targetRef="last">
      <bpmn:conditionExpression>rounds &lt; 3</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="done" sourceRef="again" targetRef="end"/>
  </bpmn:process>
  <bpmn:process id="called" isExecutable="true">
    <bpmn:startEvent id="called_start"/>
    <bpmn:userTask id="c1"/>
    <bpmn:endEvent id="called_end"/>
    <bpmn:sequenceFlow id="cf1" sourceRef="called_start" targetRef="c1"/>
    <bpmn:sequenceFlow id="cf2" sourceRef="c1" targetRef="called_end"/>
  </bpmn:process>
</bpmn:definitions>
"""

MASKS = (
    TaskState.READY,
    TaskState.WAITING,
    TaskState.COMPLETED,
    TaskState.CANCELLED,
    TaskState.FINISHED_MASK,
    TaskState.NOT_FINISHED_MASK,
    TaskState.ANY_MASK,
)


def _workflow() -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(SHAPES.encode())
    workflow = BpmnWorkflow(parser.get_spec("shapes"), parser.get_subprocess_specs("shapes"))
    workflow.do_engine_steps()
    return workflow


def _ids(tasks: list[SpiffTask]) -> list[str]:
    return [f"{task.task_spec.name}:{task.id}" for task in tasks]


def _agrees(workflow: BpmnWorkflow) -> None:
    for mask in MASKS:
        assert _ids(tasks_in_state(workflow, mask)) == _ids(workflow.get_tasks(state=mask)), (
            TaskState.get_name(mask)
        )
    assert _ids(ready_human_tasks(workflow)) == _ids(workflow.get_tasks(state=TaskState.READY, manual=True))
    for each in (workflow, *workflow.subprocesses.values()):
        assert _ids(walk_ready(each)) == _ids(each.get_tasks(state=TaskState.READY))
    automatic = [t for t in workflow.get_tasks(state=TaskState.READY) if not t.task_spec.manual]
    assert any_in_state(workflow, TaskState.READY, lambda t: not t.task_spec.manual) == bool(automatic)


@pytest.mark.parametrize("seed", range(12))
def test_the_scan_finds_the_tree_walks_tasks_in_its_order_at_every_step(seed: int) -> None:
    chooser = random.Random(seed)
    workflow = _workflow()
    rounds = 0
    steps = 0
    while not workflow.is_completed():
        _agrees(workflow)
        assert is_completed(workflow) is False
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        waiting = [task for task, _due in waiting_timers(workflow)]
        if waiting and chooser.random() < 0.2:  # the boundary timer fires: a2 is cancelled
            waiting[0]._set_internal_data(event_value="2000-01-01T00:00:00+00:00")
            workflow.refresh_timers()
        else:
            task = chooser.choice(ready)
            if task.task_spec.name == "last":
                rounds += 1
                task.data["rounds"] = rounds
            task.run()
        workflow.do_engine_steps()
        steps += 1
        assert steps < 200
    _agrees(workflow)
    assert is_completed(workflow) is True
    assert rounds == 3  # the loop ran: the scan also saw a task come round again


def test_several_ready_tasks_keep_the_tree_order_whatever_order_the_dicts_hold() -> None:
    workflow = _workflow()
    ready = ready_human_tasks(workflow)
    assert len(ready) > 3
    for tasks in (workflow.tasks, *(sub.tasks for sub in workflow.subprocesses.values())):
        shuffled = list(tasks.items())
        random.Random(1).shuffle(shuffled)
        tasks.clear()
        tasks.update(shuffled)
    assert _ids(ready_human_tasks(workflow)) == _ids(ready)
    assert _ids(ready) == _ids(workflow.get_tasks(state=TaskState.READY, manual=True))


def _history(workflow: BpmnWorkflow) -> list[tuple[str, str, dict[str, object]]]:
    return [(t.task_spec.name, TaskState.get_name(t.state), dict(t.data)) for t in workflow.get_tasks()]


@contextmanager
def _spiffworkflows_own_walks() -> Iterator[None]:
    """SpiffWorkflow as shipped: its walk for the WAITING tasks whenever a task completes."""
    installed = Workflow.update_waiting_tasks
    Workflow.update_waiting_tasks = task_scan.walk_waiting  # type: ignore[method-assign]
    try:
        yield
    finally:
        Workflow.update_waiting_tasks = installed  # type: ignore[method-assign]


def _as_shipped(action: Callable[[], object]) -> None:
    with _spiffworkflows_own_walks():
        action()


@pytest.mark.parametrize("seed", range(8))
def test_the_engine_steps_run_as_spiffworkflows_own_at_every_step(seed: int) -> None:
    """Two copies of a case, one run by our engine steps, one by SpiffWorkflow as shipped."""
    chooser = random.Random(seed)
    ours = _workflow()
    with _spiffworkflows_own_walks():
        theirs = _workflow()
    rounds = 0
    for _ in range(200):
        if ours.is_completed():
            break
        assert _history(ours) == _history(theirs)
        ready = [w.get_tasks(state=TaskState.READY, manual=True) for w in (ours, theirs)]
        waiting = [[task for task, _due in waiting_timers(w)] for w in (ours, theirs)]
        if waiting[0] and chooser.random() < 0.2:  # the boundary timer fires in both
            for tasks in waiting:
                tasks[0]._set_internal_data(event_value="2000-01-01T00:00:00+00:00")
            ours.refresh_timers()
            _as_shipped(theirs.refresh_timers)
        else:
            pick = chooser.randrange(len(ready[0]))
            if ready[0][pick].task_spec.name == "last":
                rounds += 1
            for tasks in ready:
                tasks[pick].data["rounds"] = rounds
            ready[0][pick].run()
            _as_shipped(ready[1][pick].run)
        do_engine_steps(ours)
        _as_shipped(theirs.do_engine_steps)
    assert ours.is_completed() and theirs.is_completed()
    assert _history(ours) == _history(theirs)
    assert rounds == 3


def test_the_scan_looks_below_a_predicted_task_only_where_the_walk_does() -> None:
    workflow = _workflow()
    ready = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.name == "a1"]
    parent, was = ready[0].parent, ready[0].parent._state
    parent._state = TaskState.LIKELY  # the walk goes no further down from a predicted task
    assert "a1" not in [t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY)]
    assert _ids(walk_ready(workflow)) == _ids(workflow.get_tasks(state=TaskState.READY))
    parent._state = was
    runs_sub = next(t for t in workflow.get_tasks() if t.id in workflow.subprocesses)
    runs_sub._state = TaskState.LIKELY  # but always into the subprocess a task runs, and its children
    runs_sub.children[0]._state = TaskState.READY
    found = [t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY)]
    assert "s1" in found and runs_sub.children[0].task_spec.name in found
    assert _ids(walk_ready(workflow)) == _ids(workflow.get_tasks(state=TaskState.READY))


def test_a_case_deeper_than_the_scan_trusts_is_left_to_the_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    workflow = _workflow()
    walked: list[object] = []
    original = BpmnWorkflow.get_tasks
    monkeypatch.setattr(
        BpmnWorkflow, "get_tasks", lambda self, *a, **kw: walked.append(kw) or original(self, *a, **kw)
    )
    assert _ids(walk_ready(workflow)) == _ids(original(workflow, state=TaskState.READY))
    assert walked == []
    monkeypatch.setattr(task_scan, "_WALK_DEPTH", 1)
    assert _ids(walk_ready(workflow)) == _ids(original(workflow, state=TaskState.READY))
    assert walked == [{"state": TaskState.READY}]


def test_the_waiting_tasks_are_updated_by_a_walk_only_when_one_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    workflow = _workflow()
    walks: list[Workflow] = []
    shipped = task_scan.walk_waiting

    def walk(each: Workflow) -> None:
        walks.append(each)
        shipped(each)

    monkeypatch.setattr(task_scan, "walk_waiting", walk)
    timer = next(task for task, _due in waiting_timers(workflow))
    timer._set_internal_data(event_value="2000-01-01T00:00:00+00:00")  # due: the next update readies it
    a1 = next(t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.name == "a1")
    a1.run()
    assert walks == [workflow]
    assert timer.state == TaskState.READY
    inner = workflow.subprocesses[next(t.id for t in workflow.get_tasks() if t.task_spec.name == "inner")]
    i1 = next(t for t in inner.get_tasks(state=TaskState.READY) if t.task_spec.name == "i1")
    i1.run()
    assert not any(t.state == TaskState.WAITING for t in inner.tasks.values())
    assert walks == [workflow]  # nothing waited in the nested subprocess: no walk
    s1 = next(t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.name == "s1")
    s1.run()  # the subprocess's join now waits for its other branches
    assert walks == [workflow, s1.workflow]
