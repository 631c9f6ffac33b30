"""Plausibility of a submission against the case: dates not before or after a moment, numbers bounded.

A form field may carry bounds in its ``properties``, each an expression over the case data and
the submitted values (evaluated in the sandbox): ``notBefore`` / ``notAfter`` for dates and
date-times, ``atLeast`` / ``atMost`` for numbers, each with ``<rule>Label`` and ``<rule>Label_en``
saying what the bound is ("报修受理时间" / "the call"). A bound that cannot be computed (a
look-up that found nothing) does not apply. A refusal is a message naming the field, the bound
and its value, in the user's language; nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from engine.definitions.forms.model import FormDefinition, FormField
from engine.user_messages import Message

#: Property name → (error code, whether the bound is a lower one, the field types it applies to).
RULES: dict[str, tuple[str, bool, frozenset[str]]] = {
    "notBefore": ("not_before", True, frozenset({"datetime"})),
    "notAfter": ("not_after", False, frozenset({"datetime"})),
    "atLeast": ("below", True, frozenset({"number"})),
    "atMost": ("above", False, frozenset({"number"})),
}
#: A date-time "not after now" allows this much for clocks and typing.
GRACE = timedelta(minutes=10)

Evaluate = Callable[[str, dict[str, Any]], Any]


@dataclass(frozen=True)
class Bound:
    """One plausibility rule of a field: which, its expression, and what the bound is called."""

    rule: str
    expression: str
    label_zh: str
    label_en: str


def field_bounds(field: FormField, properties: Mapping[str, Any]) -> tuple[Bound, ...]:
    """The bounds a field's properties declare (those that apply to its type)."""
    found: list[Bound] = []
    for rule, (_code, _lower, types) in RULES.items():
        expression = properties.get(rule)
        if field.type in types and isinstance(expression, str) and expression.strip():
            label = str(properties.get(f"{rule}Label") or "")
            found.append(
                Bound(rule, expression.strip(), label, str(properties.get(f"{rule}Label_en") or label))
            )
    return tuple(found)


def implausible(
    form: FormDefinition,
    values: Mapping[str, Any],
    case_data: Mapping[str, Any],
    evaluate: Evaluate,
    timezone: tzinfo,
) -> dict[str, list[Message]]:
    """The fields whose submitted value lies outside a bound, each with its message."""
    errors: dict[str, list[Message]] = {}
    context = {**case_data, **values}
    for field in form.fields:
        value = values.get(field.key)
        if value in (None, "") or not field.bounds:
            continue
        for bound in field.bounds:
            try:
                limit = evaluate(bound.expression, dict(context))
            except Exception:  # a bound that cannot be computed does not apply
                continue
            message = _check(field, bound, value, limit, timezone)
            if message is not None:
                errors.setdefault(field.key, []).append(message)
    return errors


def _check(field: FormField, bound: Bound, value: Any, limit: Any, timezone: tzinfo) -> Message | None:
    code, lower, _types = RULES[bound.rule]
    if limit is None or limit == "":
        return None
    try:
        if field.type == "number":
            low_ok = float(value) >= float(limit) if lower else float(value) <= float(limit)
            shown = _number(limit)
        else:
            moment, limit_moment, by_date = _moments(field, value, limit, timezone)
            if by_date:
                low_ok = (
                    moment.date() >= limit_moment.date() if lower else moment.date() <= limit_moment.date()
                )
                shown = limit_moment.date().isoformat()
            else:
                low_ok = moment >= limit_moment - GRACE if lower else moment <= limit_moment + GRACE
                shown = limit_moment.strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return None
    if low_ok:
        return None
    return Message(
        f"form.{code}",
        {
            "field": {"zh": field.label_zh, "en": field.label_en},
            "what": {"zh": bound.label_zh, "en": bound.label_en} if bound.label_zh else "",
            "bound": shown,
        },
    )


def _number(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else str(number)


def _moments(field: FormField, value: Any, limit: Any, timezone: tzinfo) -> tuple[datetime, datetime, bool]:
    """The submitted value and the bound as moments in the company's timezone; compare by date?"""
    by_date = field.subtype == "date" or (isinstance(limit, date) and not isinstance(limit, datetime))
    if isinstance(limit, str) and len(limit) == 10:
        by_date = True
    return _moment(value, timezone), _moment(limit, timezone), by_date


def _moment(value: Any, timezone: tzinfo) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return value.astimezone(timezone) if value.tzinfo else value.replace(tzinfo=timezone)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone)
    raise TypeError(f"not a moment: {value!r}")
