"""The engine's notion of "now", replaceable so tests and demo loads can move time.

SpiffWorkflow's timer definitions read ``datetime.now(timezone.utc)`` directly. We point
that module's ``datetime`` name at a subclass whose ``now`` asks this clock, so timers,
due times and SLA checks all agree on one time source.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

_lock = threading.Lock()
_frozen: datetime | None = None


class SimulatedClock:
    """A clock of one's own for a block of code (a trial run), moved by hand; other threads keep theirs."""

    def __init__(self, at: datetime) -> None:
        self.at = _aware(at)

    def set(self, at: datetime) -> None:
        """Move this clock to ``at`` (forward or back)."""
        self.at = _aware(at)


_simulated: ContextVar[SimulatedClock | None] = ContextVar("afterflow_simulated_clock", default=None)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("the clock needs a timezone-aware datetime")
    return at.astimezone(UTC)


@contextmanager
def simulated(at: datetime) -> Iterator[SimulatedClock]:
    """Let ``now()`` in this thread (and context) read a simulated clock for the duration of a block."""
    clock = SimulatedClock(at)
    token = _simulated.set(clock)
    try:
        yield clock
    finally:
        _simulated.reset(token)


def now() -> datetime:
    """Return the current time, timezone-aware (UTC)."""
    simulation = _simulated.get()
    if simulation is not None:
        return simulation.at
    frozen = _frozen
    return frozen if frozen is not None else datetime.now(UTC)


def freeze(at: datetime) -> None:
    """Stop the clock at ``at`` (must be timezone-aware)."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("the clock needs a timezone-aware datetime")
    with _lock:
        _frozen = at.astimezone(UTC)


def advance(delta: timedelta) -> datetime:
    """Move a frozen clock forward and return the new time."""
    global _frozen
    with _lock:
        if _frozen is None:
            raise RuntimeError("the clock is not frozen")
        _frozen = _frozen + delta
        return _frozen


def unfreeze() -> None:
    """Let the clock follow real time again."""
    global _frozen
    with _lock:
        _frozen = None


@contextmanager
def frozen_at(at: datetime) -> Iterator[None]:
    """Freeze the clock for the duration of a block."""
    freeze(at)
    try:
        yield
    finally:
        unfreeze()


class _ClockDatetime(datetime):
    """``datetime`` whose ``now`` follows the engine clock (installed into SpiffWorkflow's timers)."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _ClockDatetime:
        current = now()
        value = current.astimezone(tz) if tz is not None else current.astimezone().replace(tzinfo=None)
        return cls.combine(value.date(), value.time(), value.tzinfo)


_spiff_timer.datetime = _ClockDatetime
