"""A trial run of a process's files before they are deployed, on a simulated clock.

The files are validated as a deploy would, and the process's bundle runs in memory: no case,
task, job or event row is written. The run happens inside a database transaction that is
always rolled back, so what service handlers write through the command's session is undone.
A simulated clock (``clock.simulated``) starts at the chosen moment and moves by the time
each step took; timers fire on it, and due times and scripts read it, with the company's
working-time calendar and the same sandbox as real cases.

A trial is a plan (start data, then the answers in order); the same plan always gives the
same run, so a page can keep the plan and ask for the run again after each answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine import clock
from engine.accounts.users import Actor
from engine.calendar.due_basis import noting_due_times
from engine.definitions.forms import FormDefinition, FormField, parse_form
from engine.definitions.results import ProcessBundle
from engine.definitions.validate import validate_files
from engine.errors import DeploymentInvalid, EngineError, FormInvalid
from engine.runtime import submissions
from engine.runtime.context import CommandContext, running
from engine.runtime.decisions import note_decisions
from engine.runtime.messages import waiting_message
from engine.runtime.steps import error_text, run_until_input_needed
from engine.sandbox.case_limits import bound_collections
from engine.sandbox.limits import command_budget
from engine.store.projection import find_task, ready_human_tasks, waiting_timers

if TYPE_CHECKING:
    from engine.runtime.engine import Engine

#: The business number a trial's scripts see.
TRIAL_NUMBER = "TRIAL"
#: How long a step takes on the simulated clock when the plan does not say.
DEFAULT_MINUTES = 30.0
#: A trial answers at most this many steps, and lets at most a year pass per step.
MAX_STEPS = 200
MAX_STEP_MINUTES = 366 * 24 * 60
#: Timers a step may fire (a cycle timer every minute of a year would be far more).
MAX_TIMER_FIRINGS = 1000


@dataclass(frozen=True)
class TrialStep:
    """One answer: the user task it completes (None: time only passes) and how long it took before.

    A step naming a ``message`` delivers that message (with ``data`` as its payload) instead.
    """

    element: str | None
    data: Mapping[str, Any] = field(default_factory=dict)
    minutes: float | None = None
    message: str | None = None


@dataclass(frozen=True)
class TrialPlan:
    """Where a trial starts (moment, start data) and the answers it gives, in order."""

    start_at: datetime
    data: Mapping[str, Any]
    steps: Sequence[TrialStep] = ()
    default_minutes: float = DEFAULT_MINUTES


@dataclass
class TrialEvent:
    """Something that happened in the trial: ``kind`` is started, task_opened, task_completed,
    element, timer_waiting, timer_fired, timer_cancelled, decision, message_thrown, message_received, ended."""

    kind: str
    element: str | None
    at: datetime
    step: int
    due: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class OpenTask:
    """A user task waiting for the trial's next answer."""

    element: str
    name: str
    role: str | None
    form_key: str | None
    due: datetime | None
    fields: list[dict[str, Any]]


@dataclass
class TrialResult:
    """The run of a plan: what happened, where it stands, and why it stopped early if it did."""

    process_key: str
    events: list[TrialEvent] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    open_tasks: list[OpenTask] = field(default_factory=list)
    timers: list[tuple[str, datetime]] = field(default_factory=list)
    finished: bool = False
    clock: datetime | None = None
    steps_done: int = 0
    #: The workflow failed: ``{"element", "message"}``.
    error: dict[str, Any] | None = None
    #: The start form's fields (empty when the process has none), for a page to ask for the sample data.
    start_fields: list[dict[str, Any]] = field(default_factory=list)
    #: A step could not be given: ``{"step", "element", "reason", "errors"}`` (reason: not_open or form).
    refused: dict[str, Any] | None = None


def bundle_of(engine: Engine, files: Mapping[str, str], process_key: str) -> ProcessBundle:
    """Validate ``files`` as a deploy would and return the bundle of ``process_key``."""
    result = validate_files(
        files, engine.config.resolve_role, engine.evaluate_timer_expression, engine.limits
    )
    if not result.ok:
        raise DeploymentInvalid(f"{len(result.problems)} problem(s) in the files", result.problems)
    for bundle in result.bundles:
        if bundle.key == process_key:
            bound_collections(bundle.specs, engine.limits)
            note_decisions(bundle.specs)
            return bundle
    raise EngineError(f"the files hold no executable process '{process_key}'")


def run_trial(engine: Engine, bundle: ProcessBundle, plan: TrialPlan, actor: Actor) -> TrialResult:
    """Run ``plan`` on ``bundle`` in memory on a simulated clock; nothing is kept."""
    if len(plan.steps) > MAX_STEPS:
        raise EngineError(f"a trial answers at most {MAX_STEPS} steps")
    with engine.sessions() as session, noting_due_times(), clock.simulated(plan.start_at) as simulated:
        try:
            engine.refresh_calendar(session)
            with command_budget(engine.limits):
                return _Trial(engine, bundle, session, actor, simulated).run(plan)
        finally:
            session.rollback()


class _Trial:
    """One trial run: the workflow, the simulated clock, and what has been seen of it so far."""

    def __init__(
        self, engine: Engine, bundle: ProcessBundle, session: Session, actor: Actor, sim: clock.SimulatedClock
    ) -> None:
        self.engine, self.bundle, self.meta, self.sim = engine, bundle, bundle.meta, sim
        self.workflow = BpmnWorkflow(
            bundle.specs.spec, bundle.specs.subprocess_specs, script_engine=engine.script_engine
        )
        self.command = CommandContext(
            session, None, TRIAL_NUMBER, actor.username, engine.config.calendar.timezone
        )
        self.result = TrialResult(bundle.key)
        self.step = 0
        self.completed: set[Any] = set()
        self.opened: set[Any] = set()
        self.waiting: dict[Any, tuple[str, datetime]] = {}
        #: The outputs of each decision run since the last look, by business rule task.
        self.outputs: dict[str, Any] = {}

    def run(self, plan: TrialPlan) -> TrialResult:
        start_form = self.meta["process"].get("start_form")
        data = dict(plan.data)
        if start_form:
            self.result.start_fields = [_field_json(f) for f in self.form(start_form).fields if f.key]
        if start_form and not self._checked(start_form, data, None, {}):
            return self._finish()
        self._event("started", None, detail={"data": _jsonable(data)})
        for task in self.workflow.get_tasks(state=TaskState.READY):
            task.data.update({**data, "business_number": TRIAL_NUMBER})
        if not self._run_steps():
            return self._finish()
        for index, step in enumerate(plan.steps, start=1):
            self.step = index
            minutes = plan.default_minutes if step.minutes is None else step.minutes
            if not 0 <= minutes <= MAX_STEP_MINUTES:
                raise EngineError(f"step {index}: a step takes from 0 to {MAX_STEP_MINUTES} minutes")
            if not self._advance(self.sim.at + timedelta(minutes=minutes)):
                break
            if step.message is not None:
                if not self._deliver(step):
                    break
            elif step.element is not None and not self._answer(step):
                break
            self.result.steps_done = index
        return self._finish()

    # --- moving on ------------------------------------------------------------------------------

    def _run_steps(self) -> bool:
        """Run the workflow until it needs people or waits; note what happened. False on a failure."""
        try:
            with running(self.command):
                run_until_input_needed(self.workflow)
        except Exception as error:  # a failure is the trial's finding, shown at its element
            self._observe()
            task: SpiffTask | None = getattr(error, "task", None)
            element = getattr(error, "element_id", None) or (task.task_spec.bpmn_id if task else None)
            self.result.error = {"element": element, "message": error_text(error), "step": self.step}
            return False
        for event in self.workflow.get_events():
            if isinstance(event.event_definition, MessageEventDefinition):
                self._event("message_thrown", None, detail={"name": event.event_definition.name})
        return self._observe()

    def _advance(self, until: datetime) -> bool:
        """Move the clock to ``until``, firing each timer due on the way at its own moment."""
        for _ in range(MAX_TIMER_FIRINGS):
            due = [moment for _task, moment in waiting_timers(self.workflow) if moment <= until]
            if not due:
                break
            # SpiffWorkflow fires a timer once its moment has passed: a microsecond after it.
            self.sim.set(max(min(due) + timedelta(microseconds=1), self.sim.at))
            if not self._run_steps():
                return False
        else:
            raise EngineError(f"more than {MAX_TIMER_FIRINGS} timers fired in one step of the trial")
        self.sim.set(until)
        return self._run_steps()

    def _answer(self, step: TrialStep) -> bool:
        """Complete the open user task ``step.element`` with the step's data, checked by its form."""
        ready = [t for t in ready_human_tasks(self.workflow) if t.task_spec.bpmn_id == step.element]
        if not ready:
            self.result.refused = {"step": self.step, "element": step.element, "reason": "not_open"}
            return False
        task = ready[0]
        form_key = self._task_info(step.element).get("form")
        data = dict(step.data)
        if form_key and not self._checked(form_key, data, step.element, dict(task.data)):
            return False
        clean = data
        self._event("task_completed", step.element, detail={"data": _jsonable(clean)})
        self.completed.add(task.id)
        self.result.path.append(str(step.element))
        try:
            if hasattr(task.task_spec, "add_data_from_form"):
                task.task_spec.add_data_from_form(task, clean)
            else:
                task.set_data(**clean)
            with running(self.command):
                task.run()
        except Exception as error:  # shown as the trial's finding
            self.result.error = {"element": step.element, "message": error_text(error), "step": self.step}
            return False
        return self._run_steps()

    def _deliver(self, step: TrialStep) -> bool:
        """Hand the step's message to the event waiting for it, as a real case receives one."""
        definition = waiting_message(self.workflow, str(step.message))
        if definition is None:
            self.result.refused = {
                "step": self.step,
                "element": None,
                "reason": "no_message",
                "message": step.message,
            }
            return False
        self._event(
            "message_received", None, detail={"name": step.message, "payload": _jsonable(dict(step.data))}
        )
        try:
            with running(self.command):
                self.workflow.send_event(BpmnEvent(definition, dict(step.data)))
        except Exception as error:  # shown as the trial's finding
            self.result.error = {"element": None, "message": error_text(error), "step": self.step}
            return False
        return self._run_steps()

    def _checked(
        self, form_key: str, data: dict[str, Any], element: str | None, case: dict[str, Any]
    ) -> bool:
        """Check data against the bundle's form as a real submission is checked; note a refusal."""
        try:
            clean = submissions.check_form(self.engine, self.form(form_key), data, case, self.command.session)
        except FormInvalid as error:
            self.result.refused = {
                "step": self.step,
                "element": element,
                "reason": "form",
                "errors": error.errors,
            }
            return False
        data.clear()
        data.update(clean)
        return True

    def form(self, form_key: str) -> FormDefinition:
        raw = self.meta.get("forms", {}).get(form_key)
        if raw is None:
            raise EngineError(f"the form '{form_key}' is missing from the files")
        return parse_form(form_key, json.dumps(raw, ensure_ascii=False))

    # --- what happened ----------------------------------------------------------------------------

    def _observe(self) -> bool:
        """Note the elements completed, tasks opened, timers set, fired or cancelled since the last look."""
        try:
            self._note_completed()
            self._note_timers()
            for task in ready_human_tasks(self.workflow):
                if task.id not in self.opened:
                    self.opened.add(task.id)
                    element = str(task.task_spec.bpmn_id)
                    self._event("task_opened", element, due=self._due(task, element))
        except Exception as error:  # a due-time expression that fails is a finding too
            self.result.error = {"element": getattr(error, "element_id", None), "message": error_text(error)}
            return False
        for element, chosen in self.command.decisions.items():
            self._event("decision", element, detail={**chosen, "outputs": self.outputs.pop(element, {})})
        self.command.decisions.clear()
        return True

    def _note_completed(self) -> None:
        for task in self.workflow.get_tasks(state=TaskState.COMPLETED):
            element = task.task_spec.bpmn_id
            if task.id in self.completed or element is None:
                continue
            self.completed.add(task.id)
            if task.id in self.waiting:
                continue  # a timer: noted as fired by _note_timers
            self.result.path.append(element)
            self._event("element", element, detail={"type": type(task.task_spec).__name__})
            table = getattr(task.task_spec, "dmnEngine", None)
            if table is not None:  # what the decision gave, as the case data holds it after the task
                names = [o.name for o in table.decision_table.outputs if o.name]
                self.outputs[element] = _jsonable({name: task.data.get(name) for name in names})

    def _note_timers(self) -> None:
        now_waiting = {
            task.id: (str(task.task_spec.bpmn_id), due) for task, due in waiting_timers(self.workflow)
        }
        for task_id, (element, due) in list(self.waiting.items()):
            if task_id in now_waiting:
                continue
            del self.waiting[task_id]
            task = find_task(self.workflow, str(task_id))
            fired = task is not None and task.state == TaskState.COMPLETED
            self._event("timer_fired" if fired else "timer_cancelled", element, due=due)
            if fired:
                self.result.events[-1].at = due
            if fired:
                self.result.path.append(element)
        for task_id, (element, due) in now_waiting.items():
            if self.waiting.get(task_id) != (element, due):
                self.waiting[task_id] = (element, due)
                self._event("timer_waiting", element, due=due)

    def _due(self, task: SpiffTask, element: str) -> datetime | None:
        expression = self._task_info(element).get("due")
        if not expression:
            return None
        try:
            return self.engine.task_rules.to_datetime(self.engine.task_rules.evaluate(task, expression))
        except Exception as error:
            raise _ElementFailed(
                element, f"the due time '{expression}' could not be computed: {error}"
            ) from error

    def _task_info(self, element: str | None) -> dict[str, Any]:
        info: dict[str, Any] = self.meta.get("tasks", {}).get(element or "", {})
        return info

    def _event(
        self,
        kind: str,
        element: str | None,
        due: datetime | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.result.events.append(TrialEvent(kind, element, self.sim.at, self.step, due, detail or {}))

    def _finish(self) -> TrialResult:
        result = self.result
        result.clock = self.sim.at
        result.finished = self.workflow.is_completed() and result.error is None
        if result.finished:
            self._event("ended", None)
        result.timers = sorted(self.waiting.values(), key=lambda item: item[1])
        result.open_tasks = (
            [] if result.error else [self._open_task(t) for t in ready_human_tasks(self.workflow)]
        )
        return result

    def _open_task(self, task: SpiffTask) -> OpenTask:
        element = str(task.task_spec.bpmn_id)
        info = self._task_info(element)
        form_key = info.get("form")
        opened = [e for e in self.result.events if e.kind == "task_opened" and e.element == element]
        return OpenTask(
            element=element,
            name=info.get("name") or task.task_spec.bpmn_name or element,
            role=info.get("role") or self.meta.get("lanes", {}).get(element),
            form_key=form_key,
            due=opened[-1].due if opened else None,
            fields=[_field_json(f) for f in self.form(form_key).fields if f.key] if form_key else [],
        )


class _ElementFailed(EngineError):
    """An expression of an element failed during the trial."""

    def __init__(self, element_id: str, message: str) -> None:
        super().__init__(message)
        self.element_id = element_id


def _field_json(form_field: FormField) -> dict[str, Any]:
    """What a page needs to ask for one field's value."""
    return {
        "key": form_field.key,
        "type": form_field.type,
        "subtype": form_field.subtype,
        "label_zh": form_field.label_zh,
        "label_en": form_field.label_en,
        "required": form_field.required,
        "readonly": form_field.readonly,
        "options": [list(option) for option in form_field.options],
        "default": _jsonable(form_field.default),
        "min": form_field.min,
        "max": form_field.max,
    }


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))
