"""Generated processes for the targets: a line of N user tasks, and a timer in front of one task.

Both are deployed like any diagram and need no forms: each task is worked by the customer
service role, and completing it with no data moves the case on.
"""

from __future__ import annotations

import time
from itertools import pairwise
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.accounts.users import Actor
from engine.runtime import Engine
from engine.runtime.steps import run_until_input_needed
from engine.store.projection import ready_human_tasks
from engine.store.serialization import ProcessSpecs, state_to_json

WORKER = Actor("bench_customer_service", frozenset({"customer_service"}))
ROLE = "customer_service"


def linear_key(tasks: int) -> str:
    """The process key of the line of ``tasks`` user tasks."""
    return f"bench_line_{tasks}"


def linear_bpmn(tasks: int, timer_seconds: float | None = None, key: str | None = None) -> str:
    """A process: start → (a timer) → task 1 → … → task N → end, every task in one lane."""
    key = key or linear_key(tasks)
    nodes = ["start"]
    body = ['<bpmn:startEvent id="start" name="开始"/>']
    if timer_seconds is not None:
        nodes.append("wait")
        body.append(
            '<bpmn:intermediateCatchEvent id="wait" name="等待"><bpmn:timerEventDefinition id="wait_def">'
            f"<bpmn:timeDate>hours({timer_seconds} / 3600)</bpmn:timeDate>"
            "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        )
    for n in range(1, tasks + 1):
        nodes.append(f"task_{n}")
        body.append(f'<bpmn:userTask id="task_{n}" name="第{n}步"/>')
    nodes.append("end")
    body.append('<bpmn:endEvent id="end" name="结束"/>')
    flows = [
        f'<bpmn:sequenceFlow id="f{n}" sourceRef="{a}" targetRef="{b}"/>'
        for n, (a, b) in enumerate(pairwise(nodes))
    ]
    refs = "".join(f"<bpmn:flowNodeRef>{node}</bpmn:flowNodeRef>" for node in nodes)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_{key}"
  targetNamespace="http://afterflow.bench">
  <bpmn:collaboration id="collab_{key}"><bpmn:participant id="p_{key}" processRef="{key}"/></bpmn:collaboration>
  <bpmn:process id="{key}" name="{key}" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="businessNumberPrefix" value="BL"/>
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:laneSet id="lanes_{key}"><bpmn:lane id="lane_{key}" name="{ROLE}">{refs}</bpmn:lane></bpmn:laneSet>
    {"".join(body)}
    {"".join(flows)}
  </bpmn:process>
</bpmn:definitions>
"""


def deploy_lines(engine: Engine, sizes: list[int], timer_seconds: float | None = None) -> None:
    """Deploy the lines of these sizes (and the timer line when asked) on the engine's database."""
    files = {f"{linear_key(n)}.bpmn": linear_bpmn(n) for n in sizes}
    if timer_seconds is not None:
        files["bench_timer.bpmn"] = linear_bpmn(1, timer_seconds, key="bench_timer")
    engine.deploy(files, deployed_by="bench")


def open_task_ids(engine: Engine, instance_id: int) -> list[str]:
    """The ids of the case's open tasks."""
    from sqlalchemy import select

    from engine.store.models import Task

    with engine.sessions() as session:
        return list(
            session.scalars(select(Task.id).where(Task.instance_id == instance_id, Task.state == "open"))
        )


def run_line_case(engine: Engine, key: str) -> tuple[list[float], list[float]]:
    """Start one case of a line and complete every task; return (seconds, CPU seconds) per completion."""
    started = engine.start(key, {}, WORKER)
    walls: list[float] = []
    cpus: list[float] = []
    while ids := open_task_ids(engine, started.id):
        cpu, wall = time.process_time(), time.perf_counter()
        engine.complete(ids[0], {}, WORKER)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def floor_line_case(specs: ProcessSpecs, script_engine: Any, serialize: bool) -> tuple[list[float], float]:
    """The same case in memory: CPU seconds per completion, and for the start, of plain SpiffWorkflow."""
    cpu = time.process_time()
    workflow = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=script_engine)
    run_until_input_needed(workflow)
    if serialize:
        state_to_json(workflow)
    start = time.process_time() - cpu
    steps: list[float] = []
    while ready := ready_human_tasks(workflow):
        cpu = time.process_time()
        ready[0].run()
        run_until_input_needed(workflow)
        if serialize:
            state_to_json(workflow)
        steps.append(time.process_time() - cpu)
    return steps, start
