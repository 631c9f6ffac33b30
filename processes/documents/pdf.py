"""Turn a rendered document (simple HTML) into a PDF with the Chinese font embedded and subset.

fpdf2 lays the HTML out (headings, paragraphs, tables, lists, images) and embeds only the glyphs
the document uses (a TrueType subset, ``FontFile2``), so a page of Chinese stays a few dozen
kilobytes. The font comes from the npm package ``@expo-google-fonts/noto-sans-sc`` (Noto Sans SC,
SIL Open Font License 1.1, which allows embedding); ``make setup`` copies it beside the other
front-end assets. Images may only be inline ``data:`` URIs (a signature): a template cannot make
the server read a file or fetch a URL.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.errors import FPDFException

from processes.documents.font_faces import face_for

FAMILY = "NotoSansSC"
REGULAR = "NotoSansSC-Regular.ttf"
BOLD = "NotoSansSC-Bold.ttf"
IMAGE_PREFIXES = ("data:image/png;base64,", "data:image/jpeg;base64,")


class FontMissing(RuntimeError):
    """The Chinese font is not installed (``make setup`` copies it from npm)."""


class DocumentLayoutError(ValueError):
    """A rendered template holds HTML the PDF layout cannot place (e.g. markup nested in a table cell)."""


@dataclass(frozen=True)
class PdfFont:
    """Where the regular and bold faces of the embedded font are."""

    folder: Path

    def check(self) -> None:
        """Refuse to print without the font rather than fall back to one without Chinese glyphs."""
        for name in (REGULAR, BOLD):
            if not (self.folder / name).is_file():
                raise FontMissing(f"the PDF font {self.folder / name} is missing; run `make setup`")


class _DocumentPdf(FPDF):
    """An A4 page with page numbers; images only from inline data."""

    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 16, 18)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        self.cell(0, 6, f"{self.footer_text}    {self.page_no()}/{{nb}}", align="C")

    def image(self, name: Any, *args: Any, **kwargs: Any) -> Any:
        return super().image(_inline_image(name), *args, **kwargs)


def _inline_image(name: Any) -> io.BytesIO:
    """Only a base64 ``data:`` URI is an image here; anything else (a path, a URL) is refused."""
    if isinstance(name, str) and name.startswith(IMAGE_PREFIXES):
        try:
            return io.BytesIO(base64.b64decode(name.split(",", 1)[1], validate=True))
        except (binascii.Error, ValueError):
            raise DocumentLayoutError("an image in the document is not valid base64 data")
    raise DocumentLayoutError("a document image must be inline data (data:image/png;base64,...)")


def html_to_pdf(html: str, font: PdfFont, title: str, footer_text: str, issued_at: Any = None) -> bytes:
    """Lay out a rendered document as an A4 PDF with the font embedded; return its bytes."""
    font.check()
    pdf = _DocumentPdf(footer_text)
    pdf.set_title(title)
    pdf.set_creator("afterflow")
    pdf.set_producer("afterflow")
    if issued_at is not None:
        pdf.set_creation_date(issued_at)
    text = html + footer_text + title
    pdf.add_font(FAMILY, "", str(face_for(font.folder / REGULAR, text)))
    pdf.add_font(FAMILY, "B", str(face_for(font.folder / BOLD, text)))
    pdf.add_page()
    pdf.set_font(FAMILY, size=10.5)
    try:
        pdf.write_html(html, font_family=FAMILY, table_line_separators=True)
    except DocumentLayoutError:
        raise
    except (NotImplementedError, FPDFException, ValueError, KeyError) as error:
        # The layout engine's own words (e.g. "Unsupported nested HTML tags inside <td> element").
        raise DocumentLayoutError(str(error))
    return bytes(pdf.output())
