"""One process per start message: a message that starts cases must name exactly one process.

A message thrown by a case starts a case of every process whose start event catches it, so two
processes catching the same name would both start (a copied diagram keeps its template's message
starts). Like Camunda, a deploy refuses a process whose message start another process already has.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.definitions.results import Problem
from engine.store.models import ProcessDefinition
from engine.store.serialization import ProcessSpecs, specs_from_json
from engine.user_messages import Message

#: How many stored specs' start messages this process keeps (the oldest read goes first).
KEPT_SPECS = 512
_stored_names: dict[bytes, frozenset[str]] = {}
_lock = threading.Lock()


def start_messages(specs: ProcessSpecs) -> dict[str, str]:
    """The message names that start a case of this process, each with its start event's id."""
    return {
        spec.event_definition.name: spec.bpmn_id or spec.name
        for spec in specs.spec.task_specs.values()
        if isinstance(spec, StartEvent) and isinstance(spec.event_definition, MessageEventDefinition)
    }


def message_start_clashes(session: Session, deploying: Mapping[str, Mapping[str, str]]) -> list[Problem]:
    """A problem for each start message of the processes ``deploying`` that another process would also start on.

    ``deploying`` holds the start messages (name: start event id) of each process deployed.
    The process that already starts on a message keeps it; the newcomer is refused.
    """
    before: dict[str, set[str]] = {}
    for key, spec_json in _latest_specs(session):
        for name in _stored_start_messages(spec_json):
            before.setdefault(name, set()).add(key)
    after = {name: {key for key in keys if key not in deploying} for name, keys in before.items()}
    for key, names in deploying.items():
        for name in names:
            after.setdefault(name, set()).add(key)
    problems: list[Problem] = []
    for key, names in deploying.items():
        for name, element in names.items():
            others = sorted(after[name] - {key})
            if others and key not in before.get(name, set()):
                code = Message("modeler.setting.message_starts_another", {"name": name, "process": others[0]})
                problems.append(Problem(element, str(code), f"{key}.bpmn", code=code))
    return problems


def _stored_start_messages(spec_json: str) -> frozenset[str]:
    """The start message names of a stored spec, read once per spec this process has seen."""
    digest = hashlib.sha256(spec_json.encode()).digest()
    names = _stored_names.get(digest)
    if names is None:
        names = frozenset(start_messages(specs_from_json(spec_json)))
        with _lock:
            _stored_names[digest] = names
            while len(_stored_names) > KEPT_SPECS:
                del _stored_names[next(iter(_stored_names))]
    return names


def _latest_specs(session: Session) -> list[tuple[str, str]]:
    """(process key, spec JSON) of the newest version of every process."""
    newest = (
        select(ProcessDefinition.process_key, func.max(ProcessDefinition.version).label("version"))
        .group_by(ProcessDefinition.process_key)
        .subquery()
    )
    found = session.execute(
        select(ProcessDefinition.process_key, ProcessDefinition.spec_json).join(
            newest,
            (ProcessDefinition.process_key == newest.c.process_key)
            & (ProcessDefinition.version == newest.c.version),
        )
    ).all()
    return [(key, spec) for key, spec in found]
