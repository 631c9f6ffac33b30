"""Sales-ledger import against a real database: every row checked, all rows or none imported."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from engine import clock
from engine.runtime import Engine
from processes import ledger_import
from processes.ledger_import import ImportReport, LedgerImportError, RowError, import_ledger
from processes.records import Customer, SalesLedgerEntry
from tests.conftest import ROOT

SAMPLE = ROOT / "tests" / "fixtures" / "ledger" / "sample_ledger.csv"

HEADER = [
    "产品名称",
    "规格型号",
    "数量",
    "单价",
    "金额",
    "批号/序列号",
    "有效期",
    "销售日期",
    "购货单位",
    "单据号",
    "冷链",
]


def good_row(**changes: Any) -> list[Any]:
    row = {
        "产品名称": "阿莫西林胶囊",
        "规格型号": "0.25g×24粒",
        "数量": "10",
        "单价": "12.60",
        "金额": "126.00",
        "批号/序列号": "AMX-2601",
        "有效期": "2028-01-31",
        "销售日期": "2026-01-05",
        "购货单位": "仁济堂大药房（静安店）",
        "单据号": "XS-1",
        "冷链": "否",
    }
    for key, value in changes.items():
        row["批号/序列号" if key == "批号" else key] = value
    assert set(row) == set(HEADER)
    return [row[column] for column in HEADER]


def write_csv(path: Path, rows: Sequence[Sequence[Any]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def run_import(engine: Engine, path: Path) -> ImportReport:
    with engine.writer.begin() as session:
        return import_ledger(session, path)


def failed_import(engine: Engine, path: Path) -> list[RowError]:
    with pytest.raises(LedgerImportError) as failure:
        run_import(engine, path)
    return failure.value.errors


def counts(engine: Engine) -> tuple[int, int]:
    with engine.sessions() as session:
        return (
            session.scalar(select(func.count(SalesLedgerEntry.id))) or 0,
            session.scalar(select(func.count(Customer.id))) or 0,
        )


def ledger(engine: Engine) -> list[SalesLedgerEntry]:
    with engine.sessions() as session:
        return list(
            session.scalars(
                select(SalesLedgerEntry).order_by(
                    SalesLedgerEntry.document_number, SalesLedgerEntry.line_number
                )
            )
        )


@pytest.fixture(autouse=True)
def _frozen_clock() -> None:
    clock.freeze(datetime(2026, 2, 1, 2, 0, tzinfo=UTC))


def test_the_sample_csv_imports_every_line_and_adds_new_purchasers_to_the_customer_archive(
    engine: Engine,
) -> None:
    with engine.writer.begin() as session:
        session.add(Customer(name="上海申江第一人民医院", phone="021-1", created_at=clock.now()))

    report = run_import(engine, SAMPLE)

    assert (report.imported, report.customers_created, report.file) == (3, 1, "sample_ledger.csv")
    assert report.customer_names == ["仁济堂大药房（静安店）"]
    lines = ledger(engine)
    assert [(e.document_number, e.line_number, e.batch_number) for e in lines] == [
        ("XS-2026-0001", 1, "INS-2601-01"),
        ("XS-2026-0001", 2, "CTX-2512-03"),
        ("XS-2026-0002", 1, "SY5-2511-02"),
    ]
    insulin, ceftriaxone, syringe = lines
    assert insulin.cold_chain is True and ceftriaxone.cold_chain is False and syringe.cold_chain is False
    assert insulin.unit_price == Decimal("58.5") and insulin.amount == Decimal("1170.00")
    assert insulin.sale_date == date(2026, 1, 5) and ceftriaxone.sale_date == date(2026, 1, 5)
    assert ceftriaxone.expiry_date == date(2027, 12, 31)  # "2027/12": to the end of the month
    assert (
        syringe.purchaser_contact == "店长 吴倩 021-62478890" and syringe.source_file == "sample_ledger.csv"
    )
    with engine.sessions() as session:
        created = session.scalars(select(Customer).where(Customer.name == "仁济堂大药房（静安店）")).one()
        kept = session.scalars(select(Customer).where(Customer.name == "上海申江第一人民医院")).one()
    assert (created.licence_number, created.address, created.phone) == (
        "沪AA0210376",
        "上海市静安区南京西路 1576 号",
        "021-62478890",
    )
    assert kept.phone == "021-1" and kept.licence_number is None  # an existing record is not rewritten


def test_an_xlsx_workbook_with_a_title_row_excel_dates_and_english_headers_imports(
    engine: Engine, tmp_path: Path
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["销售记录清单 2026 年 1 月"])
    sheet.append(
        [
            "Product name",
            "Quantity",
            "Unit price",
            "Batch",
            "Expiry",
            "Sale date",
            "Purchaser",
            "Document",
            "Line",
        ]
    )
    sheet.append(
        [
            "人血白蛋白",
            5,
            398,
            "HSA-01",
            datetime(2028, 3, 31),
            datetime(2026, 1, 5),
            "浦东新区东明中心医院",
            "XS-9",
            2,
        ]
    )
    sheet.append(["人血白蛋白", 3.0, 398.0, "HSA-02", 46843, 46027, "浦东新区东明中心医院", "XS-9", 1])
    path = tmp_path / "ledger.xlsx"
    workbook.save(path)

    report = run_import(engine, path)

    assert (report.imported, report.customers_created) == (2, 1)
    first, second = ledger(engine)
    assert (first.line_number, first.batch_number, first.quantity) == (1, "HSA-02", 3)
    assert first.sale_date == date(2026, 1, 5) and first.expiry_date == date(
        2028, 3, 31
    )  # Excel serial numbers
    assert (second.line_number, second.amount, second.unit_price) == (2, Decimal("1990.00"), Decimal("398"))
    assert second.expiry_date == date(2028, 3, 31)


def test_a_gb18030_csv_from_a_chinese_excel_imports(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "gbk.csv", [HEADER, good_row(购货单位="闵行区华漕社区卫生服务中心")], encoding="gb18030"
    )
    assert path.read_bytes().decode("gb18030").startswith("产品名称")

    report = run_import(engine, path)

    assert report.imported == 1
    assert ledger(engine)[0].purchaser_name == "闵行区华漕社区卫生服务中心"
    assert ledger(engine)[0].product_name == "阿莫西林胶囊"


def test_a_utf8_csv_without_byte_order_mark_and_slash_dates_imports(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "plain.csv", [HEADER, good_row(销售日期="2026/1/5", 金额="")], encoding="utf-8"
    )

    assert run_import(engine, path).imported == 1

    entry = ledger(engine)[0]
    assert entry.sale_date == date(2026, 1, 5)
    assert entry.amount == Decimal("126.00")  # quantity × unit price when the amount is left empty


def test_every_kind_of_row_error_is_reported_with_its_row_number_in_chinese_and_english(
    engine: Engine, tmp_path: Path
) -> None:
    header = [*HEADER, "行号"]
    rows = [
        header,
        [*good_row(), 1],  # row 2 is fine
        [*good_row(数量="-2"), 2],  # row 3
        [*good_row(产品名称=""), 3],  # row 4
        [*good_row(销售日期="2026-13-45"), 4],  # row 5
        [*good_row(金额="130.00"), 5],  # row 6: 10 × 12.60 = 126.00
        [*good_row(), 1],  # row 7: the same document line as row 2
        [*good_row(单价="abc"), 6],  # row 8
        [*good_row(冷链="也许"), 7],  # row 9
        [*good_row(有效期="明年"), 8],  # row 10
        [*good_row(数量="2.5"), 9],  # row 11
    ]
    path = write_csv(tmp_path / "bad.csv", rows)

    errors = failed_import(engine, path)

    assert {(e.row, e.message_zh, e.message_en) for e in errors} == {
        (3, "第 3 行：数量必须是正整数", "row 3: quantity must be a positive whole number"),
        (4, "第 4 行：“产品名称”不能为空", "row 4: product name must not be empty"),
        (
            5,
            "第 5 行：销售日期“2026-13-45”不是有效日期（如 2026-01-05 或 2026/1/5）",
            "row 5: sale date '2026-13-45' is not a valid date (such as 2026-01-05 or 2026/1/5)",
        ),
        (
            6,
            "第 6 行：金额 130.00 与数量 × 单价（10 × 12.60 = 126.00）不符",
            "row 6: amount 130.00 does not equal quantity × unit price (10 × 12.60 = 126.00)",
        ),
        (
            7,
            "第 7 行：单据号 XS-1 第 1 行与文件第 2 行重复",
            "row 7: document XS-1 line 1 repeats row 2 of the file",
        ),
        (8, "第 8 行：单价必须是不小于 0 的数字", "row 8: unit price must be a number of zero or more"),
        (
            9,
            "第 9 行：冷链一栏应填“是”或“否”，而不是“也许”",
            "row 9: cold chain must be yes or no, not '也许'",
        ),
        (
            10,
            "第 10 行：有效期“明年”不是有效日期（如 2027-06-30 或 2027/6/30）",
            "row 10: expiry date '明年' is not a valid date (such as 2027-06-30 or 2027/6/30)",
        ),
        (11, "第 11 行：数量必须是正整数", "row 11: quantity must be a positive whole number"),
    }
    assert counts(engine) == (0, 0)  # the good row 2 was not imported either, nor its purchaser


def test_an_amount_within_rounding_of_quantity_times_price_is_accepted(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "rounding.csv", [HEADER, good_row(数量="3", 单价="0.3333", 金额="1.00")])

    assert run_import(engine, path).imported == 1


def test_missing_required_columns_are_named_in_both_languages(engine: Engine, tmp_path: Path) -> None:
    header = [c for c in HEADER if c not in ("数量", "单据号")]
    path = write_csv(tmp_path / "columns.csv", [header, good_row()[:9]])

    errors = failed_import(engine, path)

    assert len(errors) == 1
    assert errors[0].row == 1
    assert errors[0].message_zh == "第 1 行：缺少必需的列 “数量”、“单据号”"
    assert (
        errors[0].message_en
        == "row 1: the required columns 'quantity' (数量), 'document number' (单据号) are missing"
    )
    assert counts(engine) == (0, 0)


def test_lines_already_in_the_database_are_refused_and_nothing_else_is_imported(
    engine: Engine, tmp_path: Path
) -> None:
    first = write_csv(tmp_path / "first.csv", [HEADER, good_row(), good_row(批号="AMX-2602", 单据号="XS-2")])
    assert run_import(engine, first).imported == 2
    again = write_csv(
        tmp_path / "again.csv",
        [HEADER, good_row(单据号="XS-3"), good_row(单据号="XS-2"), good_row(单据号="XS-1")],
    )

    errors = failed_import(engine, again)

    assert [(e.row, e.message_zh, e.message_en) for e in errors] == [
        (3, "第 3 行：单据号 XS-2 第 1 行已导入过", "row 3: document XS-2 line 1 is already in the ledger"),
        (4, "第 4 行：单据号 XS-1 第 1 行已导入过", "row 4: document XS-1 line 1 is already in the ledger"),
    ]
    assert counts(engine) == (2, 1)  # XS-3 was not imported


def test_two_identical_rows_without_line_numbers_are_a_duplicate(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "twice.csv", [HEADER, good_row(), good_row(批号="AMX-9"), good_row()])

    errors = failed_import(engine, path)

    assert [e.row for e in errors] == [4]
    assert errors[0].message_zh.startswith("第 4 行：与第 2 行完全相同")
    assert errors[0].message_en.startswith("row 4: the row is identical to row 2")


def test_rows_of_one_document_are_numbered_in_file_order(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "order.csv",
        [HEADER, good_row(批号="A"), good_row(单据号="XS-2", 批号="B"), good_row(批号="C")],
    )

    run_import(engine, path)

    assert [(e.document_number, e.line_number, e.batch_number) for e in ledger(engine)] == [
        ("XS-1", 1, "A"),
        ("XS-1", 2, "C"),
        ("XS-2", 1, "B"),
    ]


def test_files_over_the_limits_are_refused_with_a_clear_message(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "many.csv", [HEADER, *(good_row(批号=f"B{i}") for i in range(4))])
    monkeypatch.setattr(ledger_import, "MAX_ROWS", 3)

    errors = failed_import(engine, path)
    assert [(e.row, e.message_zh, e.message_en) for e in errors] == [
        (0, "文件超过 3 行，请拆分后分批导入", "the file has more than 3 rows; split it and import the parts")
    ]

    monkeypatch.setattr(ledger_import, "MAX_FILE_BYTES", 100)
    errors = failed_import(engine, path)
    assert [(e.row, e.message_zh, e.message_en) for e in errors] == [
        (
            0,
            "文件超过 100 字节，请拆分后分批导入",
            "the file is larger than 100 bytes; split it and import the parts",
        )
    ]
    assert counts(engine) == (0, 0)


def test_the_default_limits_are_20_mb_and_100_000_rows() -> None:
    assert ledger_import.MAX_FILE_BYTES == 20 * 1024 * 1024
    assert ledger_import.MAX_ROWS == 100_000


def test_unreadable_files_are_refused_with_a_message_not_a_traceback(engine: Engine, tmp_path: Path) -> None:
    old_excel = tmp_path / "ledger.xls"
    old_excel.write_bytes(b"\xd0\xcf\x11\xe0 not really")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK this is no workbook")
    pdf = tmp_path / "ledger.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    empty = write_csv(tmp_path / "empty.csv", [HEADER])

    assert "另存为 .xlsx 或 CSV" in failed_import(engine, old_excel)[0].message_zh
    assert "cannot be read" in failed_import(engine, broken)[0].message_en
    assert "import a .csv or .xlsx file" in failed_import(engine, pdf)[0].message_en
    assert failed_import(engine, empty)[0].message_en == "the file holds no ledger rows"
    assert "cannot be read" in failed_import(engine, tmp_path / "missing.csv")[0].message_en


def test_the_error_carries_every_row_error_and_says_how_many(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", [HEADER, good_row(数量="x"), good_row(数量="y", 批号="Z")])

    with pytest.raises(LedgerImportError) as failure:
        run_import(engine, path)

    assert [e.row for e in failure.value.errors] == [2, 3]
    assert str(failure.value) == "row 2: quantity must be a positive whole number (and 1 more problems)"
    assert failure.value.errors[0].message("en") == "row 2: quantity must be a positive whole number"
    assert failure.value.errors[0].message("zh") == "第 2 行：数量必须是正整数"


FORMULA_NAMES = ("=cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)")


def test_a_purchaser_name_that_looks_like_a_formula_is_kept_as_text_from_csv(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [good_row(购货单位=name, 单据号=f"XS-F{n}", 批号=f"F-{n}") for n, name in enumerate(FORMULA_NAMES)]
    run_import(engine, write_csv(tmp_path / "formula.csv", [HEADER, *rows]))
    stored = {entry.purchaser_name for entry in ledger(engine)}
    assert stored == set(FORMULA_NAMES)
    with engine.sessions() as session:
        assert set(FORMULA_NAMES) <= set(session.scalars(select(Customer.name)))


def test_a_purchaser_name_that_looks_like_a_formula_is_kept_as_text_from_xlsx(
    engine: Engine, tmp_path: Path
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    for n, name in enumerate(FORMULA_NAMES, start=2):
        sheet.append(good_row(单据号=f"XS-X{n}", 批号=f"X-{n}"))
        cell = sheet.cell(row=n, column=HEADER.index("购货单位") + 1, value=name)
        cell.data_type = "s"  # a text cell, as Excel keeps a name typed after an apostrophe
    path = tmp_path / "formula.xlsx"
    workbook.save(path)
    run_import(engine, path)
    assert {entry.purchaser_name for entry in ledger(engine)} == set(FORMULA_NAMES)
