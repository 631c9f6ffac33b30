"""The deployed versions as commands see them: deploy, find the newest, and what their start events need."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.accounts.users import Actor
from engine.calendar.due_basis import noting_due_times
from engine.definitions.deploy import DeployReport, deploy_files
from engine.definitions.forms import FormDefinition, parse_form
from engine.errors import EngineError, NotFound
from engine.runtime import timers
from engine.store.models import ProcessDefinition

if TYPE_CHECKING:
    from engine.runtime.engine import Engine


def deploy(
    engine: Engine,
    files: Mapping[str, str],
    deployed_by: str | None,
    change_summary: str | None,
    dry_run: bool,
) -> DeployReport:
    """Validate files and deploy each changed process as a new version (all or nothing)."""
    with engine.writer.begin() as session, noting_due_times():
        engine.refresh_calendar(session)
        report = deploy_files(
            session,
            files,
            engine.config.resolve_role,
            engine.evaluate_timer_expression,
            deployed_by,
            change_summary,
            dry_run,
            engine.limits,
            engine.script_engine.services,
        )
        if dry_run:
            session.rollback()
            return report
        for key, _version in report.deployed:
            definition = latest_definition(session, key)
            timers.schedule(engine, session, definition, replace=True, timer_start=key in report.timer_starts)
    engine.wakeup.set()
    return report


def latest_definition(session: Session, process_key: str) -> ProcessDefinition:
    """Return the newest deployed version of a process."""
    definition = session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.process_key == process_key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )
    if definition is None:
        raise NotFound(f"no process '{process_key}' is deployed")
    return definition


def latest_definitions(session: Session) -> list[ProcessDefinition]:
    """Return the newest version of every deployed process."""
    newest = (
        select(ProcessDefinition.process_key, func.max(ProcessDefinition.version).label("v"))
        .group_by(ProcessDefinition.process_key)
        .subquery()
    )
    return list(
        session.scalars(
            select(ProcessDefinition)
            .join(
                newest,
                (ProcessDefinition.process_key == newest.c.process_key)
                & (ProcessDefinition.version == newest.c.v),
            )
            .order_by(ProcessDefinition.process_key)
        )
    )


def startable_definitions(engine: Engine, actor: Actor) -> list[ProcessDefinition]:
    """Return the newest version of every process the actor may start by hand."""
    with engine.sessions() as session:
        return [
            d
            for d in latest_definitions(session)
            if may_start(engine, d, actor) and has_plain_start(engine, d)
        ]


def may_start(engine: Engine, definition: ProcessDefinition, actor: Actor) -> bool:
    """Tell whether the actor's roles may start a case of this version."""
    roles = set(engine.definitions.meta(definition)["process"].get("start_roles") or [])
    return not roles or bool(roles & actor.roles) or bool(engine.config.superuser_roles & actor.roles)


def has_plain_start(engine: Engine, definition: ProcessDefinition) -> bool:
    """Tell whether a person can start this version (a start event with no trigger)."""
    spec = engine.definitions.specs(definition).spec
    return any(
        isinstance(ts, StartEvent) and isinstance(ts.event_definition, NoneEventDefinition)
        for ts in spec.task_specs.values()
    )


def has_timer_start(engine: Engine, definition: ProcessDefinition) -> bool:
    """Tell whether the version is scheduled (its start event is a timer)."""
    spec = engine.definitions.specs(definition).spec
    return any(
        isinstance(ts, StartEvent) and isinstance(ts.event_definition, TimerEventDefinition)
        for ts in spec.task_specs.values()
    )


def message_starts(engine: Engine, definition: ProcessDefinition) -> frozenset[str]:
    """Return the message names that start a case of this version (cached per version)."""
    names = engine.message_start_cache.get(definition.id)
    if names is None:
        spec = engine.definitions.specs(definition).spec
        names = frozenset(
            ts.event_definition.name
            for ts in spec.task_specs.values()
            if isinstance(ts, StartEvent) and isinstance(ts.event_definition, MessageEventDefinition)
        )
        engine.message_start_cache[definition.id] = names
    return names


def form_of(engine: Engine, definition: ProcessDefinition, form_key: str) -> FormDefinition:
    """Return a parsed form of a deployed version."""
    form = engine.definitions.form(definition, form_key, parse_form)
    if form is None:
        raise EngineError(f"the form '{form_key}' is missing from this process version")
    return form
