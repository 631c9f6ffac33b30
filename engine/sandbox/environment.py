"""The SpiffWorkflow script engine and environment that run diagram code in the sandbox."""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
import types
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.errors import ScriptError
from engine.sandbox.case_limits import check_evaluated, check_task_count
from engine.sandbox.guards import BUILTINS, FORBIDDEN_NAMES, GUARDS, SIMPLE_BUILTINS, SIMPLE_GUARDS
from engine.sandbox.limits import SandboxLimits
from engine.sandbox.policy import compiled
from engine.sandbox.script_processes import ScriptProcessPool, pool_for
from engine.sandbox.simple import NeedsIsolation, is_simple_source
from engine.sandbox.storable import first_unstorable
from engine.sandbox.tracer import run_limited


def _is_persistable(value: Any) -> bool:
    """False for values that must not stay in task data after a script."""
    return not (callable(value) or isinstance(value, (types.ModuleType, Iterator)))


class SandboxEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]  # untyped base
    """SpiffWorkflow script environment that runs code under the sandbox."""

    def __init__(
        self,
        helpers: Mapping[str, Any] | None = None,
        time_limit: float | None = None,
        limits: SandboxLimits | None = None,
    ) -> None:
        helper_map = dict(helpers or {})
        for name in helper_map:
            if name.startswith("_") or name in FORBIDDEN_NAMES or not name.isidentifier():
                raise ValueError(f"{name!r} cannot be used as a script helper name")
        limits = limits or SandboxLimits()
        if time_limit is not None:
            if not time_limit > 0:
                raise ValueError("time_limit must be positive")
            limits = dataclasses.replace(limits, time_limit=float(time_limit))
        super().__init__(helper_map)
        self.limits = limits
        self._helper_names = frozenset(helper_map)

    @property
    def time_limit(self) -> float:
        """Seconds one script or expression may run."""
        return self.limits.time_limit

    @time_limit.setter
    def time_limit(self, seconds: float) -> None:
        self.limits = dataclasses.replace(self.limits, time_limit=float(seconds))

    @property
    def helpers(self) -> dict[str, Any]:
        """The helper functions every script can call (SpiffWorkflow calls them globals)."""
        helpers: dict[str, Any] = self.globals
        return helpers

    def _namespace(
        self, context: Mapping[str, Any], external_context: Mapping[str, Any] | None, simple: bool = False
    ) -> dict[str, Any]:
        namespace: dict[str, Any] = dict(self.globals)
        namespace.update(external_context or {})
        namespace.update(context)
        # Guards last: task data (even with '_' keys) must never replace them.
        namespace.update(SIMPLE_GUARDS if simple else GUARDS)
        namespace["__builtins__"] = dict(SIMPLE_BUILTINS if simple else BUILTINS)
        return namespace

    def _isolating_pool(self, source: str, mode: str) -> tuple[ScriptProcessPool | None, bool]:
        """The pool of script processes if there is one, and whether ``source`` must run there."""
        pool = pool_for(self.limits)
        if pool is None:
            return None, False
        if len(self._helper_names) != len(self.globals):  # helpers added after construction
            self._helper_names = frozenset(self.globals)
        return pool, not is_simple_source(source, mode, self._helper_names)

    def evaluate(
        self,
        expression: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Evaluate an expression over the task data; dates come back as ISO strings.

        Simple expressions run here; the others in a script process (``script_processes``).
        """
        code = compiled(expression, "eval", self.limits)
        pool, isolate = self._isolating_pool(expression, "eval")
        result: Any = None
        if not isolate:
            try:
                namespace = self._namespace(context, external_context, simple=pool is not None)
                result = run_limited(code, namespace, "eval", self.limits)
            except NeedsIsolation:
                isolate = True  # a simple expression has no effect: running it again is safe
        if isolate and pool is not None:
            result = pool.run("eval", expression, context, external_context, self.globals, self.limits)
        # SpiffWorkflow's timer definitions parse strings, and helpers return datetimes.
        if isinstance(result, date):
            return result.isoformat()
        return result

    def execute(
        self,
        script: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        """Run a script whose assignments land in the task data ``context``."""
        external = dict(external_context or {})
        self.check_for_overwrite(context, external)
        code = compiled(script, "exec", self.limits)
        pool, isolate = self._isolating_pool(script, "exec")
        if not isolate:
            namespace = self._namespace(context, external, simple=pool is not None)
            # The script runs in a copy, so a script that fails half-way leaves the task data's
            # top-level names untouched (objects it mutated in place stay mutated).
            try:
                run_limited(code, namespace, "exec", self.limits)
            except NeedsIsolation:
                isolate = True  # a simple script changed nothing yet: running it again is safe
        if isolate and pool is not None:
            self._store(context, pool.run("exec", script, context, external, self.globals, self.limits))
            return True
        injected = set(self.globals) | set(external) | set(GUARDS) | {"__builtins__"}
        result = {
            key: value
            for key, value in namespace.items()
            if key not in injected and not key.startswith("_") and _is_persistable(value)
        }
        # Scripts cannot name '_' keys, so any already in the task data pass through as-is.
        result.update(
            (key, value)
            for key, value in context.items()
            if key.startswith("_") and key != "_" and _is_persistable(value)
        )
        self._store(context, result)
        return True

    def _store(self, context: dict[str, Any], result: Any) -> None:
        """Replace the task data by what the script left, if case data can keep all of it."""
        if not isinstance(result, dict):
            raise ScriptError("a script process sent back something other than case data")
        unstorable = first_unstorable(result, self.limits.max_items)
        if unstorable is not None:
            name, reason = unstorable
            raise ScriptError(
                f"the script left a value in '{name}' that case data cannot keep: {reason}", variable=name
            )
        context.clear()
        context.update(result)

    def check_for_overwrite(self, context: Mapping[str, Any], external_context: Mapping[str, Any]) -> None:
        """Raise ValueError if task data shadows a helper (as TaskDataEnvironment does)."""
        overwrites = (set(self.globals) | set(external_context)) & set(context)
        if overwrites:
            raise ValueError(
                "You have task data that overwrites a predefined function(s). Please change "
                f"the following variable or field name(s) to something else: {sorted(overwrites)}"
            )

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        """Services are dispatched by SandboxedScriptEngine, not by the environment."""
        raise NotImplementedError("SandboxedScriptEngine.call_service handles service tasks")


def _describe(err: BaseException) -> str:
    """'ErrorType: message' (SpiffWorkflow's own version breaks on non-string args)."""
    text = str(err)
    return f"{err.__class__.__name__}: {text}" if text else err.__class__.__name__


def _json_default(value: Any) -> Any:
    """JSON encoding for service results: dates as ISO strings, sets as lists."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"a {value.__class__.__name__} cannot be returned by a service")


#: The longest text whose parse is remembered (``SandboxedScriptEngine.validate``).
_PARSED_TEXT = 1_000


@functools.lru_cache(maxsize=4096)
def _parse_refusal(expression: str) -> tuple[Any, ...] | None:
    """Why ``expression`` does not parse (``SyntaxError``'s arguments), None when it does."""
    try:
        ast.parse(expression)
    except SyntaxError as error:
        return error.args
    return None


class SandboxedScriptEngine(PythonScriptEngine):  # type: ignore[misc]  # untyped base
    """PythonScriptEngine running scripts in the sandbox and service tasks via ``services``."""

    def __init__(
        self,
        helpers: Mapping[str, Any] | None = None,
        time_limit: float | None = None,
        services: Mapping[str, Callable[..., Any]] | None = None,
        limits: SandboxLimits | None = None,
    ) -> None:
        super().__init__(environment=SandboxEnvironment(helpers, time_limit, limits))
        self.services: dict[str, Callable[..., Any]] = dict(services or {})

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        """As PythonScriptEngine.evaluate, plus why it failed and the case limits on what it sizes."""
        try:
            value = self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:
            raise WorkflowTaskException(
                f"Error evaluating expression '{expression}': {_describe(err)}", task=task, exception=err
            ) from err
        check_evaluated(task, expression, value, self.limits)
        return value

    def validate(self, expression: str) -> None:
        """Raise ``SyntaxError`` when ``expression`` does not parse, as SpiffWorkflow's engine does.

        SpiffWorkflow's decision tables ask this of every input and rule cell each time they
        check a rule: a short text is parsed once per process.
        """
        if not isinstance(expression, str) or len(expression) > _PARSED_TEXT:
            super().validate(expression)
            return
        refusal = _parse_refusal(expression)
        if refusal is not None:
            raise SyntaxError(*refusal)

    def execute(self, task: Any, script: str, external_context: Mapping[str, Any] | None = None) -> Any:
        """Run a script of a task, once the case is known to be within its task limit."""
        check_task_count(task, self.limits)
        return super().execute(task, script, external_context)

    @property
    def limits(self) -> SandboxLimits:
        """The limits scripts and cases run under."""
        limits: SandboxLimits = self.environment.limits
        return limits

    def create_task_exec_exception(self, task: Any, script: str, err: Exception) -> Exception:
        """As the base class, plus compile-time line numbers and non-string error args."""
        if isinstance(err, SpiffWorkflowException):
            base: Exception = super().create_task_exec_exception(task, script, err)
            return base
        try:
            line_number, error_line = self.get_error_line_number_and_content(script, err)
        except (IndexError, AttributeError):  # a '<string>' frame from some other code
            line_number, error_line = 0, ""
        if not line_number and isinstance(err, ScriptError) and err.details.get("line"):
            line_number = err.details["line"]
        elif not line_number and isinstance(getattr(err, "script_line", None), int):
            line_number = getattr(err, "script_line")  # noqa: B009  # from a script process: the line only
        if line_number and not error_line:
            lines = script.splitlines()
            error_line = lines[line_number - 1] if 0 < line_number <= len(lines) else ""
        wrapped: Exception = WorkflowTaskException(
            _describe(err), task=task, exception=err, line_number=line_number, error_line=error_line
        )
        return wrapped

    def call_service(self, task: Any, **kwargs: Any) -> str:
        """Run the handler registered for the service task's operation; return JSON text.

        SpiffWorkflow's ServiceTask passes ``operation_name`` and ``operation_params``
        ({name: {"value": evaluated value, "type": declared type}}); the handler is called
        with the values as keyword arguments and its result is encoded as JSON.
        """
        operation = kwargs.get("operation_name")
        handler = self.services.get(operation) if isinstance(operation, str) else None
        if handler is None:
            raise WorkflowTaskException(f"unknown service operation '{operation}'", task=task)
        params = kwargs.get("operation_params") or {}
        arguments = {
            name: param["value"] if isinstance(param, Mapping) and "value" in param else param
            for name, param in params.items()
        }
        try:
            return json.dumps(handler(**arguments), default=_json_default, ensure_ascii=False)
        except SpiffWorkflowException:
            raise
        except Exception as err:
            raise WorkflowTaskException(
                f"service operation '{operation}' failed: {_describe(err)}", task=task, exception=err
            ) from err
