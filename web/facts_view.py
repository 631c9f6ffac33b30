"""The facts panel of a task page: the case's facts, the engine's decisions and why, the SLA clock.

What to show comes from the domain (``processes/facts``); the values come from the case's facts
(``ProcessInstance.facts``), the events and timers the page reads anyway. Nothing here reads the
database: the panel costs the page no statement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from engine.definitions.forms import FormField
from engine.definitions.names import translation
from engine.errors import EngineError
from engine.runtime import Engine
from engine.store.models import Event, ProcessDefinition
from engine.store.queries import CaseTask
from processes.facts.catalogue import PROCESS_FACTS
from processes.facts.model import Fact, ValueLabels, read_path
from processes.facts.recall import RecallCustomer, StepDone, recall_customers, recovered_total
from web.i18n import current_lang, format_when
from web.names_view import say


@dataclass(frozen=True)
class Line:
    """One labelled value."""

    label: str
    value: str
    key: str = ""


@dataclass(frozen=True)
class DecisionLine:
    """A decision's result and the rule that chose it."""

    label: str
    value: str
    rule: str
    element: str


@dataclass(frozen=True)
class TableView:
    """A list of records: a title, column headers and the rows' cells."""

    title: str
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Limit:
    """One running limit of the case: what it is, when it is due, how much is left."""

    label: str
    due_at: datetime
    left: str
    overdue: bool
    running: bool = False


@dataclass
class FactsPanel:
    """Everything the panel shows."""

    facts: list[Line] = field(default_factory=list)
    decisions: list[DecisionLine] = field(default_factory=list)
    rework: list[Line] = field(default_factory=list)
    tables: list[TableView] = field(default_factory=list)
    recall: list[RecallCustomer] = field(default_factory=list)
    recall_recovered: int = 0
    limits: list[Limit] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.facts or self.decisions or self.rework or self.tables or self.recall or self.limits)


def _form_field(
    engine: Engine, definition: ProcessDefinition, form: str | None, key: str
) -> FormField | None:
    if not form:
        return None
    try:
        return engine.form_of(definition, form).get_field(key)
    except EngineError:
        return None


def _show(value: Any, lang: str, values: ValueLabels, form_field: FormField | None) -> str:
    """A value as people read it: option labels, yes/no, lists joined; raw keys never shown."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return "、".join(_show(item, lang, values, form_field) for item in value)
    text = str(value)
    if text in values:
        zh, en = values[text]
        return say(en if lang == "en" else zh)
    if form_field is not None:
        for option, zh, en in form_field.options:
            if option == text:
                return say(en if lang == "en" else zh)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dict):
        return "—"
    return text


def _line(
    engine: Engine,
    definition: ProcessDefinition,
    fact: Fact,
    data: Mapping[str, Any],
    lang: str,
    names: Mapping[str, str],
) -> Line:
    last_key = fact.path.rsplit(".", 1)[-1]
    form_field = _form_field(engine, definition, fact.form, last_key)
    value = read_path(data, fact.path)
    if form_field is not None and form_field.options_from_role and isinstance(value, str):
        value = names.get(value) or value  # a person picked from a role: by name (张工), not user name
    if fact.zh:
        label = say(fact.en if lang == "en" and fact.en else fact.zh)
    elif form_field is not None:
        label = say(form_field.label(lang))
    else:
        label = last_key
    return Line(label, _show(value, lang, fact.values, form_field), fact.path)


def _applies(fact: Fact, data: Mapping[str, Any]) -> bool:
    if fact.when is None:
        return True
    path, expected = fact.when
    return read_path(data, path) == expected


def facts_panel(
    engine: Engine,
    definition: ProcessDefinition,
    facts: Mapping[str, Any],
    tasks: Sequence[CaseTask],
    events: Sequence[Event],
    timers: Sequence[tuple[str, datetime]],
    lang: str,
    now: datetime,
    names: Mapping[str, str] | None = None,
) -> FactsPanel:
    """Build the panel of a task page from what the page has read (``names``: people by user name)."""
    names = names or {}
    panel = FactsPanel()
    declared = PROCESS_FACTS.get(definition.process_key)
    data: Mapping[str, Any] = facts.get("data") or {}
    chosen: Mapping[str, Any] = facts.get("decisions") or {}
    if declared is not None:
        for fact in declared.facts:
            if _applies(fact, data) and read_path(data, fact.path) not in (None, ""):
                panel.facts.append(_line(engine, definition, fact, data, lang, names))
        for fact in declared.rework:
            if _applies(fact, data) and read_path(data, fact.path) not in (None, ""):
                panel.rework.append(_line(engine, definition, fact, data, lang, names))
        for decision in declared.decisions:
            made = chosen.get(decision.element)
            result = read_path(data, decision.output)
            if made is None and result is None:
                continue
            rules = [r.get("description") or r.get("id") or "" for r in (made or {}).get("rules", [])]
            panel.decisions.append(
                DecisionLine(
                    decision.en if lang == "en" else decision.zh,
                    _show(result, lang, decision.values, None),
                    "；".join(rule for rule in rules if rule) or "—",
                    decision.element,
                )
            )
        for table in declared.tables:
            records = read_path(data, table.path)
            if not isinstance(records, list) or not records:
                continue
            headers = [column.en if lang == "en" else column.zh for column in table.columns]
            rows = [
                [_show(read_path(r, c.path), lang, c.values, None) for c in table.columns]
                for r in records
                if isinstance(r, Mapping)
            ]
            panel.tables.append(TableView(table.en if lang == "en" else table.zh, headers, rows))
        if "customers" in declared.keys:
            panel.recall = recall_customers(data.get("customers"), _steps(tasks, events))
            panel.recall_recovered = recovered_total(panel.recall)
    ahead = _limits_ahead(declared.limits if declared else (), data, lang)
    panel.limits = _limits(engine, definition, tasks, timers, ahead, now)
    return panel


def _limits_ahead(limits: Sequence[Fact], data: Mapping[str, Any], lang: str) -> list[tuple[str, datetime]]:
    """The limits the case has computed (its ``*_due`` data), as label and moment."""
    found: list[tuple[str, datetime]] = []
    for limit in limits:
        value = read_path(data, limit.path)
        try:
            due = datetime.fromisoformat(str(value)) if value else None
        except ValueError:
            due = None
        if due is not None and due.tzinfo is not None:
            label = limit.en if lang == "en" and limit.en else limit.zh
            found.append((_("Limit: %(name)s", name=label), due))
    return found


def _steps(tasks: Sequence[CaseTask], events: Sequence[Event]) -> list[StepDone]:
    submitted = {
        e.task_id: (e.data or {}).get("data") or {}
        for e in events
        if e.action == "task_completed" and e.task_id
    }
    return [StepDone(t.spec_id, t.name, t.state, submitted.get(t.id, {})) for t in tasks]


def _left(engine: Engine, now: datetime, due: datetime) -> str:
    """Time left (or past) in working hours on the company calendar, and in calendar time."""
    try:
        working = engine.config.calendar.working_hours_between(now, due)
    except (ValueError, TypeError):
        working = 0.0
    hours = (due - now).total_seconds() / 3600
    if hours < 0:
        return _("%(hours).1f hours overdue", hours=-hours)
    return _("%(working).1f working hours left (%(hours).1f hours)", working=working, hours=hours)


def _limits(
    engine: Engine,
    definition: ProcessDefinition,
    tasks: Sequence[CaseTask],
    timers: Sequence[tuple[str, datetime]],
    ahead: Sequence[tuple[str, datetime]],
    now: datetime,
) -> list[Limit]:
    """Every limit of the case: those computed ahead, its timers and its open steps' due times."""
    meta = engine.definitions.meta(definition)
    names: Mapping[str, str] = meta.get("elements", {})
    properties: Mapping[str, Mapping[str, str]] = meta.get("element_properties", {})
    found: list[tuple[str, datetime]] = []
    lang = current_lang()
    for element, due in timers:
        name = say(translation(meta, element, lang) or names.get(element, element))
        is_sla = bool(properties.get(element, {}).get("sla"))
        found.append((_("Limit: %(name)s", name=name) if is_sla else _("Timer: %(name)s", name=name), due))
    for task in tasks:
        if task.state == "open" and task.due_at is not None:
            step = say(translation(meta, task.spec_id, lang) or task.name)
            found.append((_("Step due: %(name)s", name=step), task.due_at))
    timed = {due for _label, due in found}
    found.extend((label, due) for label, due in ahead if due not in timed)  # not yet on a timer
    found.sort(key=lambda item: item[1])
    first_open = next((i for i, (_label, due) in enumerate(found) if due >= now), None)
    return [
        Limit(label, due, _left(engine, now, due), due < now, index == first_open)
        for index, (label, due) in enumerate(found)
    ]


__all__ = ["FactsPanel", "facts_panel", "format_when"]
