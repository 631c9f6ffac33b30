"""What a task page shows of a case: facts, decisions and tables, declared per process.

A fact names a case-data path (``ledger.document_number`` reads a key of a look-up's result) and
either the form whose field gives its label and option labels, or its own labels. The engine
keeps the top-level keys of these paths on the case row (``EngineConfig.fact_keys``), so a task
page shows them without reading the case's workflow state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Labels of values a fact may take when no form lists them: raw value → (Chinese, English).
ValueLabels = Mapping[str, tuple[str, str]]


@dataclass(frozen=True)
class Fact:
    """One line of the facts panel."""

    path: str
    #: The form whose field with the path's last key gives the label and the option labels.
    form: str | None = None
    zh: str = ""
    en: str = ""
    values: ValueLabels = field(default_factory=dict)
    #: Shown only when another path holds this value (``("accepted", "no")``).
    when: tuple[str, Any] | None = None

    @property
    def key(self) -> str:
        """The top-level case-data key the fact reads."""
        return self.path.split(".", 1)[0]


@dataclass(frozen=True)
class Decision:
    """A business rule task whose result and chosen rule the page explains."""

    element: str
    zh: str
    en: str
    #: The case-data path holding the decision's result.
    output: str
    values: ValueLabels = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """A list of records in the case data, one row each (look-up results)."""

    path: str
    zh: str
    en: str
    columns: tuple[Fact, ...]


@dataclass(frozen=True)
class ProcessFacts:
    """Everything a process's task pages show about its case."""

    facts: tuple[Fact, ...] = ()
    decisions: tuple[Decision, ...] = ()
    tables: tuple[Table, ...] = ()
    #: What the previous attempt ended with, shown on the task that repeats it (a rework).
    rework: tuple[Fact, ...] = ()
    #: Extra case-data keys the page needs (e.g. for computed tables), kept with the facts.
    keys: tuple[str, ...] = ()
    #: The limits the process computes ahead (``arrival_due``), shown on the SLA clock before
    #: the step they time has begun.
    limits: tuple[Fact, ...] = ()

    def all_keys(self) -> set[str]:
        """The top-level case-data keys the page reads."""
        found = {f.key for f in (*self.facts, *self.rework, *self.limits)}
        found |= {f.when[0].split(".", 1)[0] for f in (*self.facts, *self.rework) if f.when}
        found |= {d.output.split(".", 1)[0] for d in self.decisions}
        found |= {t.path.split(".", 1)[0] for t in self.tables}
        return found | set(self.keys)


def read_path(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of the case data (None when any step is missing)."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
