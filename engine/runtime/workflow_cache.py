"""The workflows this process restored or saved last, so that the next command on a case skips the restore.

A command *takes* its case's workflow out of the cache (no other command can see it while it
works), and the unit of work *keeps* it again only after its transaction committed, under the
case's new lock version and the number of the state save it wrote (``state_seq``). A command
reuses a kept workflow only when the row it just locked has that lock version, that version of
the process and that state save; anything else — another process moved the case, a command was
refused half way — and the workflow is restored from the stored state as before. A stale
workflow can therefore never be used: at worst the cache misses. A restore of a backup clears
the cache of the process that runs it.

Beside each workflow the cache keeps what the next save needs to write only what changed
(``Baseline``): the fingerprints of its tasks and the sizes of the stored snapshot and changes.
"""

from __future__ import annotations

import copy
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.store.state_delta import Fingerprints

_EXACT_SCALARS = (str, int, float, bool, type(None), datetime, timedelta)

#: Cases kept per engine (per process) unless ``AFTERFLOW_WORKFLOW_CACHE`` says otherwise; 0 turns it off.
DEFAULT_SIZE = 256


@dataclass(frozen=True)
class Baseline:
    """What a workflow's stored state is made of, as of its last save or restore."""

    #: The fingerprints of its tasks (``engine.store.state_delta``).
    prints: Fingerprints
    #: The bytes the stored snapshot and the stored changes take (compressed), and how many changes there are.
    snapshot_bytes: int
    change_bytes: int
    changes: int
    #: The dictionary the next change is compressed with (``engine.store.state_store``).
    window: bytes


@dataclass(frozen=True)
class _Kept:
    lock_version: int
    definition_id: int
    state_seq: int
    workflow: BpmnWorkflow
    baseline: Baseline


class WorkflowCache:
    """Restored workflows by case id, each valid for one lock version and state save only."""

    def __init__(self, size: int | None = None) -> None:
        self.size = int(os.environ.get("AFTERFLOW_WORKFLOW_CACHE", DEFAULT_SIZE)) if size is None else size
        self._kept: OrderedDict[int, _Kept] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def take(
        self, instance_id: int, lock_version: int, definition_id: int, state_seq: int
    ) -> tuple[BpmnWorkflow, Baseline] | None:
        """Hand over the kept workflow of exactly this row and its baseline, removing it; None when there is none."""
        with self._lock:
            kept = self._kept.pop(instance_id, None)
            if (
                kept is not None
                and kept.lock_version == lock_version
                and kept.definition_id == definition_id
                and kept.state_seq == state_seq
            ):
                self.hits += 1
                return kept.workflow, kept.baseline
            self.misses += 1
            return None

    def keep(
        self,
        instance_id: int,
        lock_version: int,
        definition_id: int,
        state_seq: int,
        workflow: BpmnWorkflow,
        baseline: Baseline,
        changed_since: float | None = None,
    ) -> None:
        """Remember a workflow as saved by a committed transaction (the oldest case leaves when full).

        ``changed_since`` (a ``time.time()``) limits the data check to the tasks that changed
        state since then: the others hold data that was restored, or checked when last kept.
        """
        if self.size <= 0 or not keepable(workflow, changed_since):
            self.forget(instance_id)
            return
        with self._lock:
            self._kept.pop(instance_id, None)
            self._kept[instance_id] = _Kept(lock_version, definition_id, state_seq, workflow, baseline)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def forget(self, instance_id: int) -> None:
        """Drop what is kept for a case."""
        with self._lock:
            self._kept.pop(instance_id, None)

    def clear(self) -> None:
        """Drop everything (after a restore, say)."""
        with self._lock:
            self._kept.clear()


def round_trips(workflow: BpmnWorkflow, changed_since: float | None = None) -> bool:
    """Tell whether restoring the saved state would give back exactly the data this workflow holds.

    JSON turns a tuple into a list and an integer key into text, and a restore unshares a list
    two variables held together; a workflow holding any of these is not kept, so a command
    never sees data that a restore would have given it differently.
    """
    return all(_exact(data) for data in _all_data(workflow, changed_since))


def keepable(workflow: BpmnWorkflow, changed_since: float | None = None) -> bool:
    """Tell whether the workflow may be kept, unsharing what its data holds twice first if need be."""
    if round_trips(workflow, changed_since):
        return True
    unshare(workflow, changed_since)
    return round_trips(workflow, changed_since)


def unshare(workflow: BpmnWorkflow, changed_since: float | None = None) -> None:
    """Give every list or dict that one data mapping holds twice a copy of its own, as a restore would.

    A script's ``archive = product`` makes two variables hold one dict: restored, they hold two
    equal ones. Copying the second holding does to the kept workflow what the restore would do,
    so the workflow can still be kept. A tuple or an integer key is left as it is (not kept).
    """
    for data in _all_data(workflow, changed_since):
        if type(data) is not dict:
            continue
        seen: set[int] = set()
        stack: list[Any] = [data]
        while stack:
            container = stack.pop()
            for key, item in list(container.items() if type(container) is dict else enumerate(container)):
                if type(item) is not list and type(item) is not dict:
                    continue
                if id(item) in seen:
                    item = container[key] = copy.deepcopy(item)
                seen.add(id(item))
                stack.append(item)


def _all_data(workflow: BpmnWorkflow, changed_since: float | None = None) -> Iterator[Mapping[str, Any]]:
    since = float("-inf") if changed_since is None else changed_since
    yield workflow.data
    for task in workflow.tasks.values():
        if task.last_state_change >= since:
            yield task.data
    for sub in workflow.subprocesses.values():
        yield sub.data
        for task in sub.tasks.values():
            if task.last_state_change >= since:
                yield task.data


def _exact(data: Mapping[str, Any]) -> bool:
    seen: set[int] = set()
    stack: list[Any] = list(data.values())
    while stack:
        item = stack.pop()
        if isinstance(item, _EXACT_SCALARS):
            continue
        if type(item) is list:
            pass
        elif type(item) is dict:
            if not all(type(key) is str for key in item):
                return False
        else:
            return False
        if id(item) in seen:
            return False
        seen.add(id(item))
        stack.extend(item.values() if type(item) is dict else item)
    return True
