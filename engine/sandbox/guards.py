"""Run-time guards the compiled scripts call: sizes checked before the C call allocates.

The policy (``engine.sandbox.policy``) rewrites every arithmetic operator, every f-string
field, every ``except`` clause and every attribute read into calls of the functions here.
"""

from __future__ import annotations

import builtins
import math
import operator
import re
from collections.abc import Callable, Iterable
from typing import Any

from RestrictedPython import PrintCollector, safe_builtins
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence

from engine.errors import ScriptError
from engine.sandbox.attributes import (
    CONTAINERS,
    check_comparison_work,
    check_items,
    check_string_length,
    guarded_getattr,
)
from engine.sandbox.limits import current_budget, limit_hit
from engine.sandbox.simple import NeedsIsolation, nests, walks_far

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
        "bytes",
        "bytearray",
        "format",
        "iter",
        "next",
        # Limits are BaseExceptions that no script may name or catch.
        "BaseException",
        "BaseExceptionGroup",
        "ExceptionGroup",
        "KeyboardInterrupt",
        "SystemExit",
        "GeneratorExit",
    }
)

_SEQUENCES = (str, list, tuple)

_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
    "<<": operator.lshift,
    ">>": operator.rshift,
    "&": operator.and_,
    "|": operator.or_,
    "^": operator.xor,
    "@": operator.matmul,
}


def _int_too_big(bits: float, what: str) -> None:
    budget = current_budget()
    if bits > budget.limits.max_int_bits:
        raise limit_hit(budget.limits, "max_int_bits", f"{what} would make")


def _check_before(op: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be too large, before it is computed."""
    if isinstance(left, int) and isinstance(right, int):
        if op == "**" and right > 0 and abs(left) > 1:
            _int_too_big(math.log2(abs(left)) * right, "'**'")
        elif op == "<<" and left != 0:
            _int_too_big(left.bit_length() + right, "'<<'")
        elif op == "*":
            _int_too_big(left.bit_length() + right.bit_length(), "'*'")
        return
    if op == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and isinstance(count, int):
                size = len(seq) * max(count, 0)
                if isinstance(seq, str):
                    check_string_length(size, "'*'")
                else:
                    check_items(size, "'*'")
                return
    elif op == "+":
        if isinstance(left, str) and isinstance(right, str):
            check_string_length(len(left) + len(right), "'+'")
        elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
            check_items(len(left) + len(right), "'+'")
    elif op == "%" and isinstance(left, str):
        _check_percent_format(left, right)


def _check_after(op: str, result: Any) -> Any:
    if type(result) is int and op in ("+", "-", "|", "^", "&", "//", "%") and result.bit_length() > 64:
        _int_too_big(result.bit_length(), f"'{op}'")
    return result


def safe_binop(op: str, left: Any, right: Any, apply: Callable[[Any, Any], Any] | None = None) -> Any:
    """Apply a binary operator after refusing results that would be too large."""
    _check_before(op, left, right)
    return _check_after(op, (apply or _BINOPS[op])(left, right))


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


def inplacevar(op: str, target: Any, value: Any) -> Any:
    """Implement 'name op= value' with the same size checks as the binary operators."""
    func = _INPLACE_OPS.get(op)
    if func is None:
        raise ScriptError(f"the operator {op!r} is not allowed in scripts")
    return safe_binop(op[:-1], target, value, func)


# Conversion specifiers of printf-style formatting: widths and precisions are checked.
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")


def _check_percent_format(fmt: str, args: Any) -> None:
    count = 0
    for width, precision, _kind in _PERCENT_SPEC.findall(fmt):
        count += 1
        for number in (width, precision):
            if number == "*":
                raise ScriptError("'*' widths in '%' formatting are not allowed in scripts")
            if number:
                check_string_length(int(number[:12]), "a '%' format width")
    values = args if isinstance(args, tuple) else (args,)
    for value in values:
        check_render(value, "'%' formatting")
    check_string_length(len(fmt) + count * 32, "'%' formatting")


def check_render(value: Any, what: str) -> None:
    """Refuse turning a value into text when the text would be too long.

    Containers may hold one list many times over (``[[0] * 10**6] * 10**6``); their text is
    measured by walking them, with the walk itself bounded.
    """
    if isinstance(value, str):
        return
    if isinstance(value, int) and not isinstance(value, bool):
        _int_too_big(value.bit_length(), what)
        return
    if not isinstance(value, list | tuple | dict | set | frozenset):
        return
    budget = current_budget()
    limit = budget.limits.max_string
    length, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
            length += 2 + 4 * len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
            length += 2 + 2 * len(item)
        elif isinstance(item, str):
            length += len(item) + 2
        else:
            length += 24
        if length > limit:
            raise limit_hit(budget.limits, "max_string", f"{what} would make")
    budget.charge(length)


def format_value(value: Any, conversion: int, spec: str) -> str:
    """Format one f-string field, refusing widths and values that would make huge text."""
    check_render(value, "an f-string")
    if spec:
        for number in re.findall(r"\d+", spec):
            check_string_length(int(number[:12]), "an f-string width or precision")
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("s"):
        value = str(value)
    elif conversion == ord("a"):
        value = ascii(value)
    return format(value, spec)


def exception_type(kind: Any) -> Any:
    """Check what an ``except`` clause names: only subclasses of Exception may be caught.

    The sandbox's limits are BaseExceptions, so checking here — whatever expression computed
    the class — means no script can catch them. Called only while an exception is in flight,
    which is also the moment to put back a time limit a failing trace function lost.
    """
    budget = current_budget()
    if budget.tracer is not None:
        budget.tracer.reinstall()
    budget.check_clock()
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for item in kinds:
        if not (isinstance(item, type) and issubclass(item, Exception)):
            raise ScriptError("'except' may only name exception classes such as ValueError or Exception")
    return kind


def safe_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    """pow() with the '**' size check; the three-argument form is bounded by its cost."""
    if mod is None:
        return safe_binop("**", base, exp)
    if isinstance(exp, int) and isinstance(mod, int):
        bits = abs(exp).bit_length() * max(abs(mod).bit_length(), 1)
        _int_too_big(bits / 64, "pow() with a modulus")
    return pow(base, exp, mod)


def safe_range(*args: int) -> range:
    """range() with at most the limit's number of items."""
    result = range(*args)
    try:
        size = len(result)
    except OverflowError:  # more items than fit in a C ssize_t
        size = current_budget().limits.max_items + 1
    check_items(size, "range()")
    return result


def safe_compare(op: str, left: Any, right: Any) -> Any:
    """Compare after refusing comparisons of huge nested containers."""
    check_comparison_work(left, right, f"'{op}'")
    return _COMPARISONS[op](left, right)


def comparable(value: Any) -> Any:
    """Pass an operand of a chained comparison on, once comparing it could not run long."""
    check_comparison_work(value, value, "a comparison")
    return value


_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}


def _ordering(kind: Callable[..., Any]) -> Callable[..., Any]:
    """sorted(), min() and max(), refusing orderings of huge nested containers."""

    def order(*args: Any, **kwargs: Any) -> Any:
        items = args[0] if len(args) == 1 else args
        if isinstance(items, CONTAINERS):
            check_items(len(items), f"{getattr(kind, '__name__', 'it')}()")
            check_comparison_work(items, items, f"{getattr(kind, '__name__', 'it')}()")
        return kind(*args, **kwargs)

    return order


def _collection(kind: Callable[..., Any]) -> Callable[..., Any]:
    def build(*args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], range | list | tuple | set | frozenset | dict | str):
            check_items(len(args[0]), f"{getattr(kind, '__name__', 'it')}()")
        result = kind(*args, **kwargs)
        check_items(len(result), f"{getattr(kind, '__name__', 'it')}()")
        return result

    build.__name__ = getattr(kind, "__name__", "build")
    return build


def safe_str(*args: Any) -> str:
    """str() that measures what it renders first."""
    if args:
        check_render(args[0], "str()")
    return str(*args)


def safe_repr(value: Any) -> str:
    """repr() that measures what it renders first."""
    check_render(value, "repr()")
    return repr(value)


def safe_sum(items: Iterable[Any], start: Any = 0) -> Any:
    """sum() of numbers only (summing lists or strings is quadratic in C)."""
    if not isinstance(start, int | float):
        raise ScriptError("sum() adds numbers in scripts; join strings with ''.join(...)")
    total = start
    budget = current_budget()
    for count, item in enumerate(items):
        total = safe_binop("+", total, item)
        if count % 256 == 255:
            # This loop is trusted code the trace function does not see: look at the clock here.
            budget.check_clock()
    return total


def safe_round(number: Any, ndigits: Any = None) -> Any:
    """round() with at most 1,000 digits either side ('round(5, -10**7)' computes 10**10**7 in C)."""
    if isinstance(ndigits, int) and abs(ndigits) > 1000:
        raise ScriptError("round() takes at most 1,000 digits in scripts")
    return round(number, ndigits)


def apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call with *args/**kwargs (RestrictedPython rewrites 'f(*a, **kw)' to this)."""
    return func(*args, **kwargs)


class _QuietPrint(PrintCollector):
    """print() in a script measures what it prints and drops it."""

    def _call_print(self, *objects: Any, **kwargs: Any) -> None:
        for value in objects:
            check_render(value, "print()")


GUARDS: dict[str, Any] = {
    "_getattr_": guarded_getattr,
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": inplacevar,
    "_print_": _QuietPrint,
    "_apply_": apply,
    "_safe_binop_": safe_binop,
    "_safe_compare_": safe_compare,
    "_comparable_": comparable,
    "_format_value_": format_value,
    "_exception_type_": exception_type,
}


_HASHED = (dict, set, frozenset)


def simple_binop(op: str, left: Any, right: Any) -> Any:
    """safe_binop in a simple script: repeating or joining nested values sends it to a script process."""
    if op in ("+", "*") and (nests(left) or nests(right)):
        raise NeedsIsolation(op)
    if op == "%" and isinstance(left, str) and walks_far(right):
        raise NeedsIsolation(op)
    return safe_binop(op, left, right)


def simple_compare(op: str, left: Any, right: Any) -> Any:
    """safe_compare in a simple script: comparing or searching large containers goes to a script process."""
    # Scalars first, without a call more: most conditions compare a field with a constant.
    if not (isinstance(left, CONTAINERS) or isinstance(right, CONTAINERS)):
        return _COMPARISONS[op](left, right)
    if op in ("in", "not in") and isinstance(right, _HASHED):
        far = walks_far(left)  # a hash lookup: only the key is walked
    else:
        far = walks_far(left) or walks_far(right)
    if far:
        raise NeedsIsolation(op)
    return safe_compare(op, left, right)


def simple_comparable(value: Any) -> Any:
    """comparable in a simple script (an operand of a chained comparison)."""
    if walks_far(value):
        raise NeedsIsolation("comparison")
    return comparable(value)


def simple_format_value(value: Any, conversion: int, spec: str) -> str:
    """format_value in a simple script: rendering a large container goes to a script process."""
    if isinstance(value, CONTAINERS) and walks_far(value):
        raise NeedsIsolation("f-string")
    return format_value(value, conversion, spec)


def simple_str(*args: Any) -> str:
    """str() in a simple script: rendering a large container goes to a script process."""
    if args and walks_far(args[0]):
        raise NeedsIsolation("str()")
    return safe_str(*args)


def simple_repr(value: Any) -> str:
    """repr() in a simple script, with simple_str's rule."""
    if walks_far(value):
        raise NeedsIsolation("repr()")
    return safe_repr(value)


def simple_inplacevar(op: str, target: Any, value: Any) -> Any:
    """inplacevar in a simple script, with simple_binop's rule."""
    if op not in _INPLACE_OPS:
        raise ScriptError(f"the operator {op!r} is not allowed in scripts")
    # A new value, not the in-place operator: a simple script must leave its inputs unchanged.
    return simple_binop(op[:-1], target, value)


#: The guards of a simple script: GUARDS with the operators that could alias nested values checked.
SIMPLE_GUARDS: dict[str, Any] = {
    **GUARDS,
    "_safe_binop_": simple_binop,
    "_inplacevar_": simple_inplacevar,
    "_safe_compare_": simple_compare,
    "_comparable_": simple_comparable,
    "_format_value_": simple_format_value,
}


# The checked constructors stand in for the types in scripts ('list(...)', 'str(...)'), so
# isinstance() and issubclass() read them as the types they build.
_STANDS_FOR: dict[Any, type] = {}


def _as_types(kinds: Any) -> Any:
    if isinstance(kinds, tuple):
        return tuple(_as_types(kind) for kind in kinds)
    return _STANDS_FOR.get(kinds, kinds)


def safe_isinstance(value: Any, kinds: Any) -> bool:
    """isinstance(), with the checked constructors read as their types."""
    return isinstance(value, _as_types(kinds))


def safe_issubclass(kind: Any, kinds: Any) -> bool:
    """issubclass(), with the checked constructors read as their types."""
    return issubclass(_as_types(kind), _as_types(kinds))


def _build_builtins() -> dict[str, Any]:
    """RestrictedPython's safe builtins minus what we forbid, plus a curated set."""
    result = {
        name: value
        for name, value in safe_builtins.items()
        if not name.startswith("_") and name not in FORBIDDEN_NAMES
    }
    result.update(
        {
            "len": len,
            "min": _ordering(min),
            "max": _ordering(max),
            "sum": safe_sum,
            "abs": abs,
            "round": safe_round,
            "sorted": _ordering(_collection(sorted)),
            "any": any,
            "all": all,
            "enumerate": enumerate,
            "zip": zip,
            "map": map,
            "filter": filter,
            "range": safe_range,
            "list": _collection(list),
            "dict": _collection(dict),
            "set": _collection(set),
            "frozenset": _collection(frozenset),
            "tuple": _collection(tuple),
            "str": safe_str,
            "repr": safe_repr,
            "int": int,
            "float": float,
            "bool": bool,
            "isinstance": safe_isinstance,
            "issubclass": safe_issubclass,
            "reversed": reversed,
            "divmod": divmod,
            "pow": safe_pow,
        }
    )
    for name in ("list", "dict", "set", "frozenset", "tuple", "str"):
        _STANDS_FOR[result[name]] = getattr(builtins, name)
    return result


BUILTINS = _build_builtins()
#: The builtins of a simple script: rendering large containers goes to a script process.
SIMPLE_BUILTINS = {**BUILTINS, "str": simple_str, "repr": simple_repr}
_STANDS_FOR[simple_str] = str
