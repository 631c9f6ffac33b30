"""Compile time: what a script may say, checked before anything is compiled or run.

``precheck`` walks the parsed tree first — size of the source, depth of nesting, size of
constants — so no script makes the compiler fold a huge constant or recurse without end.
``SandboxPolicy`` is RestrictedPython's policy plus afterflow's refusals and rewrites:
every operator, f-string field, attribute read and ``except`` clause becomes a call of a
run-time guard (``engine.sandbox.guards``).
"""

from __future__ import annotations

import ast
import functools
import re
import types
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, copy_locations

from engine.errors import ScriptError
from engine.sandbox.guards import FORBIDDEN_NAMES
from engine.sandbox.limits import SandboxLimits

# SpiffWorkflow's PythonScriptEngine.get_error_line_number_and_content looks for frames
# with this file name to report the failing line, so scripts are compiled under it.
SCRIPT_FILENAME = "<string>"

_LINE_PREFIX = re.compile(r"^line (\d+): ")
DEFAULT_LIMITS = SandboxLimits()

_OPERATOR_SYMBOLS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.MatMult: "@",
}


_COMPARE_SYMBOLS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}


def precheck(tree: ast.AST, limits: SandboxLimits) -> str | None:
    """Return the first reason to refuse a parsed script before compiling it, or None.

    Iterative, so a deeply nested tree cannot exhaust the recursion of the check itself.
    """
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            depth += 1
            if depth > limits.max_nesting:
                return _at(
                    node,
                    f"the expression is nested more than {limits.max_nesting} levels deep "
                    f"(setting {limits.setting('max_nesting')})",
                )
        else:
            depth = 0  # statements start afresh: only expressions nest without bound
        if isinstance(node, ast.Constant):
            problem = _constant_problem(node.value, limits)
            if problem:
                return _at(node, problem)
        stack.extend((child, depth) for child in ast.iter_child_nodes(node))
    return None


def _constant_problem(value: Any, limits: SandboxLimits) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > limits.max_int_bits:
        return (
            f"a number in the script is larger than {limits.max_int_bits:,} bits "
            f"(setting {limits.setting('max_int_bits')})"
        )
    if isinstance(value, str | bytes) and len(value) > limits.max_string:
        return f"a text in the script is longer than {limits.max_string:,} characters"
    return None


def _at(node: ast.AST, message: str) -> str:
    lineno = getattr(node, "lineno", None)
    return f"line {lineno}: {message}" if lineno else message


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
        """Route every binary operator through _safe_binop_, which refuses oversized results.

        With no BinOp left between constants, compile() has nothing to fold either.
        """
        node = self.node_contents_visit(node)
        call = ast.Call(
            func=ast.Name("_safe_binop_", ast.Load()),
            args=[ast.Constant(_OPERATOR_SYMBOLS[type(node.op)]), node.left, node.right],
            keywords=[],
        )
        copy_locations(call, node)
        return call

    def visit_Compare(self, node: ast.Compare) -> Any:
        """Route ==, <, in ... through _safe_compare_ (pairwise, keeping Python's chaining)."""
        node = self.node_contents_visit(node)
        if not any(type(op) in _COMPARE_SYMBOLS for op in node.ops):
            return node
        if len(node.ops) > 1:
            # A chain evaluates each operand once: measure each one instead of each pair.
            node.left = self._comparable(node.left)
            node.comparators = [self._comparable(c) for c in node.comparators]
            return node
        op = node.ops[0]
        if type(op) not in _COMPARE_SYMBOLS:
            return node
        call = ast.Call(
            func=ast.Name("_safe_compare_", ast.Load()),
            args=[ast.Constant(_COMPARE_SYMBOLS[type(op)]), node.left, node.comparators[0]],
            keywords=[],
        )
        copy_locations(call, node)
        return call

    @staticmethod
    def _comparable(operand: ast.expr) -> ast.expr:
        call = ast.Call(func=ast.Name("_comparable_", ast.Load()), args=[operand], keywords=[])
        copy_locations(call, operand)
        return call

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        """Format each f-string field through _format_value_, which checks widths first."""
        node = self.node_contents_visit(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        call = ast.Call(
            func=ast.Name("_format_value_", ast.Load()),
            args=[node.value, ast.Constant(node.conversion), spec],
            keywords=[],
        )
        copy_locations(call, node)
        copy_locations(spec, node)
        node.value, node.conversion, node.format_spec = call, -1, None
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> Any:
        """Check the class each 'except' names at run time; a bare 'except:' means Exception.

        Whatever expression computes the class, _exception_type_ lets only subclasses of
        Exception through, so the sandbox's limits (BaseExceptions) cannot be caught.
        """
        node = self.node_contents_visit(node)
        self.check_name(node, node.name)
        kind = node.type if node.type is not None else ast.Name("Exception", ast.Load())
        call = ast.Call(func=ast.Name("_exception_type_", ast.Load()), args=[kind], keywords=[])
        copy_locations(call, node)
        copy_locations(kind, node)
        node.type = call
        return node

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
        """Refuse 'finally': it would run while a time limit propagates, with tracing off."""
        if node.finalbody:
            self.error(node, "'finally' blocks are not allowed in scripts")
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


def _syntax_message(err: SyntaxError) -> str:
    """Turn a SyntaxError into 'line N: syntax error: ...'."""
    msg = f"syntax error: {err.msg}"
    return f"line {err.lineno}: {msg}" if err.lineno else msg


@functools.lru_cache(maxsize=512)
def compile_source(
    source: str, mode: str, limits: SandboxLimits = DEFAULT_LIMITS
) -> tuple[types.CodeType | None, str | None]:
    """Compile under the sandbox policy; return (code, None) or (None, first error).

    Errors are cached too: a bad gateway condition is evaluated again on every step.
    """
    code, message = _compile_uncached(source, mode, limits)
    # Deploy reports and the task error view show one line per problem.
    return code, " ".join(message.split()) if message is not None else None


def _compile_uncached(
    source: str, mode: str, limits: SandboxLimits
) -> tuple[types.CodeType | None, str | None]:
    """The body of compile_source, which only adds caching and one-line messages."""
    if len(source) > limits.max_source:
        return None, (
            f"the script is longer than {limits.max_source:,} characters "
            f"(setting {limits.setting('max_source')})"
        )
    try:
        tree = ast.parse(source, filename=SCRIPT_FILENAME, mode=mode)
    except SyntaxError as err:
        return None, _syntax_message(err)
    except (MemoryError, RecursionError):
        # The parser gives up on very deep nesting with these rather than SyntaxError.
        return None, "the script is nested too deeply to be read"
    except ValueError as err:  # null bytes, on some Python versions
        return None, f"the script could not be read: {err}"
    problem = precheck(tree, limits)
    if problem:
        return None, problem
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


def check_source(source: str, mode: str, limits: SandboxLimits | None = None) -> str | None:
    """Return None if ``source`` compiles under the sandbox, else a one-line error message."""
    if mode not in ("exec", "eval"):
        raise ValueError(f"mode must be 'exec' or 'eval', not {mode!r}")
    if not isinstance(source, str):
        return "the script must be text"
    try:
        _code, message = compile_source(source, mode, limits or DEFAULT_LIMITS)
    except Exception as err:  # never raise: this runs over every expression at deploy time
        return f"the script could not be compiled: {type(err).__name__}"
    return message


def compiled(source: str, mode: str, limits: SandboxLimits | None = None) -> types.CodeType:
    """Return the compiled code or raise ScriptError with the first refusal."""
    if not isinstance(source, str):
        raise ScriptError("the script must be text")
    code, message = compile_source(source, mode, limits or DEFAULT_LIMITS)
    if code is None:
        message = message or "the script could not be compiled"
        match = _LINE_PREFIX.match(message)
        raise ScriptError(message, line=int(match.group(1)) if match else None)
    return code
