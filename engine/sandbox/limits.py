"""The limits diagram scripts run under, their settings, and the budget of one evaluation."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

from engine.errors import ScriptError

__all__ = [
    "Budget",
    "LimitHit",
    "SandboxLimits",
    "ScriptLimitExceeded",
    "current_budget",
]


@dataclass(frozen=True)
class SandboxLimits:
    """Every limit of the sandbox; each field is read from the environment variable it names."""

    #: AFTERFLOW_SCRIPT_TIME_LIMIT — seconds one script or expression may run.
    time_limit: float = 1.0
    #: AFTERFLOW_COMMAND_SCRIPT_SECONDS — seconds all scripts of one command (a start, a
    #: completion, a timer firing) may run together: the case's row stays locked meanwhile.
    command_time_limit: float = 1.0
    #: AFTERFLOW_SCRIPT_MEMORY_MB — growth of the process's resident memory one evaluation may cause.
    memory_mb: int = 64
    #: AFTERFLOW_SCRIPT_MAX_INT_BITS — size of any integer a script makes.
    max_int_bits: int = 10_000
    #: AFTERFLOW_SCRIPT_MAX_ITEMS — items of a list, tuple, set, dict or range a script makes.
    max_items: int = 100_000
    #: AFTERFLOW_SCRIPT_MAX_STRING — characters of a string a script makes.
    max_string: int = 1_000_000
    #: AFTERFLOW_SCRIPT_MAX_SOURCE — characters of one script or expression in a diagram.
    max_source: int = 20_000
    #: AFTERFLOW_SCRIPT_MAX_NESTING — depth of nested brackets and operators in one expression.
    max_nesting: int = 40
    #: AFTERFLOW_MAX_MULTI_INSTANCE — instances one multi-instance activity may create.
    max_cardinality: int = 1_000
    #: AFTERFLOW_MAX_LOOP_COUNT — iterations of one standard loop.
    max_loop_count: int = 1_000
    #: AFTERFLOW_MAX_TASKS_PER_CASE — tasks one case may hold.
    max_tasks_per_case: int = 10_000
    #: AFTERFLOW_SCRIPT_PROCESSES — script processes per server process; 0 runs everything in process.
    script_processes: int = 2
    #: AFTERFLOW_SCRIPT_HARD_TIME_LIMIT — seconds after which a script process is killed.
    hard_time_limit: float = 2.0
    #: AFTERFLOW_SCRIPT_PROCESS_MEMORY_MB — address space a script process may add (RLIMIT_AS).
    process_memory_mb: int = 512

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> SandboxLimits:
        """Read the limits from ``AFTERFLOW_*`` variables; unset ones keep their defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in fields(cls):
            name = SETTINGS[item.name]
            raw = env.get(name)
            if raw is None or not raw.strip():
                continue
            kind = float if item.name in _FLOAT_LIMITS else int
            try:
                value = kind(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number, not {raw!r}") from None
            if value < 0 or (value == 0 and item.name != "script_processes"):
                raise ValueError(f"{name} must be positive, not {raw!r}")
            values[item.name] = value
        return cls(**values)

    def setting(self, limit: str) -> str:
        """Return the environment variable that sets ``limit``."""
        return SETTINGS[limit]

    def __hash__(self) -> int:
        # The compile cache is keyed by the limits: hash the fields once, not per evaluation.
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, item.name) for item in fields(self)))
            object.__setattr__(self, "_hash", cached)
        return cached


_FLOAT_LIMITS = ("time_limit", "command_time_limit", "hard_time_limit")

SETTINGS: dict[str, str] = {
    "time_limit": "AFTERFLOW_SCRIPT_TIME_LIMIT",
    "command_time_limit": "AFTERFLOW_COMMAND_SCRIPT_SECONDS",
    "memory_mb": "AFTERFLOW_SCRIPT_MEMORY_MB",
    "max_int_bits": "AFTERFLOW_SCRIPT_MAX_INT_BITS",
    "max_items": "AFTERFLOW_SCRIPT_MAX_ITEMS",
    "max_string": "AFTERFLOW_SCRIPT_MAX_STRING",
    "max_source": "AFTERFLOW_SCRIPT_MAX_SOURCE",
    "max_nesting": "AFTERFLOW_SCRIPT_MAX_NESTING",
    "max_cardinality": "AFTERFLOW_MAX_MULTI_INSTANCE",
    "max_loop_count": "AFTERFLOW_MAX_LOOP_COUNT",
    "max_tasks_per_case": "AFTERFLOW_MAX_TASKS_PER_CASE",
    "script_processes": "AFTERFLOW_SCRIPT_PROCESSES",
    "hard_time_limit": "AFTERFLOW_SCRIPT_HARD_TIME_LIMIT",
    "process_memory_mb": "AFTERFLOW_SCRIPT_PROCESS_MEMORY_MB",
}


class LimitHit(BaseException):
    """Raised inside a running script when it reaches a limit.

    A BaseException, and scripts may only catch subclasses of Exception (the sandbox checks
    every ``except`` clause at run time), so no script can catch it and carry on.
    """

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.message = message
        self.limit = limit


class ScriptLimitExceeded(ScriptError):
    """A script or expression reached a sandbox limit; ``limit`` names its setting."""

    code = "script_limit"


_PHRASES: dict[str, str] = {
    "time_limit": "the limit of {value} s",
    "command_time_limit": "the limit of {value} s for all scripts of one step",
    "memory_mb": "the limit of {value:,} MB",
    "max_int_bits": "a number over {value:,} bits",
    "max_items": "more than {value:,} items",
    "max_string": "a string over {value:,} characters",
    "hard_time_limit": "the limit of {value} s for a script process",
    "process_memory_mb": "the limit of {value:,} MB for a script process",
}


def limit_hit(limits: SandboxLimits, limit: str, what: str) -> LimitHit:
    """Build the LimitHit for ``limit``: 'what' plus the limit's value and its setting."""
    phrase = _PHRASES[limit].format(value=getattr(limits, limit))
    return LimitHit(f"{what} {phrase}, which is not allowed in scripts (setting {SETTINGS[limit]})", limit)


def _resident_bytes_reader() -> Callable[[], int]:
    """Return a cheap reader of the process's resident memory (about 1 µs on Linux)."""
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        import resource

        # Elsewhere only the peak is known; it still catches an evaluation pushing it up.
        return lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    page = os.sysconf("SC_PAGE_SIZE")

    def read() -> int:
        return int(os.pread(fd, 64, 0).split()[1]) * page

    return read


resident_bytes = _resident_bytes_reader()

# The memory baseline of an evaluation need not be exact (the allowance is tens of MB), so one
# reading serves every evaluation that starts within 20 ms: most expressions take microseconds.
_baseline: list[float] = [0.0, 0.0]


def _recent_resident_bytes() -> int:
    now = time.monotonic()
    if now - _baseline[0] > 0.02:
        _baseline[0], _baseline[1] = now, resident_bytes()
    return int(_baseline[1])


class Budget:
    """What one evaluation may still use: its deadline and its memory allowance."""

    __slots__ = ("allocated", "command_bound", "deadline", "limits", "memory_ceiling", "started", "tracer")

    def __init__(self, limits: SandboxLimits) -> None:
        self.limits = limits
        self.started = time.monotonic()
        allowed = limits.time_limit
        # Inside a command, what its earlier scripts used is gone (see command_budget).
        remaining: float | None = getattr(_local, "command_remaining", None)
        self.command_bound = remaining is not None and remaining < allowed
        if remaining is not None and self.command_bound:
            allowed = max(remaining, 0.0)
        self.deadline = self.started + allowed
        self.memory_ceiling = _recent_resident_bytes() + limits.memory_mb * 1024 * 1024
        self.allocated = 0
        self.tracer: Any = None

    def close(self) -> None:
        """Count this evaluation's time against its command's budget."""
        remaining: float | None = getattr(_local, "command_remaining", None)
        if remaining is not None:
            _local.command_remaining = remaining - (time.monotonic() - self.started)

    def check_clock(self) -> None:
        """Raise LimitHit when the evaluation is past its deadline."""
        if time.monotonic() > self.deadline:
            if self.command_bound:
                raise limit_hit(self.limits, "command_time_limit", "the scripts ran longer than")
            raise limit_hit(self.limits, "time_limit", "the script ran longer than")

    def check_memory(self) -> None:
        """Raise LimitHit when the process grew past this evaluation's allowance."""
        if resident_bytes() > self.memory_ceiling:
            raise limit_hit(self.limits, "memory_mb", "the script used more memory than")

    def charge(self, nbytes: int) -> None:
        """Count memory a guarded operation is about to allocate; look at the process every 4 MB."""
        self.allocated += nbytes
        if self.allocated > 4 * 1024 * 1024:
            self.allocated = 0
            self.check_memory()
            self.check_clock()


def limit_process_memory(megabytes: int) -> None:
    """Cap the whole process's address space (RLIMIT_AS), the backstop for what checks miss.

    A script that still found a way to allocate past the in-process checks then gets a
    MemoryError — its case goes to the error state — instead of the kernel's OOM killer
    taking the server or the machine. Set by ``afterflow run`` and ``afterflow worker`` from
    AFTERFLOW_PROCESS_MEMORY_MB; unset by default, as the right size depends on the machine.
    """
    import resource

    size = megabytes * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        size = min(size, hard)
    resource.setrlimit(resource.RLIMIT_AS, (size, hard))


_local = threading.local()


def current_budget() -> Budget:
    """Return the budget of the evaluation running on this thread (a default one outside any)."""
    budget: Budget | None = getattr(_local, "budget", None)
    if budget is None:
        budget = Budget(SandboxLimits())
        budget.deadline = float("inf")
    return budget


@contextmanager
def command_budget(limits: SandboxLimits) -> Iterator[None]:
    """Let the scripts run inside the block (one command) use ``command_time_limit`` together.

    Only the time spent in scripts counts (not the database or the engine around them).
    Nested commands (a case started by another's message) draw on the outer command's budget.
    """
    previous: float | None = getattr(_local, "command_remaining", None)
    if previous is None:
        _local.command_remaining = limits.command_time_limit
    try:
        yield
    finally:
        if previous is None:
            _local.command_remaining = None


def set_budget(budget: Budget | None) -> Budget | None:
    """Make ``budget`` the current one on this thread; return the previous one."""
    previous: Budget | None = getattr(_local, "budget", None)
    _local.budget = budget
    return previous
