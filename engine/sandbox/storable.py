"""Which values case data can keep: what the workflow serializer writes as JSON, of bounded size."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

_SCALARS = (str, int, float, bool, type(None), datetime, timedelta)
_KEYS = (str, int, float, bool, type(None))


def unstorable_reason(value: Any, max_items: int) -> str | None:
    """Say why ``value`` cannot be kept in case data (its type or its size), or None if it can.

    The walk is iterative and counts every visit, so a list holding one big list many times
    over is refused rather than written out in full.
    """
    stack, visits = [value], 0
    while stack:
        item = stack.pop()
        visits += 1
        if visits > max_items:
            return f"it holds more than {max_items:,} values"
        if isinstance(item, _SCALARS):
            continue
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, Mapping):
            for key in item:
                if not isinstance(key, _KEYS):
                    return f"a key is a {type(key).__name__}"
            stack.extend(item.values())
        else:
            return f"it holds a {type(item).__name__}"
    return None


def first_unstorable(data: Mapping[str, Any], max_items: int) -> tuple[str, str] | None:
    """Return (variable, reason) for the first variable of ``data`` that cannot be stored."""
    for key, value in data.items():
        reason = unstorable_reason(value, max_items)
        if reason is not None:
            return str(key), reason
    return None
