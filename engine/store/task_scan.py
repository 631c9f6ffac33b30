"""Find a workflow's tasks by state without walking its task tree.

SpiffWorkflow keeps every task of a workflow in the dict ``workflow.tasks`` and every
subprocess (called activities and embedded subprocesses, nested ones too) in the top
workflow's ``subprocesses``. A loop over those dicts comparing each task's state bits costs a
fraction of the tree iterator (``workflow.get_tasks``), which visits every task of the case's
history through its parent-child links. The few tasks found are put in the iterator's order
(depth first, a subprocess's tasks before the children of the task that runs it), so what
depends on that order — which ready task comes first, the order rows are opened — is unchanged.

SpiffWorkflow walks the tree itself twice over in a command: for the ready tasks of each pass
of its engine steps (``engine.runtime.steps.do_engine_steps`` runs the same passes over
``walk_ready``) and for the WAITING tasks whenever a task completes (installed here:
``update_waiting_tasks`` makes that walk only when the workflow has a task waiting).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow


def _task_dicts(workflow: BpmnWorkflow) -> Iterator[dict[Any, SpiffTask]]:
    """The task dicts of the workflow and of each of its subprocesses."""
    yield workflow.tasks
    for subprocess in workflow.subprocesses.values():
        yield subprocess.tasks


def tasks_in_state(
    workflow: BpmnWorkflow, state: int, where: Callable[[SpiffTask], bool] | None = None
) -> list[SpiffTask]:
    """The tasks in ``state`` (a state or a mask) that ``where`` accepts, in the tree's order."""
    found = [
        task
        for tasks in _task_dicts(workflow)
        for task in tasks.values()
        # ``_state``: the ``state`` property is a call per task, and this runs over the whole case
        if task._state & state and (where is None or where(task))
    ]
    return tree_ordered(found)


def any_in_state(workflow: BpmnWorkflow, state: int, where: Callable[[SpiffTask], bool]) -> bool:
    """Whether any task in ``state`` satisfies ``where``."""
    return any(
        task._state & state and where(task) for tasks in _task_dicts(workflow) for task in tasks.values()
    )


def is_completed(workflow: BpmnWorkflow) -> bool:
    """``workflow.is_completed()`` without its walk: no task of the workflow itself is unfinished.

    Like SpiffWorkflow's own check, only the workflow's own tasks count, and a workflow found
    completed is marked so.
    """
    if not workflow.completed and not any(
        task._state & TaskState.NOT_FINISHED_MASK for task in workflow.tasks.values()
    ):
        workflow.completed = True
    return bool(workflow.completed)


#: Beyond this depth, a task is looked for by SpiffWorkflow's own walk (which stops at 1,000 levels).
_WALK_DEPTH = 900


def walk_ready(workflow: Any) -> list[SpiffTask]:
    """What ``workflow.get_tasks(state=TaskState.READY)`` returns, found without walking the task tree.

    ``workflow`` is the top workflow or one of its subprocesses; like the walk, a subprocess's
    answer holds its nested subprocesses' tasks. The walk does not go below a predicted task
    (one LIKELY or MAYBE) that runs no subprocess, so a ready task is taken only when every
    task above it is at least FUTURE or runs a subprocess. A case deeper than a walk can go is
    left to the walk itself, so the answer is the walk's in every case.
    """
    top = workflow.top_workflow
    found = []
    for tasks in _task_dicts(top):
        for task in tasks.values():
            if not task._state & TaskState.READY:
                continue
            depth = _walked_depth(task, workflow)
            if depth is None:
                continue
            if depth > _WALK_DEPTH:
                return list(workflow.get_tasks(state=TaskState.READY))
            found.append(task)
    return tree_ordered(found)


def _walked_depth(task: SpiffTask, root: Any) -> int | None:
    """How deep below ``root``'s first task the walk from it meets ``task``; None when it never does."""
    subprocesses = root.top_workflow.subprocesses
    depth = 0
    current = task
    while True:
        workflow = current.workflow
        parent = workflow.tasks.get(current._parent) if current._parent is not None else None
        while parent is not None:
            if parent._state < TaskState.FUTURE and parent.id not in subprocesses:
                return None
            depth += 1
            current = parent
            parent = workflow.tasks.get(current._parent) if current._parent is not None else None
        if workflow is root:
            return depth
        parent_task_id = getattr(workflow, "parent_task_id", None)
        if parent_task_id is None:
            return None
        depth += 1
        current = root.top_workflow.get_task_from_id(parent_task_id)
        if current is None:
            return None


#: SpiffWorkflow's own ``Workflow.update_waiting_tasks``: a walk of the whole task tree.
walk_waiting = Workflow.update_waiting_tasks


def update_waiting_tasks(workflow: Workflow) -> None:
    """Update each WAITING task, as SpiffWorkflow does whenever one of the workflow's tasks completes.

    Its walk of the workflow's task tree updates the tasks it meets WAITING, and nothing else
    changes a task on the way; the tree holds only tasks of ``workflow.tasks``. So when none of
    those is WAITING the walk would change nothing, and it is not made.
    """
    if any(task._state & TaskState.WAITING for task in workflow.tasks.values()):
        walk_waiting(workflow)


Workflow.update_waiting_tasks = update_waiting_tasks


def tree_ordered(tasks: list[SpiffTask]) -> list[SpiffTask]:
    """The tasks in the order a depth-first walk of the task tree meets them."""
    if len(tasks) < 2:
        return tasks
    return sorted(tasks, key=tree_position)


def tree_position(task: SpiffTask) -> tuple[int, ...]:
    """Where a depth-first walk meets ``task``: the child indexes from the root, through subprocesses.

    A subprocess's tasks come right after the task that runs it and before that task's children
    (position -1 below it), as ``BpmnTaskIterator`` visits them.
    """
    path: list[int] = []
    current = task
    while True:
        workflow = current.workflow
        parent = workflow.tasks.get(current._parent) if current._parent is not None else None
        while parent is not None:
            path.append(parent._children.index(current.id))
            current = parent
            parent = workflow.tasks.get(current._parent) if current._parent is not None else None
        parent_task_id = getattr(workflow, "parent_task_id", None)
        if parent_task_id is None:
            break
        path.append(-1)
        current = workflow.top_workflow.get_task_from_id(parent_task_id)
    path.reverse()
    return tuple(path)
