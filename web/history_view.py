"""A case's audit trail as people read it: who did what when, with the data they entered.

The data of a completed task (and of the start form) is shown field by field with the form's
labels and option names in the user's language, so "solved_by_phone: no" reads
"电话指导已解决：否". The case data managers see is named the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from engine.definitions.forms import FormDefinition, FormField
from engine.definitions.forms.model import SIGNATURE_TYPE
from engine.definitions.names import translation
from engine.runtime import Engine
from engine.store.models import Event, ProcessDefinition
from engine.store.queries import CaseTask
from web.catalogue import Labels
from web.event_labels import event_label
from web.i18n import format_when
from web.names_view import person, say


@dataclass(frozen=True)
class Entry:
    """One line of the history."""

    at: datetime
    actor: str
    actor_name: str
    action: str
    label: str
    step: str
    note: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)


def history_entries(
    engine: Engine,
    definition: ProcessDefinition,
    events: Iterable[Event],
    tasks: Iterable[CaseTask],
    names: Mapping[str, str],
    lang: str,
) -> list[Entry]:
    """Turn audit events into history lines with readable details."""
    tasks = list(tasks)
    forms_of_tasks = {task.id: task.form_key for task in tasks}
    # A task's own title names whom it concerns (「通知 华山医院」), its element only the step.
    titles = {task.id: task.name for task in tasks}
    events = list(events)
    # ... and in the reader's language when the diagram computes it there too (``title_en``).
    translated: dict[str, str] = {}
    for event in events:
        computed = (event.data or {}).get("titles") if event.action == "task_created" else None
        if event.task_id and isinstance(computed, dict) and computed.get(lang):
            translated[event.task_id] = str(computed[lang])
    meta = engine.definitions.meta(definition)
    elements: dict[str, str] = meta.get("elements", {})
    start_form = meta.get("process", {}).get("start_form")
    entries: list[Entry] = []
    for event in events:
        data = event.data or {}
        details: list[tuple[str, str]] = []
        note = ""
        if event.action == "task_completed" and event.task_id:
            details = readable_data(
                engine, definition, forms_of_tasks.get(event.task_id), data.get("data"), lang, names
            )
        elif event.action == "instance_started":
            details = readable_data(engine, definition, start_form, data.get("data"), lang, names)
        elif event.action == "task_assigned":
            assignee = str(data.get("assignee") or "")
            note = _("to %(user)s", user=_person(assignee, names))
        elif event.action == "task_unclaimed" and data.get("previous"):
            note = _("from %(user)s", user=_person(str(data["previous"]), names))
        elif event.action == "attachment_added":
            note = str(data.get("filename") or "")
        elif event.action in ("instance_suspended", "instance_resumed", "instance_terminated"):
            note = str(data.get("reason") or "")
        elif event.action == "signed":
            note = signature_note(data)
        elif event.action == "signature_refused":
            note = _("the customer refused to sign: %(reason)s", reason=str(data.get("reason") or ""))
        actor = event.actor or ""
        entries.append(
            Entry(
                at=event.at,
                actor=actor,
                actor_name=names.get(actor, actor),
                action=event.action,
                label=event_label(event.action),
                step=say(
                    translated.get(event.task_id or "")
                    or (translation(meta, event.element_id, lang) if event.element_id else None)
                    or titles.get(event.task_id or "")
                    or (elements.get(event.element_id, event.element_id) if event.element_id else "")
                ),
                note=note,
                details=details,
            )
        )
    return entries


def signature_note(data: Mapping[str, Any]) -> str:
    """What a signature event says: its meaning (an approval) or the customer's name, and its hash."""
    signer = str(data.get("signer") or "")
    digest = str(data.get("sha256") or "")[:12]
    if data.get("meaning"):
        return _(
            "%(meaning)s, signed by %(signer)s (SHA-256 %(hash)s)",
            meaning=data["meaning"],
            signer=signer,
            hash=digest,
        )
    return _("customer signature of %(signer)s (SHA-256 %(hash)s)", signer=signer, hash=digest)


def people_in(events: Iterable[Event]) -> set[str]:
    """The user names a history mentions: who acted, and to and from whom tasks were handed."""
    people = {event.actor or "" for event in events}
    people |= {str((event.data or {}).get(k) or "") for event in events for k in ("assignee", "previous")}
    for event in events:  # people chosen in forms (a technician picked at dispatch): short text values
        entered = (event.data or {}).get("data")
        if isinstance(entered, dict):
            people |= {v for v in entered.values() if isinstance(v, str) and 0 < len(v) <= 64}
    return people


def readable_data(
    engine: Engine,
    definition: ProcessDefinition,
    form_key: str | None,
    data: Any,
    lang: str,
    names: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """Return (label, value) pairs of submitted form data, in the form's order, empty values left out."""
    if not isinstance(data, dict) or not data:
        return []
    form: FormDefinition | None = None
    if form_key:
        try:
            form = engine.form_of(definition, form_key)
        except Exception:  # a form missing from an old version: show the raw keys instead
            form = None
    pairs: list[tuple[str, str]] = []
    if form is not None:
        for form_field in form.data_fields:
            if form_field.key in data:
                value = _readable_value(form_field, data[form_field.key], lang, names)
                if value:
                    pairs.append((say(form_field.label(lang)), value))
        return pairs
    for key, value in data.items():
        if value not in (None, "", [], {}):
            pairs.append((key, _plain(value)))
    return pairs


def _readable_value(
    form_field: FormField, value: Any, lang: str, names: Mapping[str, str] | None = None
) -> str:
    if value is None or value == "" or value == []:
        return ""
    if form_field.type == SIGNATURE_TYPE and isinstance(value, dict):
        if value.get("refused"):
            return _("refused to sign: %(reason)s", reason=str(value.get("reason") or ""))
        return _("signed by %(signer)s", signer=str(value.get("signer") or ""))
    if form_field.type == "checkbox" or isinstance(value, bool):
        return _("yes") if value in (True, "true", "on", "1") else _("no")
    if form_field.options_from_role and isinstance(value, str):  # a person: by name
        return names.get(value, value) if names is not None else person(value)
    names = {v: say(label_en if lang == "en" else label_zh) for v, label_zh, label_en in form_field.options}
    if isinstance(value, list | tuple):
        return ("、" if lang == "zh" else ", ").join(names.get(str(v), str(v)) for v in value)
    if names:
        return names.get(str(value), str(value))
    if form_field.type == "datetime" and form_field.subtype == "datetime" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        # An aware moment is shown in the reader's timezone; a local one as it was entered.
        return format_when(moment) if moment.tzinfo else moment.strftime("%Y-%m-%d %H:%M")
    return _plain(value)


def readable_case_data(
    labels: Labels, data: Mapping[str, Any], lang: str, process_key: str | None = None
) -> list[tuple[str, str, str]]:
    """Return (label, value, key) of a case's data, each variable shown as the deployed form of its
    process that collects it shows it; variables no form collects (set by scripts and decisions)
    keep their names."""
    rows = []
    for key, value in data.items():
        form_field = labels.form_field(key, process_key)
        if form_field is not None:
            shown = _readable_value(form_field, value, lang)
        elif isinstance(value, bool):
            shown = _("yes") if value else _("no")
        elif isinstance(value, dict):
            shown = json.dumps(value, ensure_ascii=False)
        else:
            shown = _plain(value) if value not in (None, "") else ""
        rows.append((labels.field_label(key, lang, process_key), shown or "—", key))
    return sorted(rows, key=lambda row: (row[0] == row[2], row[2]))


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _person(username: str, names: Mapping[str, str]) -> str:
    name = names.get(username)
    return f"{name} ({username})" if name and name != username else username
