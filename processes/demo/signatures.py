"""A customer's signature as the browser sends it, for demo cases: a small PNG of a scribble."""

from __future__ import annotations

import base64
import functools
import struct
import zlib

WIDTH, HEIGHT = 120, 40


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@functools.cache
def scribble_png() -> bytes:
    """A grey-scale PNG with a wavy stroke across it."""
    rows = []
    for y in range(HEIGHT):
        line = bytearray(b"\xff" * WIDTH)
        for x in range(WIDTH):
            if abs(y - (HEIGHT // 2 + ((x // 6) % 5 - 2) * 3)) <= 1:
                line[x] = 0
        rows.append(b"\x00" + bytes(line))
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _chunk(b"IEND", b"")
    )


def signed_by(name: str) -> dict[str, str]:
    """A signature field's submission: the drawn image and the signer's typed name."""
    return {
        "image": "data:image/png;base64," + base64.b64encode(scribble_png()).decode("ascii"),
        "name": name,
    }


def refused(reason: str) -> dict[str, str]:
    """A signature field's submission when the customer declines to sign."""
    return {"refused": "on", "reason": reason}
