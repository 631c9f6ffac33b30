"""One record per engine command: kind, case, user, result and duration, for logs and metrics.

Commands are marked with ``@observed("kind")``. The outermost command of a call is recorded
once (a command that starts linked cases is still one command); listeners (the metrics of the
web process) get every record, and the ``afterflow.command`` logger writes one line for it.
Only names travel here, never form data.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from engine.errors import EngineError

log = logging.getLogger("afterflow.command")

OK = "ok"
#: The command was refused (bad input, no permission, a conflict) and changed nothing.
REFUSED = "refused"
#: The command ran but left its case in error (a script or service failed).
CASE_ERROR = "case_error"
#: The command failed unexpectedly (a bug or the database).
FAILED = "failed"


@dataclass
class CommandRecord:
    """What one command did, as operators see it."""

    command: str
    user: str | None
    case: str | None = None
    result: str = OK
    duration: float = 0.0

    def fields(self) -> dict[str, Any]:
        """The record as the fields of a structured log line."""
        return {
            "command": self.command,
            "result": self.result,
            "case": self.case,
            "user": self.user,
            "duration_ms": round(self.duration * 1000, 1),
        }


Listener = Callable[[CommandRecord], None]
_listeners: list[Listener] = []
_current: ContextVar[CommandRecord | None] = ContextVar("afterflow_command", default=None)

P = ParamSpec("P")
R = TypeVar("R")


def add_listener(listener: Listener) -> None:
    """Call ``listener`` with every finished command's record (once per listener)."""
    if listener not in _listeners:
        _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    """Stop calling ``listener``."""
    if listener in _listeners:
        _listeners.remove(listener)


def note_case(business_number: str) -> None:
    """Name the case the running command works on (the first one named wins)."""
    record = _current.get()
    if record is not None and record.case is None:
        record.case = business_number


def note_case_error() -> None:
    """Say that the running command left its case in error."""
    record = _current.get()
    if record is not None:
        record.result = CASE_ERROR


def observed(command: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record every outermost call of the decorated engine command."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            if _current.get() is not None:
                return function(*args, **kwargs)
            record = CommandRecord(command, _username(args, kwargs))
            token = _current.set(record)
            started = time.perf_counter()
            try:
                value = function(*args, **kwargs)
            except EngineError:
                record.result = REFUSED
                raise
            except BaseException:
                record.result = FAILED
                raise
            else:
                case = getattr(value, "business_number", None)
                if record.case is None and isinstance(case, str):
                    record.case = case
                return value
            finally:
                record.duration = time.perf_counter() - started
                _current.reset(token)
                _publish(record)

        return run

    return decorate


def _username(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    # Commands take the acting user as an ``Actor`` (a username and roles) somewhere in their arguments.
    for value in (*args, *kwargs.values()):
        username = getattr(value, "username", None)
        if isinstance(username, str) and hasattr(value, "roles"):
            return username
    for key in ("deployed_by", "author"):
        if isinstance(kwargs.get(key), str):
            return str(kwargs[key])
    return None


def _publish(record: CommandRecord) -> None:
    level = logging.WARNING if record.result == FAILED else logging.INFO
    log.log(
        level,
        "%s %s case=%s user=%s %.1f ms",
        record.command,
        record.result,
        record.case or "-",
        record.user or "-",
        record.duration * 1000,
        extra=record.fields(),
    )
    for listener in list(_listeners):
        try:
            listener(record)
        except Exception:  # a broken listener must never fail a command that already committed
            logging.getLogger(__name__).exception("command listener failed")
