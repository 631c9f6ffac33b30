"""Turn submitted values (often HTML form text) into numbers, booleans, dates and times."""

from __future__ import annotations

import math
from datetime import date, datetime, time
from typing import Any

from engine.definitions.forms.model import _FALSE_STRINGS, _TRUE_STRINGS, Number


def _to_number(value: Any) -> Number:
    """An int or finite float from a number or numeric text; raise ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(value)
        return value
    if isinstance(value, str):
        text = value.strip()
        if "_" in text:
            raise ValueError(value)
        try:
            return int(text)
        except ValueError:
            number = float(text)
        if not math.isfinite(number):
            raise ValueError(value)
        return number
    raise ValueError(value)


def _to_bool(value: Any) -> bool:
    """A bool from a bool, 0/1, or HTML checkbox text ("on", "true", "1", ...); raise ValueError otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE_STRINGS:
            return True
        if text in _FALSE_STRINGS:
            return False
    raise ValueError(value)


def _to_temporal(value: Any, subtype: str) -> str:
    """An ISO 8601 date, time or date-time string; raise ValueError if ``value`` is not one."""
    if subtype == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, str):
            return date.fromisoformat(value.strip()).isoformat()
        raise ValueError(value)
    if subtype == "time":
        if isinstance(value, time):
            parsed_time = value
        elif isinstance(value, str):
            parsed_time = time.fromisoformat(value.strip())
        else:
            raise ValueError(value)
        plain = parsed_time.second == 0 and parsed_time.microsecond == 0
        return parsed_time.isoformat(timespec="minutes" if plain else "auto")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) <= 10:  # a date alone is not a date and time
            raise ValueError(value)
        moment = datetime.fromisoformat(text)
    else:
        raise ValueError(value)
    plain = moment.second == 0 and moment.microsecond == 0
    return moment.isoformat(timespec="minutes" if plain else "auto")
