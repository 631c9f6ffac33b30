"""The loop a script process runs: the same sandbox, under RLIMIT_AS and RLIMIT_CPU.

The server process sends (pickled: it is trusted) the source, the mode, the case data, the
limits and the names of the helpers; the helpers here are stubs that ask the server process
over the pipe, so the calendar, the clock and the database stay there. Answers go back as
tagged JSON (``engine.sandbox.wire``), never pickled.
"""

from __future__ import annotations

import dataclasses
import math
import os
import resource
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from engine.errors import EngineError
from engine.sandbox import limits as limits_module
from engine.sandbox import wire
from engine.sandbox.environment import SandboxEnvironment
from engine.sandbox.limits import SandboxLimits
from engine.sandbox.policy import SCRIPT_FILENAME


def _address_space_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def limit_address_space(extra_mb: int) -> None:
    """Cap this process's address space at what it maps now plus ``extra_mb`` (RLIMIT_AS)."""
    try:
        size = _address_space_bytes() + extra_mb * 1024 * 1024
    except OSError:  # no /proc: a fixed ceiling
        size = (512 + extra_mb) * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        size = min(size, hard)
    resource.setrlimit(resource.RLIMIT_AS, (size, hard))


def limit_cpu(seconds: float) -> None:
    """Let this process use at most ``seconds`` more CPU time (RLIMIT_CPU counts from its start)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds) + 1
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


class HelperFailed(Exception):
    """A helper raised in the server process with an exception class scripts do not know."""


def _stub(conn: Connection, name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        conn.send_bytes(wire.dumps(["call", name, list(args), kwargs]))
        reply = conn.recv()
        if reply[0] == "return":
            return reply[1]
        kind, message = reply[1], reply[2]
        raise _BUILTIN_ERRORS.get(kind, HelperFailed)(message)

    call.__name__ = name
    return call


_BUILTIN_ERRORS: dict[str, type[Exception]] = {
    kind.__name__: kind
    for kind in (ValueError, TypeError, KeyError, IndexError, ZeroDivisionError, ArithmeticError, LookupError)
}


def describe(err: BaseException) -> dict[str, Any]:
    """What the server process needs to raise the same error: type, arguments, limit, line."""
    details: dict[str, Any] = dict(err.details) if isinstance(err, EngineError) else {}
    line = details.get("line")
    if line is None:
        for frame in traceback.extract_tb(err.__traceback__):
            if frame.filename == SCRIPT_FILENAME:
                line = frame.lineno
    args: list[Any] = []
    for arg in err.args:
        args.append(arg if isinstance(arg, str | int | float | bool | type(None)) else str(arg))
    return {
        "type": type(err).__name__,
        "message": getattr(err, "message", None) or str(err),
        "args": args,
        "details": {k: v for k, v in details.items() if isinstance(v, str | int | float | type(None))},
        "line": line,
    }


def serve(conn: Connection, process_memory_mb: int) -> None:
    """Evaluate requests from the pipe until it closes (the entry point of a script process)."""
    limit_address_space(process_memory_mb)
    conn.send_bytes(b"ready")
    environments: dict[tuple[tuple[str, ...], SandboxLimits], SandboxEnvironment] = {}
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        mode, source, context, external, helpers, limits, remaining = request
        limit_cpu(limits.hard_time_limit)
        key = (tuple(helpers), limits)
        env = environments.get(key)
        if env is None:
            env = SandboxEnvironment(
                {name: _stub(conn, name) for name in helpers},
                limits=dataclasses.replace(limits, script_processes=0),  # this is the script process
            )
            environments[key] = env
        # The command's remaining script time, as the server process counted it.
        limits_module._local.command_remaining = remaining
        try:
            if mode == "eval":
                answer: list[Any] = ["ok", env.evaluate(source, context, external)]
            else:
                env.execute(source, context, external)
                answer = ["ok", context]
            payload = wire.dumps(answer)
        except (wire.NotData, Exception, limits_module.LimitHit, RecursionError, MemoryError) as err:
            payload = _error_payload(err)
        conn.send_bytes(payload)


def _error_payload(err: BaseException) -> bytes:
    try:
        return wire.dumps(["error", describe(err)])
    except Exception:
        return wire.dumps(["error", {"type": "ScriptError", "message": type(err).__name__, "args": []}])
