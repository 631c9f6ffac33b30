"""Names of processes, steps, form fields and options in the user's language, from the deployed versions.

Deployed versions never change, so their labels are read once and kept until another version
is deployed (the newest definition id changes). Lists then name a case's urgency as its
process's forms do ("紧急" / "Emergency", not the stored code "emergency"), and the managers'
figures name a department or a rating criterion as the forms that collect them do.
"""

from __future__ import annotations

import json
import threading
import weakref
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from engine.definitions import names
from engine.definitions.forms import FormField, FormProblem, parse_form
from engine.runtime import Engine
from engine.store import queries
from processes.terms import CompanyWords, company_words
from processes.wiring import LIST_FIELDS


@dataclass
class Labels:
    """The labels of every deployed process (the newest version's wording wins)."""

    version: int = -1
    process_names: dict[str, str] = field(default_factory=dict)
    step_names: dict[tuple[str, str], str] = field(default_factory=dict)
    #: The same in English, where the diagrams carry it (``name_en``, engine/definitions/names.py)
    process_names_en: dict[str, str] = field(default_factory=dict)
    step_names_en: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (process key, name as stored on a task or a case's current step) -> English name
    step_names_en_by_name: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (process key, stored value) -> (Chinese, English)
    urgencies: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    #: (process key, element id) -> the languages its computed title is given in (``title_<lang>``)
    titled_steps: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    #: (process key, element id) -> the role of each human task
    task_roles: dict[tuple[str, str], str | None] = field(default_factory=dict)
    #: form field key -> the field as the newest deployed form defines it (label, options)
    form_fields: dict[str, FormField] = field(default_factory=dict)
    #: (process key, form field key) -> the field as that process's forms define it: the same
    #: key means different things in different processes (a recall's "approved", a return's "reason")
    process_fields: dict[tuple[str, str], FormField] = field(default_factory=dict)
    #: The company's words (药品 for a pharmaceutical company, 产品 for others: processes/terms.py)
    words: CompanyWords = field(default_factory=CompanyWords)

    def steps_for(self, roles: frozenset[str] | None) -> list[tuple[str, str]]:
        """Return the (process key, element id) of the human tasks of these roles (all when None)."""
        return sorted(
            step
            for step, role in self.task_roles.items()
            if roles is None or (role is not None and role in roles)
        )

    def process(self, key: str, lang: str = "zh") -> str:
        """Return the name of a process in ``lang`` (its key when unknown)."""
        if lang == "en" and key in self.process_names_en:
            return self.process_names_en[key]
        return self.process_names.get(key, key)

    def step(self, process_key: str, spec_id: str, lang: str = "zh") -> str:
        """Return the name of a step of a process in ``lang`` (its element id when unknown)."""
        if lang == "en" and (process_key, spec_id) in self.step_names_en:
            return self.words.say(self.step_names_en[(process_key, spec_id)])
        return self.words.say(self.step_names.get((process_key, spec_id), spec_id))

    def step_named(self, process_key: str, name: str, lang: str) -> str:
        """Return a step stored by its name (a case's current step) in ``lang``; the name when unknown."""
        if lang != "en":
            return name
        return self.step_names_en_by_name.get((process_key, name), name)

    def steps_named(self, process_key: str, names: str | None, lang: str) -> str:
        """Return a case's current steps (names joined by ", ") in ``lang``."""
        if not names or lang != "en":
            return names or ""
        return ", ".join(self.step_named(process_key, name, lang) for name in names.split(", "))

    def form_field(self, key: str, process_key: str | None = None) -> FormField | None:
        """The field a key names: in this process's forms first, else in any deployed form."""
        found = self.process_fields.get((process_key, key)) if process_key else None
        return found or self.form_fields.get(key)

    def field_label(self, key: str, lang: str, process_key: str | None = None) -> str:
        """Return a form field's label in ``lang`` (its key when no deployed form has it)."""
        form_field = self.form_field(key, process_key)
        return self.words.say(form_field.label(lang)) if form_field else key

    def option(self, field_key: str, value: str, lang: str) -> str:
        """Return how the forms name a stored option value in ``lang`` (the value when unknown)."""
        form_field = self.form_fields.get(field_key)
        for option, label_zh, label_en in form_field.options if form_field else ():
            if option == value:
                return self.words.say(label_en if lang == "en" else label_zh)
        return value

    def urgency(self, process_key: str, value: str | None, lang: str) -> str:
        """Return an urgency as the process's forms name it in ``lang`` ("" for none)."""
        if not value:
            return ""
        labels = self.urgencies.get((process_key, value))
        if labels is None:
            return value
        return labels[1] if lang == "en" else labels[0]


_lock = threading.Lock()
#: Per engine, held only as long as the engine lives (another engine made later at the same
#: address reads its own database's labels).
_cache: weakref.WeakKeyDictionary[Engine, Labels] = weakref.WeakKeyDictionary()


def labels(engine: Engine, session: Session, known_version: int | None = None) -> Labels:
    """Return the labels of the deployed processes, reading them again only after a deployment.

    ``known_version`` is the newest definition id when the caller read it already.
    """
    version = queries.definitions_version(session) if known_version is None else known_version
    cached = _cache.get(engine)
    if cached is not None and cached.version == version:
        return cached
    fresh = _read_labels(session, version)
    with _lock:
        _cache[engine] = fresh
    return fresh


def _read_labels(session: Session, version: int) -> Labels:
    result = Labels(version=version, words=company_words(session))
    for definition in queries.definition_labels(session):  # oldest first: newer wording overwrites
        key = definition.process_key
        result.process_names[key] = definition.name
        english = names.process_translation(definition.meta, "en")
        if english:
            result.process_names_en[key] = english
        for spec_id, name in definition.meta.get("elements", {}).items():
            result.step_names[(key, spec_id)] = name
            english = names.translation(definition.meta, spec_id, "en")
            if english:
                result.step_names_en[(key, spec_id)] = english
                result.step_names_en_by_name[(key, name)] = english
        lanes = definition.meta.get("lanes", {})
        for task_spec, info in definition.meta.get("tasks", {}).items():
            if info.get("name"):
                result.step_names[(key, task_spec)] = info["name"]
            result.task_roles[(key, task_spec)] = info.get("role") or lanes.get(task_spec)
            if info.get("titles"):
                result.titled_steps[(key, task_spec)] = frozenset(info["titles"])
        for form_key, raw in definition.meta.get("forms", {}).items():
            try:
                form = parse_form(form_key, json.dumps(raw, ensure_ascii=False))
            except FormProblem:  # deployed forms were checked; a stale one only loses its labels
                continue
            for form_field in form.data_fields:
                result.form_fields[form_field.key] = form_field
                result.process_fields[(key, form_field.key)] = form_field
                if form_field.key in LIST_FIELDS["priority"]:
                    for value, label_zh, label_en in form_field.options:
                        result.urgencies[(key, value)] = (label_zh, label_en)
    return result
