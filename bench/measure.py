"""Timed runs of the benchmarked path through afterflow's engine commands."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple, Protocol

from sqlalchemy import select

from bench.scenario import (
    ANSWERS,
    MAX_COMPLETIONS_PER_CASE,
    PROCESS_KEY,
    REWORK_ANSWERS,
    REWORK_LOOP,
    STARTER,
    actor_for,
    answer,
    start_data,
)
from engine.runtime import Engine
from engine.store.models import ProcessInstance, Task
from engine.store.state_store import state_text

Timer = Callable[[Callable[[], object]], float]
Answers = Mapping[str, Mapping[str, Any]]


def timed(action: Callable[[], object]) -> float:
    """Run ``action`` once; return its duration in seconds."""
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


class OpenTask(NamedTuple):
    """A human task a case waits for, as the task list shows it."""

    id: str
    spec_id: str
    role: str | None
    assignee: str | None
    form_key: str | None


def open_tasks(engine: Engine, instance_id: int) -> list[OpenTask]:
    """The open human tasks of a case (a query the page showing the task made before; untimed)."""
    with engine.sessions() as session:
        rows = session.execute(
            select(Task.id, Task.spec_id, Task.role, Task.assignee, Task.form_key)
            .where(Task.instance_id == instance_id, Task.state == "open")
            .order_by(Task.spec_id)
        ).all()
    return [OpenTask(*row) for row in rows]


def choose(candidates: Sequence[OpenTask], answers: Answers) -> OpenTask:
    """The task the path works next: one the answers name, else the first (by element id)."""
    named = [t for t in candidates if t.spec_id in answers]
    return (named or list(candidates))[0]


def state_bytes(engine: Engine, instance_id: int) -> int:
    """Bytes of the workflow state of a case (UTF-8): its whole document, the changes since the snapshot applied."""
    with engine.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        state = state_text(session, instance) if instance is not None else ""
    return len(state.encode())


class Completion(NamedTuple):
    """One timed completion."""

    spec_id: str
    seconds: float
    cpu_seconds: float


_answers_cache: dict[tuple[int, str, str | None], dict[str, Any]] = {}


def complete_next(
    engine: Engine, instance_id: int, answers: Answers = ANSWERS, timer: Timer = timed
) -> Completion | None:
    """Complete the task the case waits for; None when it waits for none."""
    candidates = open_tasks(engine, instance_id)
    if not candidates:
        return None
    task = choose(candidates, answers)
    key = (id(answers), task.spec_id, task.form_key)
    if key not in _answers_cache:
        _answers_cache[key] = answer(task.spec_id, task.form_key, answers)
    actor = actor_for(task.role, task.assignee)
    cpu = time.process_time()
    seconds = timer(partial(engine.complete, task.id, _answers_cache[key], actor))
    return Completion(task.spec_id, seconds, time.process_time() - cpu)


def start_case(engine: Engine) -> tuple[int, float]:
    """Start a case through Engine.start; return its id and the seconds it took."""
    began = time.perf_counter()
    started = engine.start(PROCESS_KEY, start_data(), STARTER)
    return started.id, time.perf_counter() - began


def require_completed(engine: Engine, instance_id: int) -> None:
    """Fail loudly when a case stopped anywhere but at its end (an error, a wait)."""
    with engine.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        if instance.status != "completed":
            raise RuntimeError(
                f"case {instance.business_number} stopped {instance.status} at {instance.current_step!r}: "
                f"{instance.error_element or ''} {instance.error_message or ''}".strip()
            )


@dataclass
class CaseTimings:
    """Durations (seconds) of the starts and completions of a run, and state sizes per stage.

    ``completion_cpu`` is the CPU time of this process during each completion: on a shared
    machine it moves less than wall time, and against wall time it shows how long a
    completion waited (for PostgreSQL's server process, the disk, or a CPU). ``path`` is
    the element ids the first case completed, in order.
    """

    starts: list[float] = field(default_factory=list)
    completions: list[float] = field(default_factory=list)
    completion_cpu: list[float] = field(default_factory=list)
    per_step: dict[str, list[float]] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)

    def add(self, completion: Completion) -> None:
        """Record one completion."""
        self.completions.append(completion.seconds)
        self.completion_cpu.append(completion.cpu_seconds)
        self.per_step.setdefault(completion.spec_id, []).append(completion.seconds)

    def extend(self, other: CaseTimings) -> None:
        """Add another run's samples to these."""
        self.starts += other.starts
        self.completions += other.completions
        self.completion_cpu += other.completion_cpu
        for key, values in other.per_step.items():
            self.per_step.setdefault(key, []).extend(values)
        self.path = self.path or other.path
        self.sizes = self.sizes or other.sizes


def run_cases(engine: Engine, cases: int, record_sizes: bool = False, timer: Timer = timed) -> CaseTimings:
    """Start ``cases`` cases and complete each along the path; only the commands are timed.

    ``timer`` runs (and times) each completion; starts are always timed plainly.
    """
    timings = CaseTimings()
    for case in range(cases):
        instance_id, seconds = start_case(engine)
        timings.starts.append(seconds)
        first = case == 0
        if first and record_sizes:
            timings.sizes.append(state_bytes(engine, instance_id))
        for _ in range(MAX_COMPLETIONS_PER_CASE):
            completion = complete_next(engine, instance_id, timer=timer)
            if completion is None:
                break
            timings.add(completion)
            if first:
                timings.path.append(completion.spec_id)
                if record_sizes:
                    timings.sizes.append(state_bytes(engine, instance_id))
        require_completed(engine, instance_id)
    return timings


class Contender(Protocol):
    """Something that runs rounds of cases along the path: the engine on a database, or a floor."""

    def round(self, cases: int, record_sizes: bool = False) -> CaseTimings:
        """Run ``cases`` cases; return their timings (and the first case's sizes if asked)."""
        ...


@dataclass
class EngineContender:
    """afterflow's engine commands over one database."""

    engine: Engine
    timer: Timer = timed

    def round(self, cases: int, record_sizes: bool = False) -> CaseTimings:
        """Run ``cases`` cases through Engine.start and Engine.complete."""
        return run_cases(self.engine, cases, record_sizes, self.timer)


@dataclass
class Rounds:
    """Every sample of a contender's timed rounds, and each round's completions per second."""

    timings: CaseTimings = field(default_factory=CaseTimings)
    rates: list[float] = field(default_factory=list)

    @property
    def median_rate(self) -> float:
        """The middle round's completions per second."""
        return statistics.median(self.rates)


def interleaved_rounds(
    contenders: Mapping[str, Contender], cases: int, repeat: int, warmup: int
) -> dict[str, Rounds]:
    """Warm every contender up, then run ``repeat`` rounds, taking turns within each round.

    Taking turns spreads any drift in machine load (other processes on a shared machine)
    over all contenders instead of biasing whichever ran last.
    """
    for contender in contenders.values() if warmup else []:
        contender.round(warmup)
    results = {name: Rounds() for name in contenders}
    for round_number in range(repeat):
        for name, contender in contenders.items():
            gc.collect()
            timings = contender.round(cases, record_sizes=round_number == 0)
            results[name].timings.extend(timings)
            results[name].rates.append(len(timings.completions) / sum(timings.completions))
    return results


@dataclass(frozen=True)
class ReworkPoint:
    """Cost of a completion after ``loops`` rework loops, and the state size then."""

    loops: int
    state_bytes: int
    completions: list[float]
    completion_cpu: list[float]
    loop_path: tuple[str, ...]


def rework_probe(engine: Engine, checkpoints: Sequence[int], window: int = 10) -> list[ReworkPoint]:
    """Grow cases by sending them back from acceptance to repair; time completions at each size.

    One case per checkpoint is brought to that many loops untimed; then the cases take
    turns, ``window`` times, at one timed loop each, so load drift on the machine hits
    every size alike.
    """
    cases = {}
    for checkpoint in checkpoints:
        instance_id, _ = start_case(engine)
        while (open_now := open_tasks(engine, instance_id)) and REWORK_LOOP[0] not in {
            t.spec_id for t in open_now
        }:
            complete_next(engine, instance_id)
        for _ in range(checkpoint):
            _loop(engine, instance_id)
        cases[checkpoint] = instance_id
    sizes = {checkpoint: state_bytes(engine, instance_id) for checkpoint, instance_id in cases.items()}
    samples: dict[int, list[Completion]] = {checkpoint: [] for checkpoint in cases}
    loop_path: tuple[str, ...] = ()
    for _ in range(window):
        for checkpoint, instance_id in cases.items():
            done = _loop(engine, instance_id)
            loop_path = tuple(c.spec_id for c in done)
            samples[checkpoint] += done
    return [
        ReworkPoint(
            c,
            sizes[c],
            [done.seconds for done in samples[c]],
            [done.cpu_seconds for done in samples[c]],
            loop_path,
        )
        for c in checkpoints
    ]


def _loop(engine: Engine, instance_id: int) -> list[Completion]:
    """From repair to a rejected acceptance and back to repair: the case is one loop larger."""
    done: list[Completion] = []
    for _ in range(MAX_COMPLETIONS_PER_CASE):
        completion = complete_next(engine, instance_id, REWORK_ANSWERS)
        if completion is None:
            raise RuntimeError(f"case {instance_id} ended inside a rework loop")
        done.append(completion)
        if completion.spec_id == REWORK_LOOP[-1]:
            return done
    raise RuntimeError(f"case {instance_id} never came back to {REWORK_LOOP[-1]}")
