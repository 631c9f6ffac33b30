"""The engine facade: every runtime command as one database transaction.

A command locks the instance row, loads its workflow, applies the change, runs the engine
steps, saves the new state with an optimistic version check, refreshes the projections,
appends the audit events and commits — or, when it is refused, leaves everything as it
was. A failure inside the engine *after* the user's input was accepted does not roll the
input back: the instance is saved in the ``error`` state naming the element and message,
and ``retry`` runs it again once the cause is fixed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine import clock
from engine.business_numbers import next_business_number
from engine.calendar import WorkingCalendar
from engine.calendar.company import CompanyCalendar
from engine.calendar.due_basis import noting_due_times
from engine.context import CommandContext, running
from engine.definitions import RoleResolver
from engine.deployment import DefinitionCache, DeployReport, deploy_files
from engine.errors import (
    ConcurrentModification,
    EngineError,
    InstanceNotActive,
    NotFound,
    PermissionDenied,
    TaskAlreadyCompleted,
    TaskNotAvailable,
)
from engine.forms import FormDefinition, parse_form, validate_submission
from engine.models import Event, Job, ProcessDefinition, ProcessInstance, Task, User, UserRole
from engine.operations.command_log import note_case, note_case_error, observed
from engine.projection import ProjectionError, TaskRules, find_task, parse_moment, sync_instance
from engine.sandbox import SandboxedScriptEngine, SandboxLimits
from engine.sandbox.case_limits import bound_collections
from engine.sandbox.limits import command_budget
from engine.sandbox.storable import first_unstorable
from engine.script_helpers import make_helpers
from engine.serialization import state_from_json, state_to_json
from engine.users import Actor

log = logging.getLogger(__name__)

ACTIVE = "running"
SCHEDULED = "scheduled"
MAX_LINK_DEPTH = 5
TERMINAL = frozenset({"completed", "terminated"})


@dataclass
class EngineConfig:
    """What the engine needs from the product around it."""

    resolve_role: RoleResolver
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    services: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    script_time_limit: float | None = None
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    assigner_roles: frozenset[str] = frozenset({"service_supervisor", "admin"})
    manager_roles: frozenset[str] = frozenset({"general_manager", "service_supervisor", "admin"})


@dataclass(frozen=True)
class StartedInstance:
    """What ``start`` hands back."""

    id: int
    business_number: str
    status: str


class CommandState:
    """The state a command works on inside its transaction."""

    def __init__(
        self,
        session: Session,
        instance: ProcessInstance,
        workflow: BpmnWorkflow,
        meta: dict[str, Any],
        actor: Actor,
    ) -> None:
        self.session = session
        self.instance = instance
        self.workflow = workflow
        self.meta = meta
        self.actor = actor
        self.new_timers = 0
        self.thrown: list[tuple[str, dict[str, Any]]] = []
        self.depth = 0

    def record(
        self,
        action: str,
        task_id: str | None = None,
        element_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Append an audit event (in the command's transaction, in the order things happened)."""
        self.session.add(
            Event(
                instance_id=self.instance.id,
                task_id=task_id,
                element_id=element_id,
                actor=self.actor.username,
                action=action,
                at=clock.now(),
                data=data,
            )
        )


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
        self.definitions = DefinitionCache(prepare=lambda specs: bound_collections(specs, self.limits))
        self._rules = TaskRules(
            evaluate=self.script_engine.evaluate,
            to_datetime=lambda value: parse_moment(value, config.calendar.timezone),
        )
        self.wakeup = threading.Event()
        self._message_starts: dict[int, frozenset[str]] = {}

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
        with self.writer.begin() as session, noting_due_times():
            self.refresh_calendar(session)
            report = deploy_files(
                session,
                files,
                self.config.resolve_role,
                self._evaluate_timer_expression,
                deployed_by,
                change_summary,
                dry_run,
                self.limits,
            )
            if dry_run:
                session.rollback()
                return report
            for key, _version in report.deployed:
                self._schedule(session, self.latest_definition(session, key), replace=True)
        self.wakeup.set()
        return report

    def has_timer_start(self, definition: ProcessDefinition) -> bool:
        """Tell whether the version is scheduled (its start event is a timer)."""
        spec = self.definitions.specs(definition).spec
        return any(
            isinstance(ts, StartEvent) and isinstance(ts.event_definition, TimerEventDefinition)
            for ts in spec.task_specs.values()
        )

    def _schedule(self, session: Session, definition: ProcessDefinition, replace: bool) -> None:
        """Keep one case of a scheduled process waiting on its start timer, on the newest version."""
        if replace:  # cases still waiting to start belong to the old version: withdraw them
            for waiting in session.scalars(
                select(ProcessInstance).where(
                    ProcessInstance.process_key == definition.process_key, ProcessInstance.status == SCHEDULED
                )
            ):
                waiting.status, waiting.ended_at = "terminated", clock.now()
                for job in session.scalars(
                    select(Job).where(Job.instance_id == waiting.id, Job.done_at.is_(None))
                ):
                    job.done_at = clock.now()
                session.add(
                    Event(
                        instance_id=waiting.id,
                        actor="system",
                        action="instance_terminated",
                        at=clock.now(),
                        data={"reason": f"replaced by version {definition.version}"},
                    )
                )
        if not self.has_timer_start(definition):
            return
        ctx = self._start_in(session, definition, {}, Actor.system(), None)
        ctx.instance.status = SCHEDULED
        ctx.record("instance_scheduled")

    def _evaluate_timer_expression(self, expression: str) -> Any:
        return self.script_engine.environment.evaluate(expression, {})

    def latest_definition(self, session: Session, process_key: str) -> ProcessDefinition:
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

    def startable_definitions(self, actor: Actor) -> list[ProcessDefinition]:
        """Return the newest version of every process the actor may start by hand."""
        with self.sessions() as session:
            return [
                d
                for d in self.latest_definitions(session)
                if self._may_start(d, actor) and self.has_plain_start(d)
            ]

    def has_plain_start(self, definition: ProcessDefinition) -> bool:
        """Tell whether a person can start this version (a start event with no trigger)."""
        spec = self.definitions.specs(definition).spec
        return any(
            isinstance(ts, StartEvent) and isinstance(ts.event_definition, NoneEventDefinition)
            for ts in spec.task_specs.values()
        )

    @staticmethod
    def _may_start(definition: ProcessDefinition, actor: Actor) -> bool:
        roles = set(definition.meta["process"].get("start_roles") or [])
        return not roles or bool(roles & actor.roles) or "admin" in actor.roles

    # --- start ----------------------------------------------------------------------------

    @observed("start")
    def start(
        self,
        process_key: str,
        data: Mapping[str, Any],
        actor: Actor,
        lang: str = "zh",
        parent_instance_id: int | None = None,
    ) -> StartedInstance:
        """Start a case of the newest version with the start form's data."""
        with self.writer.begin() as session, noting_due_times():
            self.refresh_calendar(session)
            definition = self.latest_definition(session, process_key)
            if not self._may_start(definition, actor):
                raise PermissionDenied(f"your roles may not start '{definition.name}'")
            start_form = definition.meta["process"].get("start_form")
            clean = self._validate_form(definition, start_form, data, lang) if start_form else dict(data)
            with command_budget(self.limits):
                ctx = self._start_in(session, definition, clean, actor, parent_instance_id)
        self._after_commit(ctx)
        return StartedInstance(ctx.instance.id, ctx.instance.business_number, ctx.instance.status)

    def _start_in(
        self,
        session: Session,
        definition: ProcessDefinition,
        data: dict[str, Any],
        actor: Actor,
        parent_instance_id: int | None,
        message: str | None = None,
    ) -> CommandState:
        """Create, run and save a new instance inside the caller's transaction."""
        specs = self.definitions.specs(definition)
        workflow = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=self.script_engine)
        now = clock.now()
        prefix = definition.meta["process"]["prefix"]
        number = next_business_number(session, prefix, now, self.config.calendar.timezone)
        instance = ProcessInstance(
            business_number=number,
            definition_id=definition.id,
            process_key=definition.process_key,
            status=ACTIVE,
            state="",
            lock_version=1,
            started_by=actor.username,
            started_at=now,
            updated_at=now,
            parent_instance_id=parent_instance_id,
        )
        instance.definition = definition
        session.add(instance)
        note_case(number)
        session.flush()
        data = {**data, "business_number": number}
        ctx = CommandState(session, instance, workflow, definition.meta, actor)
        ctx.record(
            "instance_started",
            data={
                "version": definition.version,
                "data": _jsonable(data),
                "parent": parent_instance_id,
                "message": message,
            },
        )
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        if message is not None:
            # Only the start event that catches the message may start this case: open the
            # start events, withdraw the plain ones, then hand the message over.
            _open_start_events(workflow)
            self._deliver(ctx, message, data)
        else:
            self.run_engine_steps(ctx)
        self._save(ctx)
        return ctx

    # --- task commands ----------------------------------------------------------------------

    @observed("claim")
    def claim(self, task_id: str, actor: Actor) -> None:
        """Take an offered task so that only the actor works on it."""
        with self._task_command(task_id, actor) as (ctx, row):
            self._require_role(row, actor)
            if row.assignee and row.assignee != actor.username:
                raise TaskNotAvailable(
                    f"the task is already claimed by {row.assignee}", assignee=row.assignee
                )
            row.assignee, row.claimed_at = actor.username, clock.now()
            ctx.record("task_claimed", row.id, row.spec_id)

    @observed("unclaim")
    def unclaim(self, task_id: str, actor: Actor) -> None:
        """Give a claimed task back to everyone holding its role."""
        with self._task_command(task_id, actor) as (ctx, row):
            if row.assignee != actor.username and not (self.config.assigner_roles & actor.roles):
                raise PermissionDenied("only the person holding the task or a supervisor can give it back")
            previous, row.assignee, row.claimed_at = row.assignee, None, None
            ctx.record("task_unclaimed", row.id, row.spec_id, {"previous": previous})

    @observed("assign")
    def assign(self, task_id: str, assignee: str, actor: Actor) -> None:
        """Assign a task to a named user holding its role (supervisors)."""
        with self._task_command(task_id, actor) as (ctx, row):
            if not (self.config.assigner_roles & actor.roles):
                raise PermissionDenied("only a supervisor can assign tasks to others")
            user = ctx.session.scalar(select(User).where(User.username == assignee, User.active.is_(True)))
            if user is None:
                raise NotFound(f"no active user named '{assignee}'")
            if row.role and row.role not in user.role_keys:
                raise EngineError(f"{assignee} does not hold the role '{row.role}' this task needs")
            previous, row.assignee, row.claimed_at = row.assignee, assignee, clock.now()
            ctx.record("task_assigned", row.id, row.spec_id, {"assignee": assignee, "previous": previous})

    @observed("save_draft")
    def save_draft(self, task_id: str, data: Mapping[str, Any], actor: Actor) -> None:
        """Keep unfinished form input on the task without completing it."""
        with self.writer.begin() as session:
            row = self._locked_task(session, task_id)
            self._check_open(row)
            self._require_can_work(row, actor)
            row.draft = _jsonable(dict(data))

    @observed("complete")
    def complete(self, task_id: str, data: Mapping[str, Any], actor: Actor, lang: str = "zh") -> None:
        """Complete a task with form data validated against its form, then run the engine on."""
        with self._task_command(task_id, actor) as (ctx, row):
            self._require_can_work(row, actor)
            clean = (
                self._validate_form(ctx.instance.definition, row.form_key, data, lang)
                if row.form_key
                else dict(data)
            )
            spiff_task = find_task(ctx.workflow, row.id)
            if spiff_task is None or not spiff_task.has_state(TaskState.READY):
                raise TaskNotAvailable("the task is no longer waiting for input")
            now = clock.now()
            row.state, row.completed_at, row.completed_by, row.draft = "completed", now, actor.username, None
            if row.assignee is None:
                row.assignee = actor.username
            ctx.record("task_completed", row.id, row.spec_id, {"data": _jsonable(clean)})
            spiff_task.task_spec.add_data_from_form(spiff_task, clean) if hasattr(
                spiff_task.task_spec, "add_data_from_form"
            ) else spiff_task.set_data(**clean)
            try:
                spiff_task.run()
            except SpiffWorkflowException as error:
                self._mark_error(ctx, error)
                return
            self.run_engine_steps(ctx)

    # --- instance commands --------------------------------------------------------------------

    @observed("send_message")
    def send_message(
        self, instance_id: int, name: str, payload: Mapping[str, Any] | None, actor: Actor
    ) -> None:
        """Deliver a message to an instance waiting for it."""
        with self.instance_command(instance_id, actor) as ctx:
            self._require_active(ctx.instance)
            if self._waiting_message(ctx.workflow, name) is None:
                raise TaskNotAvailable(f"the case is not waiting for the message '{name}'")
            ctx.record("message_received", data={"name": name, "payload": _jsonable(dict(payload or {}))})
            self._deliver(ctx, name, dict(payload or {}))

    @staticmethod
    def _waiting_message(workflow: BpmnWorkflow, name: str) -> MessageEventDefinition | None:
        for task in workflow.get_tasks(state=TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, MessageEventDefinition) and definition.name == name:
                return definition
        return None

    def _deliver(self, ctx: CommandState, name: str, payload: dict[str, Any]) -> None:
        definition = self._waiting_message(ctx.workflow, name)
        if definition is None:
            self._mark_error(ctx, EngineError(f"the case is not waiting for the message '{name}'"))
            return
        # Catching compares definition classes, so throw the waiting event's own kind.
        try:
            ctx.workflow.send_event(BpmnEvent(definition, payload))
        except SpiffWorkflowException as error:
            self._mark_error(ctx, error)
            return
        self.run_engine_steps(ctx)

    @observed("fire_timers")
    def fire_due_timers(self, instance_id: int, actor: Actor | None = None) -> int:
        """Fire the instance's timers whose time has come; return how many fired."""
        actor = actor or Actor.system()
        with self.instance_command(instance_id, actor) as ctx:
            if ctx.instance.status not in (ACTIVE, SCHEDULED):
                return 0
            # SpiffWorkflow fires a timer once its time is strictly past; the projection
            # closes the job and records the firing.
            due = (
                ctx.session.scalar(
                    select(func.count(Job.id)).where(
                        Job.instance_id == instance_id, Job.done_at.is_(None), Job.due_at < clock.now()
                    )
                )
                or 0
            )
            if due and ctx.instance.status == SCHEDULED:
                # The start timer fired: this case runs now, and the next one is scheduled.
                ctx.instance.status = ACTIVE
                self.run_engine_steps(ctx)
                latest = self.latest_definition(ctx.session, ctx.instance.process_key)
                self._schedule(ctx.session, latest, replace=False)
            elif due:
                self.run_engine_steps(ctx)
            return due

    @observed("suspend")
    def suspend(self, instance_id: int, actor: Actor, reason: str) -> None:
        """Stop a case from moving on until it is resumed."""
        self._set_status(
            instance_id, actor, reason, "suspended", from_states={ACTIVE}, action="instance_suspended"
        )

    @observed("resume")
    def resume(self, instance_id: int, actor: Actor, reason: str) -> None:
        """Let a suspended case move on again."""
        self._set_status(
            instance_id, actor, reason, ACTIVE, from_states={"suspended"}, action="instance_resumed"
        )

    @observed("terminate")
    def terminate(self, instance_id: int, actor: Actor, reason: str) -> None:
        """End a case for good; its open tasks are cancelled."""
        self._set_status(
            instance_id,
            actor,
            reason,
            "terminated",
            from_states={ACTIVE, "suspended", "error"},
            action="instance_terminated",
        )

    @observed("retry")
    def retry(self, instance_id: int, actor: Actor, reason: str = "") -> None:
        """Run an instance in error again from the failed element."""
        with self.instance_command(instance_id, actor) as ctx:
            self._require_manager(actor)
            if ctx.instance.status != "error":
                raise InstanceNotActive("only a case in error can be retried")
            failed = list(ctx.workflow.get_tasks(state=TaskState.ERROR))
            ctx.record(
                "instance_retried",
                element_id=ctx.instance.error_element,
                data={"reason": reason, "error": ctx.instance.error_message},
            )
            ctx.instance.status, ctx.instance.error_element, ctx.instance.error_message = ACTIVE, None, None
            try:
                for task in failed:
                    task._set_state(TaskState.READY)
                    if task.task_spec.manual:
                        task.run()
            except SpiffWorkflowException as error:
                self._mark_error(ctx, error)
                return
            self.run_engine_steps(ctx)

    def _set_status(
        self, instance_id: int, actor: Actor, reason: str, status: str, from_states: set[str], action: str
    ) -> None:
        if not reason.strip():
            raise EngineError("a reason is required")
        with self.instance_command(instance_id, actor) as ctx:
            self._require_manager(actor)
            if ctx.instance.status not in from_states:
                raise InstanceNotActive(f"the case is {ctx.instance.status}")
            ctx.instance.status = status
            if status == "terminated":
                ctx.workflow.cancel()
                ctx.instance.ended_at = clock.now()
            ctx.record(action, data={"reason": reason})

    # --- the unit of work ---------------------------------------------------------------------

    @contextmanager
    def instance_command(self, instance_id: int, actor: Actor) -> Iterator[CommandState]:
        """Lock, load and (on leaving the block) save one case: the unit of work of every command."""
        with self.writer.begin() as session, noting_due_times():
            self.refresh_calendar(session)
            instance = self._lock_instance(session, instance_id)
            note_case(instance.business_number)
            definition = instance.definition
            specs = self.definitions.specs(definition)
            workflow = state_from_json(instance.state, specs)
            workflow.script_engine = self.script_engine
            ctx = CommandState(session, instance, workflow, definition.meta, actor)
            with command_budget(self.limits):
                yield ctx
                self._save(ctx)
        self._after_commit(ctx)

    def refresh_calendar(self, session: Session) -> None:
        """Reload the company calendar if another process changed it (one small query otherwise)."""
        if isinstance(self.config.calendar, CompanyCalendar):
            self.config.calendar.refresh(session)

    def _after_commit(self, ctx: CommandState) -> None:
        if ctx.new_timers:
            self.wakeup.set()  # an embedded runner may be sleeping past the new timer's time

    @contextmanager
    def _task_command(self, task_id: str, actor: Actor) -> Iterator[tuple[CommandState, Task]]:
        with self.sessions() as probe:
            instance_id = probe.scalar(select(Task.instance_id).where(Task.id == task_id))
        if instance_id is None:
            raise NotFound("no such task")
        with self.instance_command(instance_id, actor) as ctx:
            row = self._locked_task(ctx.session, task_id)
            self._check_open(row)
            self._require_active(ctx.instance)
            yield ctx, row

    def _lock_instance(self, session: Session, instance_id: int) -> ProcessInstance:
        instance = session.scalar(
            select(ProcessInstance)
            .where(ProcessInstance.id == instance_id)
            .with_for_update(of=ProcessInstance)
            .execution_options(populate_existing=True)
        )
        if instance is None:
            raise NotFound("no such case")
        return instance

    @staticmethod
    def _locked_task(session: Session, task_id: str) -> Task:
        row = session.scalar(select(Task).where(Task.id == task_id).execution_options(populate_existing=True))
        if row is None:
            raise NotFound("no such task")
        return row

    @staticmethod
    def _check_open(row: Task) -> None:
        if row.state == "completed":
            when = row.completed_at.isoformat(timespec="minutes") if row.completed_at else ""
            raise TaskAlreadyCompleted(
                f"this task was already completed by {row.completed_by} at {when}",
                completed_by=row.completed_by,
                completed_at=row.completed_at,
            )
        if row.state != "open":
            raise TaskNotAvailable("this task was cancelled and needs no more work")

    @staticmethod
    def _require_active(instance: ProcessInstance) -> None:
        if instance.status != ACTIVE:
            raise InstanceNotActive(
                f"the case is {instance.status}; nothing can be done on it now", status=instance.status
            )

    @staticmethod
    def _require_role(row: Task, actor: Actor) -> None:
        if row.role and row.role not in actor.roles:
            raise PermissionDenied(f"this task is for the role '{row.role}'")

    def _require_can_work(self, row: Task, actor: Actor) -> None:
        self._require_role(row, actor)
        if row.assignee and row.assignee != actor.username:
            raise TaskNotAvailable(f"the task is assigned to {row.assignee}", assignee=row.assignee)

    def _require_manager(self, actor: Actor) -> None:
        if not (self.config.manager_roles & actor.roles) and actor.username != "system":
            raise PermissionDenied("only a manager can do this")

    def form_of(self, definition: ProcessDefinition, form_key: str) -> FormDefinition:
        """Return a parsed form of a deployed version."""
        raw = definition.meta.get("forms", {}).get(form_key)
        if raw is None:
            raise EngineError(f"the form '{form_key}' is missing from this process version")
        return self.definitions.form(definition.id, form_key, raw, parse_form)

    def _validate_form(
        self, definition: ProcessDefinition, form_key: str, data: Mapping[str, Any], lang: str
    ) -> dict[str, Any]:
        form = self.form_of(definition, form_key)
        # A field whose options are "the users holding role R" accepts exactly those users.
        dynamic: dict[str, list[str]] = {
            f.key: self.role_users(f.options_from_role) for f in form.fields if f.options_from_role
        }
        # A field whose options are "the cases of process P" accepts a business number of one.
        for f in form.fields:
            if f.options_from_process:
                wanted = data.get(f.key)
                dynamic[f.key] = self.case_numbers(f.options_from_process, [wanted] if wanted else [])
        return validate_submission(form, data, lang, dynamic_options=dynamic)

    def run_engine_steps(self, ctx: CommandState) -> None:
        """Run the case until it needs people or waits; a failure puts it in error."""
        command = CommandContext(
            ctx.session,
            ctx.instance.id,
            ctx.instance.business_number,
            ctx.actor.username,
            self.config.calendar.timezone,
        )
        try:
            with running(command):
                run_until_input_needed(ctx.workflow)
            ctx.thrown.extend(
                (event.event_definition.name, dict(event.payload or {}))
                for event in ctx.workflow.get_events()
                if isinstance(event.event_definition, MessageEventDefinition)
            )
        except SpiffWorkflowException as error:
            self._mark_error(ctx, error)
        except Exception as error:  # any library failure must become a visible error state
            log.exception("engine step failed in %s", ctx.instance.business_number)
            self._mark_error(ctx, error)

    def _mark_error(self, ctx: CommandState, error: Exception, element: str | None = None) -> None:
        task: SpiffTask | None = getattr(error, "task", None)
        element = (
            element
            or getattr(error, "element_id", None)
            or ((task.task_spec.bpmn_id or task.task_spec.name) if task is not None else None)
        )
        message = _error_text(error)
        ctx.instance.status, ctx.instance.error_element, ctx.instance.error_message = (
            "error",
            element,
            message,
        )
        ctx.record("instance_error", element_id=element, data={"message": message})
        note_case_error()

    def _save(self, ctx: CommandState) -> None:
        instance, workflow = ctx.instance, ctx.workflow
        new_timers = 0
        try:
            new_timers = sync_instance(
                ctx.session, instance, workflow, ctx.meta, self._rules, ctx.actor.username
            )
        except ProjectionError as error:
            self._mark_error(ctx, error)
        if instance.status == ACTIVE and workflow.is_completed():
            instance.status, instance.ended_at = "completed", clock.now()
            ctx.record("instance_completed")
        instance.state = self._storable_state(ctx)
        instance.updated_at = clock.now()
        try:
            ctx.session.flush()  # the mapper's version column makes this UPDATE ... AND lock_version = :seen
        except StaleDataError:
            raise ConcurrentModification("the case was changed by someone else; reload and try again")
        ctx.new_timers = new_timers
        self._start_linked_cases(ctx)

    def _storable_state(self, ctx: CommandState) -> str:
        """Serialize the workflow; a value case data cannot keep puts the case in error, naming it.

        The value is left out of the saved state (it could not be saved at all otherwise), so
        the case, its start and the error are recorded instead of the command failing.
        """
        try:
            return state_to_json(ctx.workflow)
        except (TypeError, ValueError, OverflowError, RecursionError):
            pass
        dropped: list[str] = []
        for data in [ctx.workflow.data, *(task.data for task in ctx.workflow.get_tasks())]:
            while (found := first_unstorable(data, self.limits.max_items)) is not None:
                name, reason = found
                del data[name]
                if name not in dropped:
                    dropped.append(name)
                    self._mark_error(
                        ctx,
                        EngineError(
                            f"the variable '{name}' cannot be kept in case data ({reason}); it was left out"
                        ),
                        element=_last_run_element(ctx.workflow),
                    )
        return state_to_json(ctx.workflow)

    def _start_linked_cases(self, ctx: CommandState) -> None:
        """Start the cases that messages thrown by this case are addressed to (same transaction)."""
        thrown, ctx.thrown = ctx.thrown, []
        for name, payload in thrown:
            targets = [d for d in self.latest_definitions(ctx.session) if name in self.message_starts(d)]
            if not targets:
                ctx.record("message_unrouted", data={"name": name})
                continue
            if ctx.depth >= MAX_LINK_DEPTH:
                raise EngineError(f"cases started each other more than {MAX_LINK_DEPTH} levels deep")
            for target in targets:
                child = self._start_in(ctx.session, target, payload, ctx.actor, ctx.instance.id, message=name)
                child.depth = ctx.depth + 1
                ctx.new_timers += child.new_timers
                ctx.session.add(
                    Event(
                        instance_id=ctx.instance.id,
                        actor=ctx.actor.username,
                        action="linked_case_started",
                        at=clock.now(),
                        data={
                            "business_number": child.instance.business_number,
                            "process": target.process_key,
                            "message": name,
                        },
                    )
                )

    def message_starts(self, definition: ProcessDefinition) -> frozenset[str]:
        """Return the message names that start a case of this version."""
        names = self._message_starts.get(definition.id)
        if names is None:
            spec = self.definitions.specs(definition).spec
            names = frozenset(
                ts.event_definition.name
                for ts in spec.task_specs.values()
                if isinstance(ts, StartEvent) and isinstance(ts.event_definition, MessageEventDefinition)
            )
            self._message_starts[definition.id] = names
        return names

    def latest_definitions(self, session: Session) -> list[ProcessDefinition]:
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

    # --- queries used by runners and views ------------------------------------------------------

    def case_numbers(
        self, process_key: str, among: Sequence[Any] | None = None, limit: int = 200
    ) -> list[str]:
        """Business numbers of a process's cases: those of ``among`` that exist, else the latest ``limit``."""
        query = select(ProcessInstance.business_number).where(
            ProcessInstance.process_key == process_key, ProcessInstance.business_number.is_not(None)
        )
        if among is not None:
            wanted = [str(number) for number in among if isinstance(number, str)]
            if not wanted:
                return []
            query = query.where(ProcessInstance.business_number.in_(wanted))
        else:
            query = query.order_by(ProcessInstance.id.desc()).limit(limit)
        with self.sessions() as session:
            return [number for number in session.scalars(query) if number]

    def role_users(self, role: str) -> list[str]:
        """Return the names of active users holding a role."""
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(User.username)
                    .join(UserRole)
                    .where(UserRole.role == role, User.active.is_(True))
                    .order_by(User.username)
                )
            )


def _last_run_element(workflow: BpmnWorkflow) -> str | None:
    """The element that ran last (the likeliest to have left a value behind)."""
    done = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id]
    if not done:
        return None
    last = max(done, key=lambda t: t.last_state_change)
    return str(last.task_spec.bpmn_id)


def _open_start_events(workflow: BpmnWorkflow) -> None:
    """Run the workflow up to its start events and cancel those that need no trigger."""
    for _ in range(10):
        ready = [
            t for t in workflow.get_tasks(state=TaskState.READY) if not isinstance(t.task_spec, StartEvent)
        ]
        if not ready:
            break
        for task in ready:
            task.run()
    for task in workflow.get_tasks(state=TaskState.READY):
        if isinstance(task.task_spec, StartEvent) and isinstance(
            task.task_spec.event_definition, NoneEventDefinition
        ):
            task.cancel()


def run_until_input_needed(workflow: BpmnWorkflow, max_rounds: int = 1000) -> None:
    """Run engine steps until only human tasks and waiting events are left.

    ``do_engine_steps`` refreshes timers only at its end, so a timer that fired there leaves
    a READY event behind: run again until nothing automatic is ready.
    """
    for _ in range(max_rounds):
        workflow.do_engine_steps()
        if not any(not task.task_spec.manual for task in workflow.get_tasks(state=TaskState.READY)):
            return
    raise EngineError(f"the case did not come to rest after {max_rounds} rounds of engine steps")


def _error_text(error: BaseException) -> str:
    parts = [str(getattr(error, "message", None) or error).strip() or type(error).__name__]
    parts.extend(str(note) for note in getattr(error, "notes", []) or [])
    parts.extend(str(note) for note in getattr(error, "__notes__", []) or [])
    return "; ".join(dict.fromkeys(p for p in parts if p))[:2000]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
