"""Schemathesis over the OpenAPI document: every operation, no 5xx, every answer matches its schema.

Run as sup1 (a supervisor and manager), so the operations go past their permission checks into
the engine, on the deployed diagrams with one repair case in the database. Bounded to a few
examples per operation so the whole file runs in about a minute.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.web.api_client import Api
from tests.web.conftest import Web

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def test_every_operation_answers_within_its_schema(app: Flask, web: Web, api: Api) -> None:
    web.start_repair(web.client("cs1"))
    headers = api.headers(api.token("sup1"))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    answered: dict[str, set[int]] = {}
    for operation in operations:
        _check(operation, headers, answered.setdefault(f"{operation.method.upper()} {operation.path}", set()))
    assert all(answered.values()) and len(answered) == len(operations)
    for listing in ("GET /api/v1/tasks", "GET /api/v1/cases", "GET /api/v1/process-definitions"):
        assert 200 in answered[listing], answered[listing]


def _check(operation: Any, headers: dict[str, str], statuses: set[int]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def answers_within_schema(case: Any) -> None:
        statuses.add(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

    answers_within_schema()
