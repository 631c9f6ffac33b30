"""A workflow cache that, each time a command keeps its workflow, checks what the database now holds.

After every committed command the stored state — the case's snapshot with the changes saved
since applied, read afresh in a session of its own — must be, key for key, the document a
whole save of the live workflow writes; and the workflow restored from it must write that
document again. Tests install it in place of an engine's cache (``checking``) and then drive cases
as usual; any difference fails the command that made it.
"""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.runtime import Engine
from engine.runtime.workflow_cache import Baseline, WorkflowCache
from engine.store.models import ProcessInstance
from engine.store.serialization import state_from_json, state_to_json
from engine.store.state_store import state_text


class StateCheckingCache(WorkflowCache):
    """A real cache whose ``keep`` first compares the stored state with the live workflow's."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine.workflows.size)
        self.engine = engine
        self.checked = 0
        self.changes_seen = 0
        self.snapshots_seen = 0

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
        self.check(instance_id, workflow)
        super().keep(instance_id, lock_version, definition_id, state_seq, workflow, baseline, changed_since)

    def check(self, instance_id: int, workflow: BpmnWorkflow) -> None:
        whole = state_to_json(workflow)
        with self.engine.sessions() as session:
            row = session.get(ProcessInstance, instance_id)
            assert row is not None
            stored = state_text(session, row)
            specs = self.engine.definitions.specs(row.definition)
            if row.state_changes:
                self.changes_seen += 1
            else:
                self.snapshots_seen += 1
        # The same document (a restore may list subprocesses in another order than the live workflow).
        assert json.loads(stored) == json.loads(whole), _first_difference(stored, whole)
        again = state_to_json(state_from_json(stored, specs))
        assert json.loads(again) == json.loads(whole), _first_difference(again, whole)
        self.checked += 1


def checking(engine: Engine) -> StateCheckingCache:
    """Put a checking cache in the engine (in place of its own) and hand it over."""
    cache = StateCheckingCache(engine)
    engine.workflows = cache
    return cache


def _first_difference(stored: str, whole: str) -> Any:
    at = next(
        (i for i, (a, b) in enumerate(zip(stored, whole, strict=False)) if a != b),
        min(len(stored), len(whole)),
    )
    return {
        "at": at,
        "stored": stored[max(0, at - 200) : at + 200],
        "whole": whole[max(0, at - 200) : at + 200],
    }
