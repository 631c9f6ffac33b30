"""Limits on what a diagram makes a case do: multi-instance cardinality, loop counts, tasks per case.

A ``loopCardinality`` of ``pow(2, 10**10, 10**9+7)`` once created 2.4 million tasks; these
checks run before SpiffWorkflow creates the instances, and name the element and the setting.
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask

from engine.sandbox.limits import SETTINGS, SandboxLimits


class CaseLimitExceeded(WorkflowTaskException):
    """A case reached one of the limits on multi-instance, loops or tasks; ``limit`` names its setting."""

    def __init__(self, message: str, task: Any, limit: str) -> None:
        super().__init__(f"{message} (setting {SETTINGS[limit]})", task=task)
        self.limit = SETTINGS[limit]


def check_task_count(task: Any, limits: SandboxLimits, adding: int = 0) -> None:
    """Refuse when the case holds, or would hold after ``adding`` more, too many tasks."""
    top = task.workflow.top_workflow  # a task of a subprocess counts against its whole case
    count = len(top.tasks) + sum(len(sub.tasks) for sub in top.subprocesses.values())
    if count + adding > limits.max_tasks_per_case:
        raise CaseLimitExceeded(
            f"the case would hold more than {limits.max_tasks_per_case:,} tasks", task, "max_tasks_per_case"
        )


def check_evaluated(task: Any, expression: str, value: Any, limits: SandboxLimits) -> None:
    """Check what an expression gave when it sizes a multi-instance activity or ends a loop."""
    spec = task.task_spec
    if isinstance(spec, MultiInstanceTask) and expression == spec.cardinality:
        _check_cardinality(task, value, limits)
    elif isinstance(spec, StandardLoopTask) and expression == spec.condition:
        done = len(task.internal_data.get("merged", []))
        if done >= limits.max_loop_count:
            raise CaseLimitExceeded(
                f"the loop ran {done:,} times, more than the limit of {limits.max_loop_count:,}",
                task,
                "max_loop_count",
            )


def _check_cardinality(task: Any, value: Any, limits: SandboxLimits) -> None:
    count = len(value) if isinstance(value, Sized) else value
    if isinstance(count, int) and count > limits.max_cardinality:
        raise CaseLimitExceeded(
            f"the multi-instance activity would create {count:,} instances, "
            f"more than the limit of {limits.max_cardinality:,}",
            task,
            "max_cardinality",
        )
    if isinstance(count, int):
        check_task_count(task, limits, adding=count)


def bound_collections(specs: Any, limits: SandboxLimits) -> None:
    """Make every multi-instance input collection of ``specs`` check its size when read.

    SpiffWorkflow reads a ``loopDataInputRef`` collection straight from the case data, with
    no expression the script engine could check, so the reference itself checks.
    """
    for spec in [specs.spec, *specs.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            reference = getattr(task_spec, "data_input", None)
            if (
                isinstance(task_spec, MultiInstanceTask)
                and reference is not None
                and not getattr(reference, "afterflow_bounded", False)
            ):
                _bound(reference, limits)
            elif isinstance(task_spec, StandardLoopTask) and (
                task_spec.maximum is None or task_spec.maximum > limits.max_loop_count
            ):
                task_spec.maximum = limits.max_loop_count


def _bound(reference: Any, limits: SandboxLimits) -> None:
    read = reference.get

    def get(task: Any) -> Any:
        value = read(task)
        _check_cardinality(task, value, limits)
        return value

    reference.get = get
    reference.afterflow_bounded = True
