"""What a script process sends back: JSON data only, never an object the process made.

A script process is not trusted (a C-level bug could hand an attacker its memory), so its
answers are read as JSON — no pickle, which can call any function while loading. Dates,
times, durations, tuples and sets are written as tagged objects and read back as those types.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, time, timedelta
from typing import Any

#: The tag key of a typed value; a NUL first keeps it apart from any key a form field would have.
TAG = "\x00afterflow"


class NotData(TypeError):
    """A value that cannot travel as data (a function, a module, an object of some class)."""


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {TAG: "time", "v": value.isoformat()}
    if isinstance(value, timedelta):
        return {TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": list(value)}
    if isinstance(value, set | frozenset):
        return {TAG: "set" if isinstance(value, set) else "frozenset", "v": list(value)}
    raise NotData(f"a {type(value).__name__} cannot be returned by a script")


def _preserve(value: Any) -> Any:
    """Tag tuples (json writes them as lists) and non-string dict keys, walking iteratively."""
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [_preserve(item) for item in value]}
    if isinstance(value, list):
        return [_preserve(item) for item in value]
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: _preserve(item) for key, item in value.items()}
        return {TAG: "dict", "v": [[_preserve(k), _preserve(v)] for k, v in value.items()]}
    if isinstance(value, set | frozenset):
        return {TAG: "set" if isinstance(value, set) else "frozenset", "v": [_preserve(i) for i in value]}
    return value


def dumps(value: Any) -> bytes:
    """Encode ``value`` as tagged JSON; raise NotData for anything that is not data."""
    try:
        return json.dumps(_preserve(value), default=_encode, ensure_ascii=False, allow_nan=True).encode()
    except (ValueError, RecursionError) as err:  # a value holding itself, or nested too deeply
        raise NotData(f"the value cannot be returned by a script: {err}") from None


def _decode(obj: dict[str, Any]) -> Any:
    kind = obj.get(TAG)
    if kind is None:
        return obj
    value: Any = obj["v"]
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "time":
        return time.fromisoformat(value)
    if kind == "timedelta":
        return timedelta(days=value[0], seconds=value[1], microseconds=value[2])
    if kind == "tuple":
        return tuple(value)
    if kind == "set":
        return set(value)
    if kind == "frozenset":
        return frozenset(value)
    if kind == "dict":
        return {key: item for key, item in value}
    raise ValueError(f"unknown tagged value {kind!r}")


def loads(data: bytes) -> Any:
    """Read tagged JSON written by ``dumps``."""
    return json.loads(data, object_hook=_decode, parse_constant=lambda name: _CONSTANTS[name])


_CONSTANTS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
