"""Replay a recorded case on changed files: its start data and answers, in order, at their own times.

The case's audit events say what it was started with, which task each answer completed and
when, and which tasks opened with which due times. The answers become a trial plan
(``engine.runtime.trial``) whose steps take as long as they took; the tasks the trial opens are
then compared with the ones the case opened, and the first one that differs names the step
where the changed files would now take the case elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from engine.accounts.users import Actor
from engine.definitions.results import ProcessBundle
from engine.errors import NotFound
from engine.runtime.trial import TrialPlan, TrialResult, TrialStep, run_trial
from engine.store.models import Event, ProcessInstance

if TYPE_CHECKING:
    from engine.runtime.engine import Engine


@dataclass(frozen=True)
class RecordedOpening:
    """A task the recorded case opened: after how many answers (``step``), and its due time."""

    element: str
    step: int
    due: datetime | None


@dataclass(frozen=True)
class RecordedCase:
    """What a case's events tell a replay."""

    instance_id: int
    business_number: str | None
    version: int
    plan: TrialPlan
    openings: list[RecordedOpening]


@dataclass
class ReplayResult:
    """The trial of the recorded answers, and where it parts from the recorded case."""

    case: RecordedCase
    trial: TrialResult
    #: The first task opened differently: ``{"step", "after", "recorded", "draft"}``; None when none differs.
    difference: dict[str, Any] | None = None
    #: Tasks opened alike whose due time moved: ``{"step", "element", "recorded", "draft"}``.
    due_changes: list[dict[str, Any]] = field(default_factory=list)


def recorded_case(engine: Engine, instance_id: int, process_key: str) -> RecordedCase:
    """Read the start data, answers and openings of a case of ``process_key`` (any version)."""
    with engine.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None or instance.process_key != process_key:
            raise NotFound(f"no case {instance_id} of '{process_key}'")
        version = instance.definition.version
        events = list(
            session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id))
        )
    started = next((e for e in events if e.action == "instance_started"), None)
    if started is None:
        raise NotFound(f"case {instance_id} has no record of its start")
    start_at = _aware(started.at)
    data = dict((started.data or {}).get("data") or {})
    data.pop("business_number", None)
    steps: list[TrialStep] = []
    openings: list[RecordedOpening] = []
    last = start_at
    for event in events:
        if event.action == "task_completed" and event.element_id:
            at = _aware(event.at)
            minutes = max(0.0, (at - last).total_seconds() / 60)
            steps.append(TrialStep(event.element_id, dict((event.data or {}).get("data") or {}), minutes))
            last = at
        elif event.action == "message_received":
            at = _aware(event.at)
            body = event.data or {}
            payload = dict(body.get("payload") or {})
            minutes = max(0.0, (at - last).total_seconds() / 60)
            steps.append(TrialStep(None, payload, minutes, message=str(body.get("name"))))
            last = at
        elif event.action == "task_created" and event.element_id:
            due = (event.data or {}).get("due_at")
            openings.append(RecordedOpening(event.element_id, len(steps), _moment(due)))
    final = _aware(events[-1].at)
    if final > last:  # timers that fired after the last answer fire in the replay too
        steps.append(TrialStep(None, {}, (final - last).total_seconds() / 60))
    plan = TrialPlan(start_at=start_at, data=data, steps=steps)
    return RecordedCase(instance_id, instance.business_number, version, plan, openings)


def replay(engine: Engine, bundle: ProcessBundle, case: RecordedCase, actor: Actor) -> ReplayResult:
    """Run the recorded answers on ``bundle`` and say where the run first parts from the record."""
    trial = run_trial(engine, bundle, case.plan, actor)
    result = ReplayResult(case, trial)
    recorded = sorted(case.openings, key=lambda o: (o.step, o.element))
    drafted = sorted(
        (RecordedOpening(str(e.element), e.step, e.due) for e in trial.events if e.kind == "task_opened"),
        key=lambda o: (o.step, o.element),
    )
    for index in range(max(len(recorded), len(drafted))):
        mine = recorded[index] if index < len(recorded) else None
        theirs = drafted[index] if index < len(drafted) else None
        if mine is None or theirs is None or (mine.element, mine.step) != (theirs.element, theirs.step):
            step = min(o.step for o in (mine, theirs) if o is not None)
            result.difference = {
                "step": step,
                "after": _answered(case.plan.steps, step),
                "recorded": mine.element if mine else None,
                "draft": theirs.element if theirs else None,
            }
            break
        if not _same_minute(mine.due, theirs.due):
            result.due_changes.append(
                {"step": mine.step, "element": mine.element, "recorded": mine.due, "draft": theirs.due}
            )
    if result.difference is None and trial.refused is not None:
        step = int(trial.refused["step"])
        result.difference = {"step": step, "after": _answered(case.plan.steps, step), **trial.refused}
    return result


def _answered(steps: Sequence[TrialStep], step: int) -> str | None:
    """The task whose answer was the ``step``-th, or the latest answer before it (None: the start)."""
    for index in range(min(step, len(steps)), 0, -1):
        if steps[index - 1].element is not None:
            return steps[index - 1].element
    return None


def _same_minute(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs((a - b).total_seconds()) < 60


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        return None
