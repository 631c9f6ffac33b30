"""The engine facade: every runtime command as one database transaction.

A command locks the instance row, loads its workflow, applies the change, runs the engine
steps, saves the new state with an optimistic version check, refreshes the projections,
appends the audit events and commits — or, when it is refused, leaves everything as it
was. A failure inside the engine *after* the user's input was accepted does not roll the
input back: the instance is saved in the ``error`` state naming the element and message,
and ``retry`` runs it again once the cause is fixed.

The facade holds what commands share (sessions, the parsed-definition cache, the sandboxed
script engine) and hands each verb to the module of its family: ``versions``, ``instances``,
``tasks``, ``messages``, ``timers``; ``unit_of_work`` and ``steps`` are the kernel they share.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from engine.accounts.users import Actor
from engine.calendar.company import CompanyCalendar
from engine.definitions.deploy import DefinitionCache, DeployReport
from engine.definitions.forms import FormDefinition
from engine.operations.command_log import observed
from engine.runtime import (
    case_notes,
    instances,
    messages,
    migration,
    steps,
    submissions,
    tasks,
    timers,
    unit_of_work,
    versions,
)
from engine.runtime.config import EngineConfig
from engine.runtime.decisions import note_decisions
from engine.runtime.instances import StartedInstance
from engine.runtime.statuses import ACTIVE, SCHEDULED, TERMINAL
from engine.runtime.steps import run_until_input_needed
from engine.runtime.unit_of_work import CommandState
from engine.runtime.workflow_cache import WorkflowCache
from engine.sandbox import SandboxedScriptEngine
from engine.sandbox.case_limits import bound_collections
from engine.script_helpers import make_helpers
from engine.store.models import ProcessDefinition, ProcessInstance
from engine.store.projection import TaskRules, parse_moment

__all__ = [
    "ACTIVE",
    "SCHEDULED",
    "TERMINAL",
    "CommandState",
    "Engine",
    "EngineConfig",
    "StartedInstance",
    "run_until_input_needed",
]


class Engine:
    """Commands over definitions and instances, each in its own unit of work."""

    def __init__(self, db: SqlEngine, config: EngineConfig) -> None:
        self.db = db
        self.config = config
        self.sessions: sessionmaker[Session] = sessionmaker(bind=db, expire_on_commit=False)
        self.writer: sessionmaker[Session] = sessionmaker(
            bind=db.execution_options(afterflow_writer=True), expire_on_commit=False
        )
        self.helpers = make_helpers(config.calendar)
        self.script_engine = SandboxedScriptEngine(
            helpers=self.helpers,
            time_limit=config.script_time_limit,
            services=config.services,
            limits=config.limits,
        )
        self.limits = self.script_engine.limits
        # The specs' preparation depends on the limits only: engines with equal limits share them.
        self.definitions = DefinitionCache(
            self.sessions, prepare=self._prepare_specs, prepared_for=self.limits
        )
        self.task_rules = TaskRules(
            evaluate=self.script_engine.evaluate,
            to_datetime=lambda value: parse_moment(value, config.calendar.timezone),
            list_fields=config.list_fields,
            fact_keys=tuple(config.fact_keys),
        )
        self.wakeup = threading.Event()
        #: Workflows saved by this process's last commands, reused while their row has not moved.
        self.workflows = WorkflowCache()
        self.message_start_cache: dict[int, frozenset[str]] = {}

    def _prepare_specs(self, specs: Any) -> None:
        """Bound a loaded version's collections and make its decisions note the rules they chose."""
        bound_collections(specs, self.limits)
        note_decisions(specs)

    # --- definitions ----------------------------------------------------------------------

    @observed("deploy")
    def deploy(
        self,
        files: Mapping[str, str],
        deployed_by: str | None = None,
        change_summary: str | None = None,
        dry_run: bool = False,
    ) -> DeployReport:
        """Validate files and deploy each changed process as a new version (all or nothing)."""
        return versions.deploy(self, files, deployed_by, change_summary, dry_run)

    def refresh_calendar(self, session: Session, revision: int | None = None) -> None:
        """Reload the company calendar if another process changed it (one small query otherwise).

        ``revision`` is the calendar's revision when the command read it with its own first row.
        """
        if isinstance(self.config.calendar, CompanyCalendar):
            self.config.calendar.refresh(session, revision)

    def evaluate_timer_expression(self, expression: str) -> Any:
        """Evaluate a timer expression of a diagram in the sandbox, with no case data."""
        return self.script_engine.environment.evaluate(expression, {})

    def latest_definition(self, session: Session, process_key: str) -> ProcessDefinition:
        """Return the newest deployed version of a process."""
        return versions.latest_definition(session, process_key)

    def latest_definitions(self, session: Session) -> list[ProcessDefinition]:
        """Return the newest version of every deployed process."""
        return versions.latest_definitions(session)

    def startable_definitions(self, actor: Actor) -> list[ProcessDefinition]:
        """Return the newest version of every process the actor may start by hand."""
        return versions.startable_definitions(self, actor)

    def has_plain_start(self, definition: ProcessDefinition) -> bool:
        """Tell whether a person can start this version (a start event with no trigger)."""
        return versions.has_plain_start(self, definition)

    def has_timer_start(self, definition: ProcessDefinition) -> bool:
        """Tell whether the version is scheduled (its start event is a timer)."""
        return versions.has_timer_start(self, definition)

    def message_starts(self, definition: ProcessDefinition) -> frozenset[str]:
        """Return the message names that start a case of this version."""
        return versions.message_starts(self, definition)

    def form_of(self, definition: ProcessDefinition, form_key: str) -> FormDefinition:
        """Return a parsed form of a deployed version."""
        return versions.form_of(self, definition, form_key)

    # --- cases --------------------------------------------------------------------------------

    @observed("start")
    def start(
        self,
        process_key: str,
        data: Mapping[str, Any],
        actor: Actor,
        parent_instance_id: int | None = None,
    ) -> StartedInstance:
        """Start a case of the newest version with the start form's data.

        Data the start form refuses raises ``FormInvalid`` whose messages are codes the
        caller words in its user's language.
        """
        return instances.start(self, process_key, data, actor, parent_instance_id)

    @observed("start")
    def start_by_message(
        self,
        process_key: str,
        message: str,
        data: Mapping[str, Any],
        actor: Actor,
        alongside: Callable[[Session, ProcessInstance], None] | None = None,
    ) -> StartedInstance:
        """Start a case at the start event that catches ``message``, with data the caller checked.

        ``alongside`` adds the caller's rows about the new case in the same transaction.
        """
        return instances.start_by_message(self, process_key, message, data, actor, alongside)

    @observed("suspend")
    def suspend(self, instance_id: int, actor: Actor, reason: str) -> None:
        """Stop a case from moving on until it is resumed."""
        instances.suspend(self, instance_id, actor, reason)

    @observed("resume")
    def resume(self, instance_id: int, actor: Actor, reason: str) -> None:
        """Let a suspended case move on again."""
        instances.resume(self, instance_id, actor, reason)

    @observed("terminate")
    def terminate(self, instance_id: int, actor: Actor, reason: str) -> None:
        """End a case for good; its open tasks are cancelled."""
        instances.terminate(self, instance_id, actor, reason)

    @observed("retry")
    def retry(self, instance_id: int, actor: Actor, reason: str = "") -> None:
        """Run an instance in error again from the failed element."""
        instances.retry(self, instance_id, actor, reason)

    @observed("send_message")
    def send_message(
        self, instance_id: int, name: str, payload: Mapping[str, Any] | None, actor: Actor
    ) -> None:
        """Deliver a message to an instance waiting for it."""
        messages.send_message(self, instance_id, name, payload, actor)

    @observed("fire_timers")
    def fire_due_timers(self, instance_id: int, actor: Actor | None = None) -> int:
        """Fire the instance's timers whose time has come; return how many fired."""
        return timers.fire_due_timers(self, instance_id, actor)

    def migrate(self, instance_id: int, to_version: int, actor: Actor, reason: str) -> int:
        """Move a running case to another version of its process (all or nothing); return the old version."""
        return migration.migrate_instance(self, instance_id, to_version, actor, reason)

    # --- tasks --------------------------------------------------------------------------------

    @observed("claim")
    def claim(self, task_id: str, actor: Actor) -> None:
        """Take an offered task so that only the actor works on it."""
        tasks.claim(self, task_id, actor)

    @observed("unclaim")
    def unclaim(self, task_id: str, actor: Actor) -> None:
        """Give a claimed task back to everyone holding its role."""
        tasks.unclaim(self, task_id, actor)

    @observed("assign")
    def assign(self, task_id: str, assignee: str, actor: Actor) -> None:
        """Assign a task to a named user holding its role (supervisors)."""
        tasks.assign(self, task_id, assignee, actor)

    @observed("save_draft")
    def save_draft(self, task_id: str, data: Mapping[str, Any], actor: Actor) -> None:
        """Keep unfinished form input on the task without completing it."""
        tasks.save_draft(self, task_id, data, actor)

    @observed("complete")
    def complete(
        self, task_id: str, data: Mapping[str, Any], actor: Actor, password: str | None = None
    ) -> None:
        """Complete a task with form data validated against its form, then run the engine on."""
        tasks.complete(self, task_id, data, actor, password)

    def note_reassignment(self, task_id: str, reason: str, actor: Actor) -> None:
        """Record in the case's audit log why a manager reassigned a task."""
        case_notes.record_reassignment_reason(self, task_id, reason, actor)

    def case_numbers(
        self, process_key: str, among: Sequence[Any] | None = None, limit: int = 200
    ) -> list[str]:
        """Business numbers of a process's cases: those of ``among`` that exist, else the latest ``limit``."""
        return submissions.case_numbers(self, process_key, among, limit)

    def role_users(self, role: str) -> list[str]:
        """Return the names of active users holding a role."""
        return submissions.role_users(self, role)

    # --- the unit of work, for commands of other modules (version migration) ---------------------

    def instance_command(self, instance_id: int, actor: Actor) -> AbstractContextManager[CommandState]:
        """Lock, load and (on leaving the block) save one case: the unit of work of every command."""
        return unit_of_work.instance_command(self, instance_id, actor)

    def run_engine_steps(self, ctx: CommandState) -> None:
        """Run the case until it needs people or waits; a failure puts it in error."""
        steps.run_engine_steps(self, ctx)
