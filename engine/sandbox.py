"""A sandboxed Python script engine for SpiffWorkflow, built on RestrictedPython.

Script tasks, gateway conditions, timer and due-time expressions, multi-instance
collections and DMN cells are written by process modellers, not by us, so they run here
instead of in SpiffWorkflow's default ``eval``/``exec``:

* compile time: RestrictedPython's policy (no names or attributes starting with ``_``,
  guarded attribute/item access) plus our own refusals (imports, ``open``/``eval``/...,
  ``global``, classes, async, generators, ``finally``/bare ``except``/``with``);
* run time: guarded ``getattr``/``getitem``/iteration/writes, a curated set of builtins,
  checks that refuse ``*``, ``**`` and ``<<`` results that would eat the memory, and a
  time limit enforced with a per-thread trace function (works in web worker threads,
  where ``signal.alarm`` cannot be used).

Every refusal raises :class:`engine.errors.ScriptError` with a plain English sentence.
``check_source`` gives the same verdict at deploy time without running anything.

Known limits: the time limit is checked between Python lines, so one long C-level call
(``sorted`` of a huge list, a huge f-string width, ``'%*d' % (10**9, 1)``) is not
interrupted, and memory is not capped as such; a loop that allocates quickly can still
use a lot of memory before the time limit stops it.
"""

from __future__ import annotations

import ast
import functools
import json
import math
import operator
import re
import sys
import time
import types
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any

from RestrictedPython import (
    PrintCollector,
    RestrictingNodeTransformer,
    compile_restricted_eval,
    compile_restricted_exec,
    safe_builtins,
)
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, copy_locations
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.errors import ScriptError

__all__ = [
    "FORBIDDEN_NAMES",
    "MAX_INT_BITS",
    "MAX_SEQUENCE_ITEMS",
    "SandboxEnvironment",
    "SandboxPolicy",
    "SandboxedScriptEngine",
    "check_source",
]

# SpiffWorkflow's PythonScriptEngine.get_error_line_number_and_content looks for frames
# with this file name to report the failing line, so scripts are compiled under it.
SCRIPT_FILENAME = "<string>"

MAX_SEQUENCE_ITEMS = 1_000_000
MAX_INT_BITS = 10_000
# Line events between two looks at the clock: time.monotonic() is cheap, but the trace
# function runs on every line of every script, so it is not called every time.
_CLOCK_CHECK_EVERY = 20

FORBIDDEN_NAMES = frozenset(
    {
        "open",
        "eval",
        "exec",
        "compile",
        "globals",
        "locals",
        "vars",
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "input",
        "breakpoint",
        "help",
        "memoryview",
        "type",
        "object",
        "super",
        "classmethod",
        "staticmethod",
        "property",
        "exit",
        "quit",
        "dir",
        "id",
        "__import__",
        # The time limit is raised as a BaseException so that 'except Exception' in a
        # script cannot swallow it; these names would let a script catch it anyway.
        "BaseException",
        "KeyboardInterrupt",
        "SystemExit",
        "GeneratorExit",
    }
)

_SEQUENCE_TYPES = (str, bytes, bytearray, list, tuple)
_LINE_PREFIX = re.compile(r"^line (\d+): ")


class _ScriptTimeout(BaseException):
    """Raised by the trace function when a script passes its deadline.

    A BaseException (not ScriptError) so that ``try: ... except Exception:`` inside the
    script cannot catch it and keep running with tracing switched off.
    """


# --------------------------------------------------------------------------- compile time


class SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus afterflow's refusals, with plain English messages."""

    def error(self, node: ast.AST, info: str) -> None:
        """Record a refusal as 'line N: message'."""
        lineno = getattr(node, "lineno", None)
        self.errors.append(f"line {lineno}: {info}" if lineno else info)

    def not_allowed(self, node: ast.AST) -> None:
        """Refuse a syntax element RestrictedPython does not know or does not allow."""
        self.error(node, f"{node.__class__.__name__} statements are not allowed in scripts")

    def check_name(
        self,
        node: Any,
        name: str | None,
        allow_magic_methods: bool = False,
    ) -> None:
        """Refuse underscore names and the forbidden builtins, in any context."""
        if name is None:
            return
        if name.startswith("_") and name != "_":
            # Magic method names are refused too: classes are not allowed anyway.
            self.error(node, f"names starting with '_' are not allowed: {name!r}")
        elif name in FORBIDDEN_NAMES:
            self.error(node, f"{name!r} is not available in scripts")
        else:
            # '...__roles__' and the reserved print names keep RestrictedPython's check.
            super().check_name(node, name, allow_magic_methods=False)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        """Check attribute names inner-first, so 'a.__class__.__mro__' names '__class__'."""
        node = self.node_contents_visit(node)
        attr = node.attr
        if attr.startswith("_") and attr != "_":
            self.error(node, f"names starting with '_' are not allowed: {attr!r}")
            return node
        if attr.endswith("__roles__") or attr in INSPECT_ATTRIBUTES:
            self.error(node, f"the attribute {attr!r} is not allowed in scripts")
            return node
        if isinstance(node.ctx, ast.Load):
            call = ast.Call(
                func=ast.Name("_getattr_", ast.Load()),
                args=[node.value, ast.Constant(attr)],
                keywords=[],
            )
            copy_locations(call, node)
            return call
        # Store and Del: 'a.b = c' becomes '_write_(a).b = c', as in RestrictedPython.
        write = ast.Call(func=ast.Name("_write_", ast.Load()), args=[node.value], keywords=[])
        copy_locations(write, node.value)
        node.value = write
        return node

    def visit_Call(self, node: ast.Call) -> Any:
        """Report 'eval(...)' as a forbidden name rather than RestrictedPython's wording."""
        if isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_NAMES:
            self.check_name(node.func, node.func.id)
            return node
        return super().visit_Call(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        """Route *, ** and << through _safe_binop_, which refuses memory-eating results."""
        node = self.node_contents_visit(node)
        symbol = _GUARDED_BINOPS.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(
            func=ast.Name("_safe_binop_", ast.Load()),
            args=[ast.Constant(symbol), node.left, node.right],
            keywords=[],
        )
        copy_locations(call, node)
        return call

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        """Explain the refused 'd[k] += 1' form; 'n += 1' goes through _inplacevar_."""
        if isinstance(node.target, ast.Subscript | ast.Attribute):
            self.error(
                node,
                "augmented assignment to an item or attribute (like 'd[k] += 1') is not "
                "allowed in scripts; write 'd[k] = d[k] + 1'",
            )
            return node
        return super().visit_AugAssign(node)

    def visit_Import(self, node: ast.Import) -> Any:
        """Refuse 'import x'."""
        self.error(node, "imports are not allowed in scripts")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        """Refuse 'from x import y'."""
        self.error(node, "imports are not allowed in scripts")
        return node

    def visit_Global(self, node: ast.Global) -> Any:
        """Refuse 'global'."""
        self.error(node, "'global' statements are not allowed in scripts")
        return node

    def visit_Nonlocal(self, node: ast.Nonlocal) -> Any:
        """Refuse 'nonlocal'."""
        self.error(node, "'nonlocal' statements are not allowed in scripts")
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        """Refuse class definitions."""
        self.error(node, "class definitions are not allowed in scripts")
        return node

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> Any:
        """Refuse 'async def'."""
        self.error(node, "'async' and 'await' are not allowed in scripts")
        return node

    def visit_Await(self, node: ast.Await) -> Any:
        """Refuse 'await'."""
        self.error(node, "'async' and 'await' are not allowed in scripts")
        return node

    def visit_AsyncFor(self, node: ast.AsyncFor) -> Any:
        """Refuse 'async for'."""
        self.error(node, "'async' and 'await' are not allowed in scripts")
        return node

    def visit_AsyncWith(self, node: ast.AsyncWith) -> Any:
        """Refuse 'async with'."""
        self.error(node, "'async' and 'await' are not allowed in scripts")
        return node

    def visit_Yield(self, node: ast.Yield) -> Any:
        """Refuse 'yield'."""
        self.error(node, "'yield' is not allowed in scripts")
        return node

    def visit_YieldFrom(self, node: ast.YieldFrom) -> Any:
        """Refuse 'yield from'."""
        self.error(node, "'yield' is not allowed in scripts")
        return node

    def visit_Try(self, node: ast.Try) -> Any:
        """Refuse the forms of 'try' that could outlive the time limit.

        When the trace function raises, CPython switches tracing off; code in a
        'finally' block or a bare 'except:' would then run without a time limit.
        """
        if node.finalbody:
            self.error(node, "'finally' blocks are not allowed in scripts")
            return node
        for handler in node.handlers:
            if handler.type is None:
                self.error(
                    handler,
                    "a bare 'except:' is not allowed in scripts; name the exception, "
                    "e.g. 'except ValueError:'",
                )
                return node
        return super().visit_Try(node)

    def visit_TryStar(self, node: ast.AST) -> Any:
        """Refuse 'except*'."""
        self.error(node, "'except*' is not allowed in scripts")
        return node

    def visit_While(self, node: ast.While) -> Any:
        """Start every loop body with a name load, so each iteration is a line event.

        CPython 3.11 fires no line event for a jump to the same instruction, and
        'while True: pass' compiles to a single JUMP_BACKWARD onto itself: without this
        the time limit would never see the loop.
        """
        node = self.node_contents_visit(node)
        tick = ast.Expr(ast.Name("_getiter_", ast.Load()))
        copy_locations(tick, node)
        node.body.insert(0, tick)
        return node

    def visit_With(self, node: ast.With) -> Any:
        """Refuse 'with': __exit__ would run while the time-limit exception propagates."""
        self.error(node, "'with' statements are not allowed in scripts")
        return node


_GUARDED_BINOPS: dict[type[ast.operator], str] = {ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<"}


def _syntax_message(err: SyntaxError) -> str:
    """Turn a SyntaxError into 'line N: syntax error: ...'."""
    msg = f"syntax error: {err.msg}"
    return f"line {err.lineno}: {msg}" if err.lineno else msg


@functools.lru_cache(maxsize=512)
def _compile(source: str, mode: str) -> tuple[types.CodeType | None, str | None]:
    """Compile under the sandbox policy; return (code, None) or (None, first error).

    Errors are cached too: a bad gateway condition is evaluated again on every step.
    """
    code, message = _compile_uncached(source, mode)
    # Deploy reports and the task error view show one line per problem.
    return code, " ".join(message.split()) if message is not None else None


def _compile_uncached(source: str, mode: str) -> tuple[types.CodeType | None, str | None]:
    """The body of _compile, which only adds caching and one-line messages."""
    try:
        tree = ast.parse(source, filename=SCRIPT_FILENAME, mode=mode)
    except SyntaxError as err:
        return None, _syntax_message(err)
    except (MemoryError, RecursionError):
        # The parser gives up on very deep nesting with these rather than SyntaxError.
        return None, "the script is nested too deeply to be read"
    except ValueError as err:  # null bytes, on some Python versions
        return None, f"the script could not be read: {err}"
    try:
        if isinstance(tree, ast.Expression):
            result = compile_restricted_eval(tree, filename=SCRIPT_FILENAME, policy=SandboxPolicy)
        else:
            assert isinstance(tree, ast.Module)
            result = compile_restricted_exec(tree, filename=SCRIPT_FILENAME, policy=SandboxPolicy)
    except SyntaxError as err:
        return None, _syntax_message(err)
    except (MemoryError, RecursionError):
        # Deep nesting can exhaust the recursion of the AST walk or of compile().
        return None, "the script is nested too deeply to be compiled"
    except Exception as err:
        return None, f"the script could not be compiled: {type(err).__name__}: {err}"
    if result.errors:
        return None, str(result.errors[0])
    if result.code is None:  # pragma: no cover - RestrictedPython sets one or the other
        return None, "the script could not be compiled"
    return result.code, None


def check_source(source: str, mode: str) -> str | None:
    """Return None if ``source`` compiles under the sandbox, else a one-line error message."""
    if mode not in ("exec", "eval"):
        raise ValueError(f"mode must be 'exec' or 'eval', not {mode!r}")
    if not isinstance(source, str):
        return "the script must be text"
    try:
        _code, message = _compile(source, mode)
    except Exception as err:  # never raise: this runs over every expression at deploy time
        return f"the script could not be compiled: {type(err).__name__}"
    return message


def _compiled(source: str, mode: str) -> types.CodeType:
    """Return the compiled code or raise ScriptError with the first refusal."""
    if not isinstance(source, str):
        raise ScriptError("the script must be text")
    code, message = _compile(source, mode)
    if code is None:
        message = message or "the script could not be compiled"
        match = _LINE_PREFIX.match(message)
        raise ScriptError(message, line=int(match.group(1)) if match else None)
    return code


# --------------------------------------------------------------------------- run time


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "*": operator.mul,
    "**": operator.pow,
    "<<": operator.lshift,
}


def _safe_binop(op: str, left: Any, right: Any, apply: Callable[[Any, Any], Any] | None = None) -> Any:
    """Compute ``left op right`` for *, ** and << after refusing results that eat the memory.

    One function on purpose: every Python-level call costs a trace event while scripts run.
    """
    if isinstance(left, int) and isinstance(right, int):
        if op == "*":
            too_big = left.bit_length() + right.bit_length() > MAX_INT_BITS
        elif op == "**":
            # Negative exponents give floats, and |base| <= 1 stays small.
            too_big = right > 0 and abs(left) > 1 and math.log2(abs(left)) * right > MAX_INT_BITS
        else:
            too_big = left != 0 and left.bit_length() + right > MAX_INT_BITS
        if too_big:
            raise ScriptError(
                f"'{op}' would make a number over {MAX_INT_BITS:,} bits, which is not allowed in scripts"
            )
    elif op == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCE_TYPES) and isinstance(count, int):
                if len(seq) * count > MAX_SEQUENCE_ITEMS:
                    raise ScriptError(
                        f"repeating a sequence to more than {MAX_SEQUENCE_ITEMS:,} items "
                        "is not allowed in scripts"
                    )
                break
    # Floats overflow on their own; other types (timedelta * 2, ...) bring their own operators.
    return (apply or _BINOPS[op])(left, right)


# In-place forms keep Python's semantics ('lst += [1]' extends the same list).
_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
    "@=": operator.imatmul,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    """Implement 'name op= value' for RestrictedPython, with the same size checks as binops."""
    func = _INPLACE_OPS.get(op)
    if func is None:
        raise ScriptError(f"the operator {op!r} is not allowed in scripts")
    if op in ("*=", "**=", "<<="):
        return _safe_binop(op[:-1], target, value, func)
    return func(target, value)


def _safe_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    """pow() that applies the '**' size check (the three-argument form is bounded by mod)."""
    if mod is None:
        return _safe_binop("**", base, exp)
    return pow(base, exp, mod)


def _safe_range(*args: int) -> range:
    """range() capped at MAX_SEQUENCE_ITEMS items, so 'list(range(10**9))' is refused."""
    result = range(*args)
    try:
        size = len(result)
    except OverflowError:  # more items than fit in a C ssize_t
        size = MAX_SEQUENCE_ITEMS + 1
    if size > MAX_SEQUENCE_ITEMS:
        raise ScriptError(f"range() with more than {MAX_SEQUENCE_ITEMS:,} items is not allowed in scripts")
    return result


def _guarded_getattr(obj: Any, name: str) -> Any:
    """RestrictedPython's safer getattr, raising AttributeError for missing attributes.

    (Plain ``safer_getattr`` returns None for a missing attribute, which turns a typo
    into a confusing "'NoneType' object is not callable".)
    """
    try:
        return safer_getattr_raise(obj, name)
    except NotImplementedError:
        # safer_getattr refuses str.format / format_map and string.Formatter: format
        # strings can reach attributes that the compile-time checks never see.
        raise ScriptError(f"'.{name}' is not allowed in scripts; use an f-string instead") from None


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call with *args/**kwargs (RestrictedPython rewrites 'f(*a, **kw)' to this)."""
    return func(*args, **kwargs)


_GUARDS: dict[str, Any] = {
    "_getattr_": _guarded_getattr,
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    # print() output is collected into the script's own '_print' and then dropped.
    "_print_": PrintCollector,
    "_apply_": _apply,
    "_safe_binop_": _safe_binop,
}


def _build_builtins() -> dict[str, Any]:
    """RestrictedPython's safe builtins minus what we forbid, plus a curated set.

    Dropped from safe_builtins: its guarded setattr/delattr, id and __build_class__
    (classes are refused), and the BaseException family (see _ScriptTimeout).
    """
    result = {
        name: value
        for name, value in safe_builtins.items()
        if not name.startswith("_") and name not in FORBIDDEN_NAMES
    }
    result.update(
        {
            "len": len,
            "min": min,
            "max": max,
            "sum": sum,
            "abs": abs,
            "round": round,
            "sorted": sorted,
            "any": any,
            "all": all,
            "enumerate": enumerate,
            "zip": zip,
            "map": map,
            "filter": filter,
            "range": _safe_range,
            "list": list,
            "dict": dict,
            "set": set,
            "tuple": tuple,
            "str": str,
            "int": int,
            "float": float,
            "bool": bool,
            "isinstance": isinstance,
            "reversed": reversed,
            "divmod": divmod,
            "pow": _safe_pow,
        }
    )
    return result


_BUILTINS = _build_builtins()


def _run(code: types.CodeType, namespace: dict[str, Any], mode: str, time_limit: float) -> Any:
    """Run ``code`` in ``namespace`` with a time limit that works in any thread.

    A trace function counts line events of the script's own frames and looks at the
    clock every few of them; past the deadline it raises, which CPython delivers inside
    the script. Helpers (other file names) are not line-traced: they are trusted.
    """
    deadline = time.monotonic() + time_limit
    events = 0

    def trace_lines(frame: types.FrameType, event: str, arg: Any) -> Any:
        nonlocal events
        if event == "line":
            events += 1
            if events >= _CLOCK_CHECK_EVERY:
                events = 0
                if time.monotonic() > deadline:
                    raise _ScriptTimeout
        return trace_lines

    def trace_calls(frame: types.FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != SCRIPT_FILENAME:
            return None  # guards and helpers: trusted, and cheaper untraced
        if time.monotonic() > deadline:  # recursion can make many calls per line event
            raise _ScriptTimeout
        return trace_lines

    previous = sys.gettrace()
    sys.settrace(trace_calls)
    try:
        if mode == "eval":
            return eval(code, namespace)
        exec(code, namespace)
        return None
    except _ScriptTimeout:
        raise ScriptError(f"the script ran longer than the limit of {time_limit} s") from None
    finally:
        # Put back pytest's / coverage's / a debugger's tracer (CPython already removed
        # ours if it raised).
        sys.settrace(previous)


def _is_persistable(value: Any) -> bool:
    """False for values that must not stay in task data after a script."""
    return not (callable(value) or isinstance(value, (types.ModuleType, Iterator)))


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that runs code under the sandbox."""

    def __init__(self, helpers: Mapping[str, Any] | None = None, time_limit: float = 1.0) -> None:
        helper_map = dict(helpers or {})
        for name in helper_map:
            if name.startswith("_") or name in FORBIDDEN_NAMES or not name.isidentifier():
                raise ValueError(f"{name!r} cannot be used as a script helper name")
        if not time_limit > 0:
            raise ValueError("time_limit must be positive")
        super().__init__(helper_map)
        self.time_limit = float(time_limit)

    @property
    def helpers(self) -> dict[str, Any]:
        """The helper functions every script can call (SpiffWorkflow calls them globals)."""
        return self.globals

    def _namespace(
        self, context: Mapping[str, Any], external_context: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        namespace: dict[str, Any] = dict(self.globals)
        namespace.update(external_context or {})
        namespace.update(context)
        # Guards last: task data (even with '_' keys) must never replace them.
        namespace.update(_GUARDS)
        namespace["__builtins__"] = dict(_BUILTINS)
        return namespace

    def evaluate(
        self,
        expression: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Evaluate an expression over the task data; dates come back as ISO strings."""
        code = _compiled(expression, "eval")
        result = _run(code, self._namespace(context, external_context), "eval", self.time_limit)
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
        code = _compiled(script, "exec")
        namespace = self._namespace(context, external)
        # The script runs in a copy, so a script that fails half-way leaves the task data's
        # top-level names untouched (objects it mutated in place stay mutated).
        _run(code, namespace, "exec", self.time_limit)
        injected = set(self.globals) | set(external) | set(_GUARDS) | {"__builtins__"}
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
        context.clear()
        context.update(result)
        return True

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


class SandboxedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine running scripts in the sandbox and service tasks via ``services``."""

    def __init__(
        self,
        helpers: Mapping[str, Any] | None = None,
        time_limit: float = 1.0,
        services: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        super().__init__(environment=SandboxEnvironment(helpers, time_limit))
        self.services: dict[str, Callable[..., Any]] = dict(services or {})

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        """As PythonScriptEngine.evaluate, but the message also says why it failed."""
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:
            raise WorkflowTaskException(
                f"Error evaluating expression '{expression}': {_describe(err)}", task=task, exception=err
            ) from err

    def create_task_exec_exception(self, task: Any, script: str, err: Exception) -> Exception:
        """As the base class, plus compile-time line numbers and non-string error args."""
        if isinstance(err, SpiffWorkflowException):
            return super().create_task_exec_exception(task, script, err)
        try:
            line_number, error_line = self.get_error_line_number_and_content(script, err)
        except (IndexError, AttributeError):  # a '<string>' frame from some other code
            line_number, error_line = 0, ""
        if not line_number and isinstance(err, ScriptError) and err.details.get("line"):
            line_number = err.details["line"]
            lines = script.splitlines()
            error_line = lines[line_number - 1] if 0 < line_number <= len(lines) else ""
        return WorkflowTaskException(
            _describe(err), task=task, exception=err, line_number=line_number, error_line=error_line
        )

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
