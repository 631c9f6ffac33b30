"""A pool of script processes: what in-process checks cannot stop, the OS stops.

One C call (hashing a tuple of a hundred thousand tuples, summing big integers) cannot be
interrupted by the trace function, so every script that is not *simple*
(``engine.sandbox.simple``) runs in a script process: a worker under ``RLIMIT_AS`` and
``RLIMIT_CPU`` running the same sandbox. The server process waits with a deadline
(``AFTERFLOW_SCRIPT_HARD_TIME_LIMIT``); on time-out or death it kills the process, starts a
replacement and raises the sandbox's limit error, so the case goes to error naming the
element and the limit.

Workers come from multiprocessing's ``forkserver``: a clean server process started once, with
only the sandbox imported, forks each worker. Forking the application itself would copy its
threads' locks and its database connections into the child; ``spawn`` would pay the imports
(about a second) for every replacement. The pool starts lazily, at the first script that needs
it; a process forked from the server (gunicorn-style workers) starts its own.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import threading
import time
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any

from engine.errors import ScriptError
from engine.sandbox import limits as limits_module
from engine.sandbox import wire
from engine.sandbox.limits import SETTINGS, Budget, SandboxLimits, ScriptLimitExceeded

_PRELOAD = ["engine.sandbox.script_process"]
_READY = b"ready"
#: Seconds a new script process may take to start (importing the main module, on a loaded machine).
_START_TIMEOUT = 60


class ScriptProcess:
    """One worker process and the server's end of its pipe."""

    def __init__(self, context: Any, process_memory_mb: int) -> None:
        from engine.sandbox.script_process import serve

        parent, child = context.Pipe(duplex=True)
        self.process = context.Process(
            target=serve, args=(child, process_memory_mb), name="afterflow-script", daemon=True
        )
        self.process.start()
        child.close()
        self.conn: Connection = parent
        # A worker first imports the server's main module (multiprocessing's rule for every start
        # method but fork): wait for it here, so its start-up never counts against a script.
        try:
            ready = parent.poll(_START_TIMEOUT) and parent.recv_bytes(64) == _READY
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.kill()
            raise ScriptError("a script process could not be started")

    @property
    def pid(self) -> int | None:
        """The worker's process id."""
        pid: int | None = self.process.pid
        return pid

    def kill(self) -> None:
        """Kill the worker and reap it."""
        try:
            self.process.kill()
            self.process.join(timeout=2)
        finally:
            self.conn.close()

    def stop(self) -> None:
        """Ask the worker to leave; kill it if it does not."""
        try:
            self.conn.send(None)
            self.process.join(timeout=1)
        except (OSError, ValueError):
            pass
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


class ScriptProcessPool:
    """Up to ``size`` script processes, started when first needed and replaced when killed."""

    def __init__(self, size: int, process_memory_mb: int) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one script process")
        self.size = size
        self.process_memory_mb = process_memory_mb
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(_PRELOAD)
        self._idle: list[ScriptProcess] = []
        self._count = 0
        self._closed = False
        self._ready = threading.Condition()
        self.replaced = 0

    def worker_pids(self) -> list[int]:
        """The process ids of the idle workers (for tests and diagnostics)."""
        with self._ready:
            return [p.pid for p in self._idle if p.pid is not None]

    def _acquire(self) -> ScriptProcess:
        with self._ready:
            while True:
                if self._closed:
                    raise ScriptError("the script processes are shut down")
                if self._idle:
                    return self._idle.pop()
                if self._count < self.size:
                    self._count += 1
                    break
                # Every busy worker answers or is killed within the hard time limit.
                self._ready.wait(timeout=5)
        try:
            return ScriptProcess(self.context, self.process_memory_mb)
        except BaseException:
            with self._ready:
                self._count -= 1
                self._ready.notify()
            raise

    def _release(self, worker: ScriptProcess) -> None:
        with self._ready:
            if self._closed:
                worker.stop()
                return
            self._idle.append(worker)
            self._ready.notify()

    def _replace(self, worker: ScriptProcess) -> None:
        """Kill ``worker`` and start its replacement, so the next script does not wait for one."""
        worker.kill()
        self.replaced += 1
        try:
            fresh = ScriptProcess(self.context, self.process_memory_mb)
        except Exception:
            with self._ready:
                self._count -= 1
                self._ready.notify()
            return
        self._release(fresh)

    def close(self) -> None:
        """Stop every idle worker; busy ones stop when they are released."""
        with self._ready:
            self._closed = True
            idle, self._idle = self._idle, []
            self._ready.notify_all()
        for worker in idle:
            worker.stop()

    def run(
        self,
        mode: str,
        source: str,
        context: Mapping[str, Any],
        external: Mapping[str, Any] | None,
        helpers: Mapping[str, Callable[..., Any]],
        limits: SandboxLimits,
    ) -> Any:
        """Evaluate (``eval``) or execute (``exec``) in a worker; return the value or the new case data."""
        remaining: float | None = getattr(limits_module._local, "command_remaining", None)
        try:
            request = pickle.dumps(
                (mode, source, dict(context), dict(external or {}), sorted(helpers), limits, remaining),
                protocol=pickle.HIGHEST_PROTOCOL,
            )
        except Exception as err:
            raise ScriptError(f"the case data cannot be handed to a script: {err}") from None
        worker = self._acquire()
        budget = Budget(limits)  # counts the time against the command's scripts
        allowed = budget.deadline - budget.started
        hard = allowed + max(limits.hard_time_limit - limits.time_limit, 0.0)
        deadline = time.monotonic() + hard
        try:
            worker.conn.send_bytes(request)
            return self._answer(worker, deadline, hard, helpers, limits)
        finally:
            budget.close()

    def _answer(
        self,
        worker: ScriptProcess,
        deadline: float,
        hard: float,
        helpers: Mapping[str, Callable[..., Any]],
        limits: SandboxLimits,
    ) -> Any:
        largest = max(64, 2 * limits.memory_mb) * 1024 * 1024
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0 or not worker.conn.poll(left):
                    self._replace(worker)
                    raise ScriptLimitExceeded(
                        f"the script ran longer than the limit of {round(hard, 2)} s for a script "
                        f"process, which is not allowed in scripts (setting {SETTINGS['hard_time_limit']})",
                        limit=SETTINGS["hard_time_limit"],
                    )
                message = wire.loads(worker.conn.recv_bytes(largest))
            except (EOFError, OSError, ValueError, TypeError, KeyError, IndexError) as err:
                self._replace(worker)
                raise self._died(worker, limits, err) from None
            if not isinstance(message, list) or not message:
                self._replace(worker)
                raise ScriptError("a script process sent an answer that is not one")
            if message[0] == "call":
                self._call_helper(worker, message, helpers)
                continue
            self._release(worker)
            if message[0] == "ok" and len(message) == 2:
                return message[1]
            raise rebuild_error(message[1] if len(message) > 1 else {})

    @staticmethod
    def _died(worker: ScriptProcess, limits: SandboxLimits, err: BaseException) -> ScriptLimitExceeded:
        code = worker.process.exitcode
        if isinstance(err, OSError) and "message" in str(err).lower():  # recv_bytes' maxlength
            what = "the script's answer was larger than"
        else:
            what = f"the script process stopped (exit {code}); the script used more memory or CPU than"
        phrase = f"the limit of {limits.process_memory_mb:,} MB for a script process"
        setting = SETTINGS["process_memory_mb"]
        return ScriptLimitExceeded(f"{what} {phrase} (setting {setting})", limit=setting)

    @staticmethod
    def _call_helper(
        worker: ScriptProcess, message: list[Any], helpers: Mapping[str, Callable[..., Any]]
    ) -> None:
        """Run a helper the script called (in this process: it keeps the calendar and the clock)."""
        _call, name, args, kwargs = (message + [None] * 4)[:4]
        helper = helpers.get(name) if isinstance(name, str) else None
        try:
            if helper is None or not isinstance(args, list) or not isinstance(kwargs, dict):
                raise ValueError(f"{name!r} is not a helper")
            reply: tuple[Any, ...] = ("return", helper(*args, **kwargs))
        except Exception as err:
            reply = ("raise", type(err).__name__, str(err))
        try:
            worker.conn.send(reply)
        except Exception as err:  # a helper's value that cannot be pickled
            worker.conn.send(("raise", "TypeError", str(err)))


def rebuild_error(description: Any) -> Exception:
    """The exception a script raised in its process, rebuilt from its description (data only)."""
    if not isinstance(description, dict):
        return ScriptError("a script process failed")
    kind = str(description.get("type", "ScriptError"))
    message = str(description.get("message", ""))
    details = description.get("details") or {}
    details = {str(k): v for k, v in details.items()} if isinstance(details, dict) else {}
    line = description.get("line")
    if isinstance(line, int) and "line" not in details:
        details["line"] = line
    if kind == "ScriptLimitExceeded":
        return ScriptLimitExceeded(message, **details)
    if kind in ("ScriptError", "NotData"):
        return ScriptError(message, **details)
    if kind == "LimitHit":
        return ScriptLimitExceeded(message, **details)
    builtin = getattr(builtins, kind, None)
    args = description.get("args")
    if isinstance(builtin, type) and issubclass(builtin, Exception):
        try:
            err: Exception = builtin(*args) if isinstance(args, list) else builtin(message)
        except Exception:
            err = builtin(message)
    else:
        err = ScriptError(f"{kind}: {message}", **details)
    if isinstance(line, int):
        err.script_line = line  # type: ignore[attr-defined]
    return err


_pools: dict[tuple[int, int], ScriptProcessPool] = {}
_pools_lock = threading.Lock()


def pool_for(limits: SandboxLimits) -> ScriptProcessPool | None:
    """The pool for these limits (started lazily), or None when script processes are off."""
    if limits.script_processes <= 0:
        return None
    key = (limits.script_processes, limits.process_memory_mb)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = ScriptProcessPool(*key)
    return pool


def shutdown() -> None:
    """Stop every script process of this process (at exit, and in tests)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


def _forget_after_fork() -> None:
    """In a forked child (a gunicorn worker), leave the parent's workers and fork server alone."""
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()
    server: Any = getattr(multiprocessing.forkserver, "_forkserver", None)
    if server is not None and server._forkserver_pid is not None:
        # multiprocessing keeps no state per process here: a child asking the parent's fork
        # server would fail on waitpid(), so it starts its own when it first needs one.
        with contextlib.suppress(OSError):
            os.close(server._forkserver_alive_fd)
        server._forkserver_pid = server._forkserver_address = server._forkserver_alive_fd = None
    if server is not None:
        server._lock = threading.Lock()


atexit.register(shutdown)
os.register_at_fork(after_in_child=_forget_after_fork)
