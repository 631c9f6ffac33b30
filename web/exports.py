"""CSV and XLSX downloads whose cells a spreadsheet program shows as text and never runs.

A customer name such as ``=cmd|' /C calc'!A0`` would be a live formula in Excel or LibreOffice.
Following OWASP's CSV-injection guidance, every text cell that begins with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets a leading apostrophe, and CSV fields are all quoted
(embedded quotes doubled). Numbers and dates stay numbers and dates: they cannot carry a formula.
Every export of the app goes through this module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

#: The first characters that make a spreadsheet program read a cell as a formula (OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def inert(value: Any) -> Any:
    """Return the cell value so that no spreadsheet program reads it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def inert_row(row: Iterable[Any]) -> list[Any]:
    """Return a row with every cell made inert."""
    return [inert(value) for value in row]


def append_row(sheet: Worksheet, row: Iterable[Any]) -> None:
    """Append a row to an XLSX sheet with every text cell stored as text, never as a formula."""
    sheet.append(inert_row(row))
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            # openpyxl would store any string that still starts with "=" as a formula.
            cell.data_type = "s"


def csv_text(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """Return a CSV document (with a BOM, so spreadsheet programs read Chinese right) of inert cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(inert_row(header))
    for row in rows:
        writer.writerow(inert_row(row))
    return "\ufeff" + buffer.getvalue()


def xlsx_bytes(book: Workbook) -> bytes:
    """Return a workbook as the bytes of an .xlsx file."""
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_download(header: Sequence[Any], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    """Answer a CSV file download of inert cells."""
    return Response(
        csv_text(header, rows),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


def xlsx_download(book: Workbook, filename: str) -> Response:
    """Answer an XLSX file download (its rows written with ``append_row``)."""
    return Response(
        xlsx_bytes(book),
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )
