"""The smaller common-character face: used when it holds every character, never when one is missing."""

from __future__ import annotations

import io

import pypdf

from processes.documents.font_faces import common_characters, common_face_of, covered, face_for
from processes.documents.pdf import REGULAR, html_to_pdf
from web.documents import pdf_font

FULL = pdf_font().folder / REGULAR


def test_gb2312_text_is_set_in_the_common_face_and_a_rarer_character_in_the_full_one() -> None:
    common = common_face_of(FULL)
    assert common.is_file(), "make setup writes the common face"
    assert len(common_characters()) > 7000 and ord("监") in covered(common)
    assert face_for(FULL, "监护仪间歇性黑屏，RO-20261122-0001（第 1 版）") == common
    assert ord("堃") not in covered(common)
    assert face_for(FULL, "签字人：王堃") == FULL


def test_a_document_with_a_character_outside_gb2312_still_prints_it() -> None:
    content = html_to_pdf("<p>签字人：王堃、陈喆</p>", pdf_font(), "t", "f")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)
    assert "王堃" in text and "陈喆" in text
