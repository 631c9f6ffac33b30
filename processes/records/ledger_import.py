"""Import the sales ledger (销售记录) from a CSV or XLSX file, all rows or none.

The ledger keeps what the rules require of every sale [000 篇一 3-4, 003]: product name,
specification/model, registration number, quantity, unit price, amount, batch or serial
number, expiry, sale date, manufacturer, and the purchaser's name, licence, address and
contact. Returns check it and recalls trace customers through it (SPEC §3, §6, §7).

Files are read as people keep them: Chinese column headers (English ones work too), CSV in
UTF-8 with or without a byte order mark or in GB18030 (what Excel on a Chinese Windows saves),
or an Excel workbook (first sheet; a title row above the header row is fine). Every row is
checked and every problem is reported with its row number as the spreadsheet shows it, in
Chinese and English; if any row is wrong nothing is imported. Purchasers that are not in
the customer archive (客户档案) yet are added to it.

``import_ledger`` adds to the caller's session and flushes; the caller commits (or rolls back).
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine import clock
from engine.user_messages import Message
from processes.records.models import Customer, SalesLedgerEntry

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
#: At most this many row errors are listed; the rest are counted.
MAX_ERRORS = 500
#: Rows at the top of a sheet searched for the header row (titles may stand above it).
HEADER_SEARCH_ROWS = 10
#: An amount may differ from quantity × unit price by this much (rounding of the price).
AMOUNT_TOLERANCE = Decimal("0.01")
_CHUNK = 500


# --- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem of the file: the row as the spreadsheet numbers it (0: the file itself).

    The problem is a message code with its values (``ledger.*``); the web tier's catalogue
    words it, after ``row %(row)s: `` when it concerns a row.
    """

    row: int
    problem: Message

    def __str__(self) -> str:
        return f"row {self.row}: {self.problem}" if self.row else str(self.problem)


class LedgerImportError(Exception):
    """The file was not imported; ``errors`` says why, row by row."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        first = str(errors[0]) if errors else "the file could not be imported"
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        super().__init__(f"{first}{more}")


def column_label(key: str) -> Message:
    """The message naming a column of the ledger (worded by the catalogue: ``ledger.column.<key>``)."""
    return Message(f"ledger.column.{key}")


@dataclass(frozen=True)
class ImportReport:
    """What an import added."""

    imported: int
    customers_created: int
    file: str
    customer_names: list[str] = field(default_factory=list)


# --- columns --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of the ledger: its key, whether it must be there, the headings that name it.

    Its name for people is worded by the catalogue (``column_label``); the headings are what
    spreadsheets in use call it, in Chinese and English.
    """

    key: str
    required: bool
    aliases: tuple[str, ...]
    max_length: int | None = None


COLUMNS: tuple[Column, ...] = (
    Column(
        "product_name",
        True,
        ("产品名称", "品名", "药品名称", "器械名称", "商品名称", "名称", "product name", "product", "name"),
        256,
    ),
    Column(
        "specification",
        False,
        ("规格型号", "规格(型号)", "规格", "型号", "specification", "spec", "model"),
        256,
    ),
    Column(
        "registration_number",
        False,
        (
            "注册证号",
            "注册证号或备案凭证编号",
            "批准文号",
            "备案凭证编号",
            "registration number",
            "registration no",
            "registration",
        ),
        128,
    ),
    Column("quantity", True, ("数量", "quantity", "qty")),
    Column("unit", False, ("单位", "unit"), 32),
    Column("unit_price", False, ("单价", "unit price", "price")),
    Column("amount", False, ("金额", "amount", "total")),
    Column(
        "batch_number",
        True,
        (
            "批号/序列号",
            "批号",
            "序列号",
            "生产批号",
            "生产批号或序列号",
            "批号或序列号",
            "batch/serial number",
            "batch number",
            "batch",
            "lot",
            "lot number",
            "serial number",
            "serial",
        ),
        128,
    ),
    Column(
        "expiry_date",
        False,
        ("有效期", "有效期至", "失效日期", "expiry date", "expiry", "expires", "expiration date"),
        None,
    ),
    Column("sale_date", True, ("销售日期", "日期", "sale date", "date of sale", "date")),
    Column("manufacturer", False, ("生产厂家", "生产企业", "生产单位", "manufacturer"), 256),
    Column(
        "purchaser_name",
        True,
        ("购货单位", "购货者", "购货者名称", "客户名称", "客户", "purchaser", "purchaser name", "customer"),
        256,
    ),
    Column(
        "purchaser_licence",
        False,
        (
            "许可证号",
            "经营许可证号",
            "购货者许可证号",
            "许可证",
            "licence number",
            "license number",
            "licence",
            "license",
        ),
        128,
    ),
    Column(
        "purchaser_address", False, ("地址", "经营地址", "购货者地址", "address", "purchaser address"), 512
    ),
    Column(
        "purchaser_contact",
        False,
        ("联系人/电话", "联系方式", "联系人", "电话", "联系电话", "contact", "phone", "telephone"),
        128,
    ),
    Column(
        "document_number",
        True,
        (
            "单据号",
            "单号",
            "票据号",
            "销售单号",
            "发票号",
            "document number",
            "document",
            "document no",
            "invoice number",
        ),
        64,
    ),
    Column("line_number", False, ("行号", "序号", "line number", "line", "line no")),
    Column("cold_chain", False, ("冷链", "冷藏", "冷链药品", "cold chain", "cold-chain")),
)
_BY_KEY = {c.key: c for c in COLUMNS}


def _normalise_header(text: Any) -> str:
    value = "" if text is None else str(text)
    value = value.replace("\ufeff", "").translate(str.maketrans("（）／：", "()/:"))
    value = re.sub(r"[\s_*:]+", " ", value).strip().lower()
    return value.replace(" / ", "/").replace("( ", "(").replace(" )", ")")


_ALIASES: dict[str, str] = {}
for _column in COLUMNS:
    for _alias in _column.aliases:
        _ALIASES.setdefault(_normalise_header(_alias), _column.key)
        _ALIASES.setdefault(_normalise_header(_alias).replace(" ", ""), _column.key)


def _column_for(header: Any) -> str | None:
    text = _normalise_header(header)
    return _ALIASES.get(text) or _ALIASES.get(text.replace(" ", ""))


# --- reading files ----------------------------------------------------------------------------------


class _FileProblem(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.error = RowError(0, Message(f"ledger.{code}", params))


def _read_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    """Yield (row number, cell values) of the file's first sheet, blank rows left out."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        yield from _csv_rows(path)
    elif suffix in (".xlsx", ".xlsm"):
        yield from _xlsx_rows(path)
    elif suffix == ".xls":
        raise _FileProblem("old_excel")
    else:
        raise _FileProblem("unsupported_type", name=path.suffix or path.name)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise _FileProblem("unknown_encoding")


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    try:
        text = _decode(path.read_bytes())
    except UnicodeDecodeError:
        raise _FileProblem("undecodable")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    try:
        for number, cells in enumerate(
            csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1
        ):
            if any(str(c).strip() for c in cells):
                yield number, list(cells)
    except csv.Error as error:
        raise _FileProblem("malformed_csv", detail=str(error))


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # style warnings of workbooks made by other tools
            workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise _FileProblem("unreadable_workbook", kind=type(error).__name__)
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            return
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            values = list(cells)
            if any(v is not None and str(v).strip() for v in values):
                yield number, values
    finally:
        workbook.close()


# --- cell values ------------------------------------------------------------------------------------

_TRUE = {"是", "y", "yes", "true", "1", "√", "✓", "冷链", "冷藏", "x"}
_FALSE = {"否", "n", "no", "false", "0", "", "-", "常温", "非冷链"}
_DATE_FORMS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_MONTH_FORMS = (re.compile(r"^(\d{4})[-/.](\d{1,2})$"), re.compile(r"^(\d{4})年(\d{1,2})月$"))
_EXCEL_EPOCH = date(1899, 12, 30)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = str(value).strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(value)
    if not number.is_finite():
        raise ValueError(value)
    return number


def _excel_serial(number: Decimal) -> date:
    if number != number.to_integral_value() or not 1 <= number <= 2958465:
        raise ValueError(number)
    return _EXCEL_EPOCH + timedelta(days=int(number))


def _last_day(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def _date(value: Any, month_means_end: bool = False) -> date:
    """A date from an Excel cell, an Excel serial number or text like 2026-01-05 / 2026/1/5."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return _excel_serial(_decimal(value))
    text = str(value).strip()
    for pattern in _DATE_FORMS:
        match = pattern.match(text)
        if match:
            year, month, day = (int(g) for g in match.groups())
            return date(year, month, day)
    if month_means_end:  # expiry "2027-06" means to the end of June 2027
        for pattern in _MONTH_FORMS:
            match = pattern.match(text)
            if match:
                return _last_day(int(match.group(1)), int(match.group(2)))
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        return _excel_serial(Decimal(text))
    raise ValueError(value)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(value)


_PHONE = re.compile(r"(\+?\d[\d\- ]{5,}\d)")


def _phone(contact: str | None) -> str | None:
    if not contact:
        return None
    match = _PHONE.search(contact)
    return match.group(1).strip()[:64] if match else None


# --- checking rows ------------------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.items: list[RowError] = []
        self.count = 0

    def add(self, row: int, code: str, **params: Any) -> None:
        self.count += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append(RowError(row, Message(f"ledger.{code}", params)))

    def final(self) -> list[RowError]:
        if self.count > len(self.items):
            hidden = self.count - len(self.items)
            return [*self.items, RowError(0, Message("ledger.more_problems", {"count": hidden}))]
        return list(self.items)


def _find_header(rows: Iterator[tuple[int, list[Any]]]) -> tuple[int, dict[str, int]]:
    """Find the header row among the first rows (titles may stand above it); return its number and columns.

    Without a header, the columns are empty and the number is that of the first row.
    """
    seen: list[int] = []
    for number, cells in rows:
        seen.append(number)
        mapping: dict[str, int] = {}
        for index, cell in enumerate(cells):
            key = _column_for(cell)
            if key is not None and key not in mapping:
                mapping[key] = index
        if len(mapping) >= 3:
            return number, mapping
        if len(seen) >= HEADER_SEARCH_ROWS:
            break
    return (seen[0] if seen else 1), {}


def _check_row(
    row: int, cells: Sequence[Any], columns: dict[str, int], errors: _Errors
) -> dict[str, Any] | None:
    """Turn one row into ledger values, or record its problems and return None."""
    raw = {key: (cells[index] if index < len(cells) else None) for key, index in columns.items()}
    before = errors.count
    values: dict[str, Any] = {}

    def blank(key: str) -> bool:
        return _text(raw.get(key)) == ""

    for column in COLUMNS:
        if column.required and column.key in columns and blank(column.key):
            errors.add(row, "blank", column=column_label(column.key))
    for column in COLUMNS:
        if column.max_length is None or column.key not in columns or blank(column.key):
            continue
        text = _text(raw[column.key])
        if len(text) > column.max_length:
            errors.add(row, "too_long", column=column_label(column.key), max=column.max_length)
        values[column.key] = text

    quantity: int | None = None
    if not blank("quantity"):
        try:
            number = _decimal(raw["quantity"])
            if number <= 0 or number != number.to_integral_value():
                raise ValueError(number)
            quantity = int(number)
        except ValueError:
            errors.add(row, "bad_quantity")
    price = _money_cell(raw, "unit_price", row, errors)
    amount = _money_cell(raw, "amount", row, errors)
    if quantity is not None and price is not None and amount is not None:
        expected = price * quantity
        if abs(expected - amount) > AMOUNT_TOLERANCE:
            errors.add(
                row,
                "amount_mismatch",
                amount=str(amount),
                quantity=quantity,
                price=str(price),
                expected=str(_cents(expected)),
            )
    elif quantity is not None and price is not None:
        amount = _cents(price * quantity)
    elif quantity is not None and amount is not None:
        price = (amount / quantity).quantize(Decimal("0.0001"), ROUND_HALF_UP)

    sale_date = None
    if not blank("sale_date"):
        try:
            sale_date = _date(raw["sale_date"])
        except ValueError:
            errors.add(row, "bad_sale_date", value=_text(raw["sale_date"]))
    expiry = None
    if "expiry_date" in columns and not blank("expiry_date"):
        try:
            expiry = _date(raw["expiry_date"], month_means_end=True)
        except ValueError:
            errors.add(row, "bad_expiry_date", value=_text(raw["expiry_date"]))
    line_number: int | None = None
    if "line_number" in columns and not blank("line_number"):
        try:
            number = _decimal(raw["line_number"])
            if number <= 0 or number != number.to_integral_value():
                raise ValueError(number)
            line_number = int(number)
        except ValueError:
            errors.add(row, "bad_line_number")
    cold_chain = False
    if "cold_chain" in columns:
        try:
            cold_chain = _bool(raw["cold_chain"])
        except ValueError:
            errors.add(row, "bad_cold_chain", value=_text(raw["cold_chain"]))
    if errors.count > before:
        return None
    values.update(
        quantity=quantity,
        unit_price=price,
        amount=amount,
        sale_date=sale_date,
        expiry_date=expiry,
        line_number=line_number,
        cold_chain=cold_chain,
    )
    return values


def _money_cell(raw: dict[str, Any], key: str, row: int, errors: _Errors) -> Decimal | None:
    if key not in raw or _text(raw[key]) == "":
        return None
    try:
        value = _decimal(raw[key])
        if value < 0:
            raise ValueError(value)
        return value
    except ValueError:
        errors.add(row, "bad_money", column=column_label(key))
        return None


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


# --- the import ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """How far an import is: ``stage`` is ``checking`` (rows read so far) or ``storing`` (of ``total``)."""

    stage: str
    done: int
    total: int | None = None


#: Progress is reported every this many rows.
PROGRESS_EVERY = 1000


def import_ledger(session: Session, path: Path) -> ImportReport:
    """Check every row of a ledger file and import them all, or raise `LedgerImportError`."""
    steps = import_ledger_steps(session, path)
    while True:
        try:
            next(steps)
        except StopIteration as finished:
            report: ImportReport = finished.value
            return report


def import_ledger_steps(session: Session, path: Path) -> Generator[Progress, None, ImportReport]:
    """`import_ledger`, yielding its progress as it goes (for a progress bar); returns the report."""
    path = Path(path)
    errors = _Errors()
    try:
        size = path.stat().st_size
    except OSError as error:
        detail = str(error.strerror or error)
        raise LedgerImportError([RowError(0, Message("ledger.unreadable_file", {"detail": detail}))])
    if size > MAX_FILE_BYTES:
        limit = _size(MAX_FILE_BYTES)
        raise LedgerImportError([RowError(0, Message("ledger.file_too_large", {"limit": limit}))])
    try:
        checked = yield from _check_file(path, errors)
    except _FileProblem as problem:
        raise LedgerImportError([problem.error])
    if not errors.count:
        _check_database_duplicates(session, checked, errors)
    if errors.count:
        raise LedgerImportError(errors.final())
    if not checked:
        raise LedgerImportError([RowError(0, Message("ledger.no_rows"))])
    return (yield from _store(session, path, checked))


def _size(limit: int) -> Message:
    megabyte = 1024 * 1024
    if limit % megabyte == 0:
        return Message("size.megabytes", {"n": limit // megabyte})
    return Message("size.bytes", {"n": limit})


def _check_file(path: Path, errors: _Errors) -> Generator[Progress, None, list[tuple[int, dict[str, Any]]]]:
    rows = _read_rows(path)
    header_row, columns = _find_header(rows)
    missing = [c for c in COLUMNS if c.required and c.key not in columns]
    if missing:
        errors.add(header_row, "missing_columns", columns=[column_label(c.key) for c in missing])
        return []
    checked: list[tuple[int, dict[str, Any]]] = []
    keys: dict[tuple[str, int], int] = {}
    contents: dict[tuple[Any, ...], int] = {}
    next_line: dict[str, int] = {}
    explicit_lines = "line_number" in columns
    count = 0
    for number, cells in rows:
        count += 1
        if count > MAX_ROWS:
            raise _FileProblem("too_many_rows", max=MAX_ROWS)
        if count % PROGRESS_EVERY == 0:
            yield Progress("checking", count)
        values = _check_row(number, cells, columns, errors)
        if values is None:
            continue
        document = values["document_number"]
        if values["line_number"] is None:
            values["line_number"] = next_line.get(document, 0) + 1
        next_line[document] = max(next_line.get(document, 0), values["line_number"])
        key = (document, values["line_number"])
        if key in keys:
            errors.add(number, "repeated_line", document=document, line=key[1], first=keys[key])
            continue
        keys[key] = number
        if not explicit_lines:
            content = tuple(sorted((k, str(v)) for k, v in values.items() if k != "line_number"))
            if content in contents:
                errors.add(number, "identical_row", first=contents[content])
                continue
            contents[content] = number
        checked.append((number, values))
    yield Progress("checking", count)
    return checked


def _check_database_duplicates(
    session: Session, checked: list[tuple[int, dict[str, Any]]], errors: _Errors
) -> None:
    by_key = {(v["document_number"], v["line_number"]): row for row, v in checked}
    documents = sorted({document for document, _line in by_key})
    existing: set[tuple[str, int]] = set()
    for start in range(0, len(documents), _CHUNK):
        chunk = documents[start : start + _CHUNK]
        existing.update(
            (d, n)
            for d, n in session.execute(
                select(SalesLedgerEntry.document_number, SalesLedgerEntry.line_number).where(
                    SalesLedgerEntry.document_number.in_(chunk)
                )
            ).all()
        )
    for key in sorted(existing & by_key.keys(), key=lambda k: by_key[k]):
        errors.add(by_key[key], "already_imported", document=key[0], line=key[1])


def _store(
    session: Session, path: Path, checked: list[tuple[int, dict[str, Any]]]
) -> Generator[Progress, None, ImportReport]:
    now = clock.now()
    source = path.name[:256]
    purchasers: dict[str, dict[str, Any]] = {}
    for _row, values in checked:
        purchasers.setdefault(values["purchaser_name"], values)
    known: set[str] = set()
    names = sorted(purchasers)
    for start in range(0, len(names), _CHUNK):
        known.update(
            session.scalars(select(Customer.name).where(Customer.name.in_(names[start : start + _CHUNK])))
        )
    created = [name for name in names if name not in known]
    for name in created:
        first = purchasers[name]
        session.add(
            Customer(
                name=name,
                licence_number=first.get("purchaser_licence"),
                address=first.get("purchaser_address"),
                contact=first.get("purchaser_contact"),
                phone=_phone(first.get("purchaser_contact")),
                key_customer=False,
                created_at=now,
            )
        )
    session.flush()
    rows = [
        {
            "document_number": v["document_number"],
            "line_number": v["line_number"],
            "product_name": v["product_name"],
            "specification": v.get("specification"),
            "registration_number": v.get("registration_number"),
            "manufacturer": v.get("manufacturer"),
            "batch_number": v["batch_number"],
            "expiry_date": v["expiry_date"],
            "quantity": v["quantity"],
            "unit": v.get("unit"),
            "unit_price": v["unit_price"],
            "amount": v["amount"],
            "sale_date": v["sale_date"],
            "purchaser_name": v["purchaser_name"],
            "purchaser_licence": v.get("purchaser_licence"),
            "purchaser_address": v.get("purchaser_address"),
            "purchaser_contact": v.get("purchaser_contact"),
            "cold_chain": v["cold_chain"],
            "imported_at": now,
            "source_file": source,
        }
        for _row, v in checked
    ]
    yield Progress("storing", 0, len(rows))
    for start in range(0, len(rows), PROGRESS_EVERY):
        session.execute(insert(SalesLedgerEntry), rows[start : start + PROGRESS_EVERY])
        yield Progress("storing", min(start + PROGRESS_EVERY, len(rows)), len(rows))
    session.flush()
    return ImportReport(
        imported=len(rows), customers_created=len(created), file=source, customer_names=created
    )


__all__ = [
    "COLUMNS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "ImportReport",
    "LedgerImportError",
    "Progress",
    "RowError",
    "import_ledger",
    "import_ledger_steps",
]
