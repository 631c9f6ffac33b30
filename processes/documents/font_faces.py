"""A smaller face of the embedded font for the common characters, made once at set-up.

Reading a 10 MB CJK face costs fpdf2 over a second per document. ``make setup`` therefore also
writes ``NotoSansSC-*-common.ttf``: the same font cut to ASCII, punctuation, full-width forms
and the 7,000-odd characters of GB 2312, about a fifth of the size and several times faster to
read. A document whose text stays within those characters is set in the smaller face; one with
a rarer character (a name written with 堃 or 喆) uses the full face. Either way only the glyphs
used end up in the PDF.

    python -m processes.documents.font_faces web/static/vendor/fonts
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

SUFFIX = "-common.ttf"


def common_characters() -> set[int]:
    """ASCII, general and CJK punctuation, full-width forms, and every character of GB 2312."""
    chars = set(range(0x20, 0x7F)) | set(range(0x2000, 0x2070)) | set(range(0x3000, 0x3040))
    chars |= set(range(0xFF00, 0xFFF0)) | {0xA0, 0xB7, 0xD7, 0xF7}
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return chars


def common_face_of(face: Path) -> Path:
    """Where the common-character face of a font face is kept."""
    return face.with_name(face.stem + SUFFIX)


def write_common_face(face: Path) -> Path:
    """Cut a face to the common characters and write it beside the full one (atomically)."""
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False
    font = TTFont(face)
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes=common_characters())
    cutter.subset(font)
    target = common_face_of(face)
    partial = target.with_suffix(".part")
    font.save(partial)
    partial.replace(target)
    return target


@cache
def covered(face: Path) -> frozenset[int]:
    """The characters a (common) face has glyphs for."""
    font = TTFont(face, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def face_for(face: Path, text: str) -> Path:
    """The common face when it exists and holds every character of ``text``, else the full face."""
    common = common_face_of(face)
    if common.is_file() and {ord(c) for c in text if not c.isspace()} <= covered(common):
        return common
    return face


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else Path("web/static/vendor/fonts")
    for face in sorted(folder.glob("NotoSansSC-*.ttf")):
        if face.name.endswith(SUFFIX):
            continue
        target = common_face_of(face)
        if target.is_file() and target.stat().st_mtime >= face.stat().st_mtime:
            continue
        print(f"{write_common_face(face)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
