"""Helpers for the portal's tests: a customer's browser-like client filling the request form."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

#: What a customer types on the repair request form.
CUSTOMER_REQUEST: dict[str, str] = {
    "customer_name": "华东人民医院设备科",
    "customer_phone": "021-5555-0199",
    "customer_address": "上海市徐汇区医学院路 12 号",
    "product_model": "XR-200",
    "serial_number": "SN-PORTAL-01",
    "fault_description": "开机后屏幕闪烁，无法进入主界面。",
}
#: A one-pixel PNG.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


@dataclass(frozen=True)
class Submitted:
    """The confirmation page of a submitted request."""

    number: str
    link: str
    token: str


def challenge_of(page: str) -> tuple[str, int]:
    """Return the signed challenge token of a request form and the right answer."""
    token = re.search(r'name="challenge_token" value="([^"]+)"', page)
    question = re.search(r"(\d+) \+ (\d+)", page)
    assert token and question, "the form has no challenge"
    return token.group(1), int(question.group(1)) + int(question.group(2))


def post_request(
    client: FlaskClient,
    fields: dict[str, Any] | None = None,
    photos: list[tuple[bytes, str]] | None = None,
    answer: str | None = None,
    path: str = "/portal/request/repair",
) -> TestResponse:
    """Open a request form and submit it (the right answer unless ``answer`` is given)."""
    form = client.get(path)
    assert form.status_code == 200, form.status_code
    token, right = challenge_of(form.text)
    data: dict[str, Any] = {
        **(CUSTOMER_REQUEST if fields is None else fields),
        "challenge_token": token,
        "challenge_answer": str(right) if answer is None else answer,
    }
    if photos:
        data["photos"] = [(io.BytesIO(content), name) for content, name in photos]
    return client.post(path, data=data, content_type="multipart/form-data")


def submitted(response: TestResponse) -> Submitted:
    """Read the case number and the private status link off the confirmation page."""
    assert response.status_code == 200, response.text
    number = re.search(r'id="case-number">([^<]+)<', response.text)
    link = re.search(r'id="status-link" href="([^"]+)"', response.text)
    assert number and link, response.text
    path = link.group(1).split("://", 1)[-1].split("/", 1)[-1]
    return Submitted(number.group(1), "/" + path, path.rsplit("/", 1)[-1])
