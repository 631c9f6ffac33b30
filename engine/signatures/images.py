"""A hand-drawn signature as the browser sends it: a ``data:image/png;base64,…`` URL, checked.

The server keeps only what is really a PNG of a sensible size; anything else (another type,
broken base64, bytes that are not a PNG, a picture too large) is refused with a reason code.
"""

from __future__ import annotations

import base64
import binascii
import struct

PNG_PREFIX = "data:image/png;base64,"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: The most bytes a signature image may have (a phone's canvas gives 5–40 KB).
MAX_IMAGE_BYTES = 256 * 1024
#: The largest canvas side accepted, in pixels.
MAX_SIDE = 4096
#: The smallest canvas side accepted: anything smaller cannot hold a signature.
MIN_SIDE = 16


class BadSignatureImage(ValueError):
    """The submitted image is not a signature afterflow keeps; ``code`` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def png_from_data_url(text: object) -> bytes:
    """The PNG bytes of a ``data:image/png;base64,`` URL, or `BadSignatureImage`."""
    if not isinstance(text, str) or not text.startswith(PNG_PREFIX):
        raise BadSignatureImage("signature_not_png")
    encoded = text[len(PNG_PREFIX) :]
    if len(encoded) > (MAX_IMAGE_BYTES * 4) // 3 + 8:
        raise BadSignatureImage("signature_too_large")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise BadSignatureImage("signature_not_png") from None
    if len(raw) > MAX_IMAGE_BYTES:
        raise BadSignatureImage("signature_too_large")
    width, height = png_size(raw)
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise BadSignatureImage("signature_not_png")
    return raw


def png_size(raw: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header chunk (the bytes must start like a PNG)."""
    if (
        len(raw) < 33
        or not raw.startswith(PNG_MAGIC)
        or raw[12:16] != b"IHDR"
        or not raw.endswith(b"IEND\xaeB`\x82")
    ):
        raise BadSignatureImage("signature_not_png")
    width, height = struct.unpack(">II", raw[16:24])
    return int(width), int(height)
