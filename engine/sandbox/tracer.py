"""Running compiled script code under the time and memory limits, in any thread.

A trace function counts line events of the script's own frames and, every few of them,
looks at the clock and at the process's resident memory; past a limit it raises
:class:`LimitHit`, which CPython delivers inside the script. ``signal.alarm`` would only work
in the main thread, and web requests run scripts in worker threads.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from engine.sandbox.limits import Budget, LimitHit, SandboxLimits, ScriptLimitExceeded, set_budget

# Line events between two looks at the clock and at memory: each look costs about 1 µs and
# the trace function runs on every line of every script.
_CHECK_EVERY = 20


class Tracer:
    """The trace functions of one evaluation."""

    def __init__(self, budget: Budget, filename: str) -> None:
        self.budget = budget
        self.filename = filename
        self.events = 0

    def lines(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        """Trace a script frame: every few lines, check the clock and memory."""
        if event == "line":
            self.events += 1
            if self.events >= _CHECK_EVERY:
                self.events = 0
                self.budget.check_clock()
                self.budget.check_memory()
        return self.lines

    def calls(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        """Trace only the script's own frames (guards and helpers are trusted and cheaper untraced)."""
        if frame.f_code.co_filename != self.filename:
            return None
        # Recursion can make many calls per line event.
        self.budget.check_clock()
        return self.lines

    def reinstall(self) -> None:
        """Put the trace functions back if CPython dropped them.

        CPython removes a trace function that raises — also when it raises RecursionError
        because the script recursed to the limit — and the script could then catch that
        error and loop untraced. ``except`` clauses call this through the guards.
        """
        if sys.gettrace() is self.calls:
            return
        sys.settrace(self.calls)
        frame: types.FrameType | None = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == self.filename:
                frame.f_trace = self.lines
            frame = frame.f_back


def run_limited(code: types.CodeType, namespace: dict[str, Any], mode: str, limits: SandboxLimits) -> Any:
    """Run ``code`` in ``namespace``; a limit reached becomes ScriptLimitExceeded."""
    budget = Budget(limits)
    tracer = Tracer(budget, code.co_filename)
    budget.tracer = tracer
    previous_budget = set_budget(budget)
    previous_trace = sys.gettrace()
    sys.settrace(tracer.calls)
    try:
        if mode == "eval":
            return eval(code, namespace)
        exec(code, namespace)
        return None
    except LimitHit as hit:
        raise ScriptLimitExceeded(hit.message, limit=limits.setting(hit.limit)) from None
    except RecursionError:
        raise ScriptLimitExceeded(
            "the script called itself too deeply (Python's recursion limit)", limit="recursion"
        ) from None
    except MemoryError:
        raise ScriptLimitExceeded("the script ran out of memory", limit="memory") from None
    finally:
        # Put back pytest's / coverage's / a debugger's tracer (CPython already removed
        # ours if it raised).
        sys.settrace(previous_trace)
        set_budget(previous_budget)
        budget.close()
