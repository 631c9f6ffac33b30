"""Which rule of a decision table chose a business rule task's result, kept for the people who act on it.

SpiffWorkflow merges a decision's outputs into the case data and forgets which rows matched.
Staff deciding on the result need the reason (the rule's description), so every decision table of
a loaded version notes its matched rules in the command in progress; the unit of work keeps them
with the case's facts.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from engine.runtime.context import current_or_none

#: At most this many matched rules are kept per decision (a COLLECT table may match many).
MAX_RULES = 10


class _NotingDecisionTable(DMNEngine):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """A decision table that tells the command in progress which rules matched."""

    def decide(self, task: Any) -> list[Any]:
        rules: list[Any] = super().decide(task)
        command = current_or_none()
        if command is not None:
            element = task.task_spec.bpmn_id or task.task_spec.name
            command.decisions[element] = {
                "table": getattr(self.decision_table, "id", None),
                "rules": [
                    {"id": rule.id, "row": rule.row_number, "description": (rule.description or "").strip()}
                    for rule in rules[:MAX_RULES]
                ],
            }
        return rules


def note_decisions(specs: Any) -> None:
    """Make every decision table of ``specs`` note the rules it matched (once per loaded version)."""
    for spec in [specs.spec, *specs.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            table = getattr(task_spec, "dmnEngine", None)
            if table is not None and not isinstance(table, _NotingDecisionTable):
                task_spec.dmnEngine = _NotingDecisionTable(table.decision_table)
