"""Which attributes a script may read, per type: an allowlist, so nothing unforeseen gets through.

A blocklist let ``Exception.mro()`` reach ``BaseException`` and catch the time limit; here a
type that is not listed offers no attribute at all (classes, functions, modules, generators,
frames), and the methods that can build large values come wrapped with a size check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from engine.errors import ScriptError
from engine.sandbox.limits import current_budget, limit_hit

_STR_PLAIN = frozenset(
    {
        "capitalize",
        "casefold",
        "count",
        "endswith",
        "find",
        "index",
        "isalnum",
        "isalpha",
        "isascii",
        "isdecimal",
        "isdigit",
        "isidentifier",
        "islower",
        "isnumeric",
        "isprintable",
        "isspace",
        "istitle",
        "isupper",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "rfind",
        "rindex",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "swapcase",
        "title",
        "upper",
    }
)
_DATE = frozenset(
    {"year", "month", "day", "weekday", "isoweekday", "isoformat", "isocalendar", "toordinal", "replace"}
)
_TIME = frozenset({"hour", "minute", "second", "microsecond", "isoformat", "replace"})

ALLOWED_ATTRIBUTES: dict[type, frozenset[str]] = {
    str: _STR_PLAIN,
    list: frozenset(
        {"append", "clear", "copy", "count", "index", "insert", "pop", "remove", "reverse", "sort"}
    ),
    tuple: frozenset({"count", "index"}),
    dict: frozenset({"clear", "copy", "get", "items", "keys", "pop", "popitem", "setdefault", "values"}),
    set: frozenset(
        {
            "add",
            "clear",
            "copy",
            "difference",
            "discard",
            "intersection",
            "isdisjoint",
            "issubset",
            "issuperset",
            "pop",
            "remove",
            "symmetric_difference",
            "union",
        }
    ),
    frozenset: frozenset(
        {"copy", "difference", "intersection", "isdisjoint", "issubset", "issuperset", "union"}
    ),
    int: frozenset({"bit_length", "real", "imag", "numerator", "denominator"}),
    bool: frozenset({"real"}),
    float: frozenset({"is_integer", "real", "imag"}),
    Decimal: frozenset({"is_nan", "is_zero", "is_signed", "quantize"}),
    date: _DATE | {"strftime"},
    datetime: _DATE | _TIME | {"date", "time", "timestamp", "tzinfo", "strftime"},
    time: _TIME | {"strftime"},
    timedelta: frozenset({"days", "seconds", "microseconds", "total_seconds"}),
}

# Methods that can make a value far larger than their inputs: looked up through a wrapper.
_WRAPPED: dict[tuple[type, str], Callable[[Any], Callable[..., Any]]] = {}


def _wraps(kind: type, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(factory: Callable[..., Any]) -> Callable[..., Any]:
        _WRAPPED[(kind, name)] = factory
        return factory

    return register


def check_string_length(length: int, what: str) -> None:
    """Refuse before allocating a string longer than the limit; count it against memory."""
    budget = current_budget()
    if length > budget.limits.max_string:
        raise limit_hit(budget.limits, "max_string", f"{what} would make")
    budget.charge(length)


def check_items(count: int, what: str) -> None:
    """Refuse before making a collection with more items than the limit; count it against memory."""
    budget = current_budget()
    if count > budget.limits.max_items:
        raise limit_hit(budget.limits, "max_items", f"{what} would make")
    budget.charge(count * 8)


CONTAINERS = (list, tuple, dict, set, frozenset)


def check_comparison_work(left: Any, right: Any, what: str) -> None:
    """Refuse comparing containers of containers whose comparison would run long in C.

    Comparing ``[[0] * 10**5] * 10**5`` with a copy of itself walks 10**10 items inside one C
    call, which no time limit can interrupt; the work is estimated one level deep first.
    """
    if not (isinstance(left, CONTAINERS) and isinstance(right, CONTAINERS)):
        return
    work = 0
    for side in (left, right):
        if len(side) > 64:
            work += sum(len(item) if isinstance(item, (*CONTAINERS, str)) else 1 for item in side)
    budget = current_budget()
    if work > budget.limits.max_items:
        raise limit_hit(budget.limits, "max_items", f"{what} would compare")


def _width(value: Any, what: str) -> Any:
    if isinstance(value, int):
        check_string_length(value, what)
    return value


@_wraps(str, "join")
def _join(s: str) -> Callable[..., str]:
    def join(items: Iterable[Any]) -> str:
        parts = list(items)
        check_items(len(parts), "join()")
        try:
            total = sum(map(len, parts))  # in C: measuring must not cost more than joining
        except TypeError:
            total = 0  # not all strings: join() itself refuses them
        check_string_length(total + len(s) * max(len(parts) - 1, 0), "join()")
        return s.join(parts)

    return join


def _padding(s: str, name: str) -> Callable[..., str]:
    method = getattr(s, name)

    def pad(width: int, *args: Any) -> str:
        _width(width, f"{name}()")
        return str(method(width, *args))

    return pad


def _padding_factory(name: str) -> Callable[[Any], Callable[..., str]]:
    return lambda s: _padding(s, name)


for _name in ("ljust", "rjust", "center", "zfill"):
    _WRAPPED[(str, _name)] = _padding_factory(_name)


@_wraps(str, "expandtabs")
def _expandtabs(s: str) -> Callable[..., str]:
    def expandtabs(tabsize: int = 8) -> str:
        _width(len(s) + s.count("\t") * max(int(tabsize), 0), "expandtabs()")
        return s.expandtabs(tabsize)

    return expandtabs


@_wraps(str, "replace")
def _replace(s: str) -> Callable[..., str]:
    def replace(old: str, new: str, count: int = -1) -> str:
        if isinstance(old, str) and isinstance(new, str):
            hits = s.count(old) if old else len(s) + 1
            if isinstance(count, int) and count >= 0:
                hits = min(hits, count)
            check_string_length(len(s) + hits * (len(new) - len(old)), "replace()")
        return s.replace(old, new, count)

    return replace


@_wraps(str, "format")
def _no_format(s: str) -> Callable[..., str]:
    raise ScriptError("'.format' is not allowed in scripts; use an f-string instead")


_WRAPPED[(str, "format_map")] = _no_format


@_wraps(list, "extend")
def _extend(lst: list[Any]) -> Callable[..., None]:
    def extend(items: Iterable[Any]) -> None:
        more = list(items)
        check_items(len(lst) + len(more), "extend()")
        lst.extend(more)

    return extend


@_wraps(dict, "update")
def _update(d: dict[Any, Any]) -> Callable[..., None]:
    def update(*args: Any, **kwargs: Any) -> None:
        d.update(*args, **kwargs)
        check_items(len(d), "update()")

    return update


@_wraps(set, "update")
def _set_update(s: set[Any]) -> Callable[..., None]:
    def update(*others: Iterable[Any]) -> None:
        s.update(*others)
        check_items(len(s), "update()")

    return update


@_wraps(list, "sort")
def _sort(lst: list[Any]) -> Callable[..., None]:
    def sort(*, key: Any = None, reverse: bool = False) -> None:
        check_comparison_work(lst, lst, "sort()")
        lst.sort(key=key, reverse=reverse)

    return sort


# strftime hands its format to the C library, where '%1000000000Y' pads the year that wide.
_STRFTIME_WIDTH = re.compile(r"%[-_0^#]*\d")


def _strftime(value: date | time) -> Callable[..., str]:
    def strftime(fmt: str) -> str:
        if not isinstance(fmt, str) or _STRFTIME_WIDTH.search(fmt):
            raise ScriptError("strftime() formats may not carry widths in scripts")
        check_string_length(len(fmt) * 8, "strftime()")
        return value.strftime(fmt)

    return strftime


for _kind in (date, datetime, time):
    _WRAPPED[(_kind, "strftime")] = _strftime


def guarded_getattr(obj: Any, name: str, default: Any = None) -> Any:
    """Return ``obj.name`` if the allowlist of ``type(obj)`` has it; refuse anything else."""
    if not isinstance(name, str):
        raise ScriptError("attribute names must be strings")
    kind = type(obj)
    allowed = ALLOWED_ATTRIBUTES.get(kind)
    if allowed is None:
        # Subclasses of the listed value types (a helper's datetime subclass) get the base's list.
        for base, names in ALLOWED_ATTRIBUTES.items():
            if isinstance(obj, base) and not isinstance(obj, type):
                kind, allowed = base, names
                break
    if allowed is None or (name not in allowed and (kind, name) not in _WRAPPED):
        what = kind.__name__ if isinstance(kind, type) else "this value"
        raise ScriptError(f"'.{name}' of a {what} is not available in scripts")
    wrapper = _WRAPPED.get((kind, name))
    if wrapper is not None:
        return wrapper(obj)
    return getattr(obj, name)
