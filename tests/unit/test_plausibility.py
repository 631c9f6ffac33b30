"""Plausibility bounds of form fields: parsed from ``properties``, checked against the case data."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.definitions.forms import FormProblem, parse_form
from engine.definitions.forms.plausibility import implausible
from web.messages import translate_errors

SHANGHAI = ZoneInfo("Asia/Shanghai")


def form(*components: dict[str, Any]) -> Any:
    return parse_form("f", json.dumps({"id": "f", "type": "default", "components": list(components)}))


ARRIVAL = {
    "type": "datetime",
    "key": "arrived_at",
    "label": "实际到达时间",
    "subtype": "datetime",
    "properties": {
        "label_en": "Arrived at",
        "notBefore": "accepted_at",
        "notBeforeLabel": "报修受理时间",
        "notBeforeLabel_en": "the call",
        "notAfter": "now",
        "notAfterLabel": "当前时间",
        "notAfterLabel_en": "now",
    },
}
DEFECTS = {
    "type": "number",
    "key": "defect_quantity",
    "label": "不良数量",
    "properties": {"atMost": "quantity", "atMostLabel": "数量", "atMostLabel_en": "the quantity"},
}


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """A stand-in for the sandbox: names only (the web tests run the real one)."""
    return context[expression]


def check(
    definition: Any, values: dict[str, Any], case: dict[str, Any], lang: str = "zh"
) -> dict[str, list[str]]:
    return translate_errors(implausible(definition, values, case, evaluate, SHANGHAI), lang)


def test_bounds_are_read_from_the_properties_and_a_broken_expression_is_a_problem() -> None:
    (arrival,) = form(ARRIVAL).data_fields
    assert [(b.rule, b.expression, b.label_en) for b in arrival.bounds] == [
        ("notBefore", "accepted_at", "the call"),
        ("notAfter", "now", "now"),
    ]
    with pytest.raises(FormProblem):
        form({**DEFECTS, "properties": {"atMost": "quantity +"}})


def test_a_moment_outside_its_bounds_is_refused_by_name_with_the_bound() -> None:
    case = {"accepted_at": "2026-12-07T09:00:00+08:00", "now": datetime(2026, 12, 7, 12, 0, tzinfo=SHANGHAI)}
    definition = form(ARRIVAL)

    assert check(definition, {"arrived_at": "1900-01-01T09:00"}, case) == {
        "arrived_at": ["「实际到达时间」不能早于报修受理时间（2026-12-07 09:00）。"]
    }
    assert check(definition, {"arrived_at": "2026-12-08T09:00"}, case, "en") == {
        "arrived_at": ["“Arrived at” cannot be after now (2026-12-07 12:00)."]
    }
    assert check(definition, {"arrived_at": "2026-12-07T11:00"}, case) == {}


def test_a_quantity_above_another_is_refused_and_an_unknown_bound_does_not_apply() -> None:
    definition = form(DEFECTS)
    assert check(definition, {"defect_quantity": 50}, {"quantity": 5}) == {
        "defect_quantity": ["「不良数量」不能大于数量（5）。"]
    }
    assert check(definition, {"defect_quantity": 5}, {"quantity": 5}) == {}
    assert check(definition, {"defect_quantity": 50}, {}) == {}  # no quantity known: no bound


def test_a_date_field_compares_by_date() -> None:
    delivery = {
        "type": "datetime",
        "key": "delivery_date",
        "label": "交运日期",
        "subtype": "date",
        "properties": {"notAfter": "today", "notAfterLabel": "今天", "notAfterLabel_en": "today"},
    }
    definition = form(delivery)
    assert check(definition, {"delivery_date": "2026-12-07"}, {"today": date(2026, 12, 7)}) == {}
    assert check(definition, {"delivery_date": "2026-12-08"}, {"today": date(2026, 12, 7)}) == {
        "delivery_date": ["「交运日期」不能晚于今天（2026-12-07）。"]
    }
