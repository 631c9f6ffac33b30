"""A signature form field: a real PNG and a typed name, or a refusal with a reason; nothing else."""

from __future__ import annotations

import base64
import json

import pytest

from engine.definitions.forms import parse_form, validate_submission
from engine.errors import FormInvalid
from engine.signatures.images import MAX_IMAGE_BYTES, BadSignatureImage, png_from_data_url, png_size
from processes.demo.signatures import refused, scribble_png, signed_by

FORM = parse_form(
    "voucher",
    json.dumps(
        {
            "type": "default",
            "components": [
                {"type": "textfield", "key": "work_done", "label": "维修内容"},
                {
                    "type": "signature",
                    "key": "customer_signature",
                    "label": "客户签字",
                    "validate": {"required": True},
                },
            ],
        }
    ),
)


def codes(data: dict[str, object]) -> list[str]:
    with pytest.raises(FormInvalid) as caught:
        validate_submission(FORM, data)
    return [m.code for m in caught.value.errors["customer_signature"]]


def test_a_drawn_signature_with_a_name_is_kept_as_png() -> None:
    clean = validate_submission(FORM, {"work_done": "换板", "customer_signature": signed_by("王建国")})
    given = clean["customer_signature"]
    assert given["name"] == "王建国" and not given["refused"]
    assert base64.b64decode(given["image"]) == scribble_png()
    assert png_size(scribble_png()) == (120, 40)


def test_a_refusal_needs_its_reason() -> None:
    clean = validate_submission(FORM, {"customer_signature": refused("客户拒绝签字")})
    assert clean["customer_signature"] == {
        "refused": True,
        "reason": "客户拒绝签字",
        "name": None,
        "image": None,
    }
    assert codes({"customer_signature": {"refused": "on", "reason": "  "}}) == ["form.signature_reason"]


def test_nothing_signed_a_missing_name_and_forged_images_are_refused() -> None:
    image = signed_by("x")["image"]
    assert codes({}) == ["form.signature_missing"]
    assert codes({"customer_signature": "yes"}) == ["form.signature_missing"]
    assert codes({"customer_signature": {"image": image, "name": " "}}) == ["form.signature_name"]
    assert codes({"customer_signature": {"image": image, "name": "名" * 65}}) == ["form.signature_name"]
    for forged in (
        "data:image/svg+xml;base64,PHN2Zz4=",
        "data:image/png;base64,not base64!",
        "data:image/png;base64," + base64.b64encode(b"GIF89a" + b"\0" * 40).decode(),
        "data:image/png;base64," + base64.b64encode(scribble_png()[:40]).decode(),  # cut short
    ):
        assert codes({"customer_signature": {"image": forged, "name": "王"}}) == ["form.signature_not_png"], (
            forged
        )
    big = "data:image/png;base64," + base64.b64encode(b"\0" * (MAX_IMAGE_BYTES + 1)).decode()
    assert codes({"customer_signature": {"image": big, "name": "王"}}) == ["form.signature_too_large"]


def test_a_png_too_small_to_hold_a_signature_is_refused() -> None:
    tiny = bytearray(scribble_png())
    tiny[16:24] = (1).to_bytes(4, "big") + (1).to_bytes(4, "big")
    with pytest.raises(BadSignatureImage):
        png_from_data_url("data:image/png;base64," + base64.b64encode(bytes(tiny)).decode())
