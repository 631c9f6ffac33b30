"""The sales-ledger import in a real browser: a 20,000-row file shows its progress, then its outcome.

sup1 (a manager) opens /ledger, chooses a CSV of 20,000 lines and imports it: the progress bar
appears and the status line passes through the server's own steps (rows checked, rows saved of
the total) before the page says how many lines were imported; then a file with one bad row
imports nothing and the page lists that row.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from processes.records.models import SalesLedgerEntry
from tests.e2e.conftest import Served, log_in, new_page

pytestmark = pytest.mark.e2e
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
]
WATCH_STATUS = """() => {
  window.seenStatus = [];
  const status = document.getElementById("import-status");
  new MutationObserver(() => window.seenStatus.push(status.textContent)).observe(
    status, { childList: true, characterData: true, subtree: true });
}"""


def write_ledger(path: Path, rows: int, bad_row: int | None = None) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for n in range(1, rows + 1):
            quantity = "很多" if n == bad_row else str(n % 40 + 1)
            out.writerow(
                [
                    "输液泵",
                    "IP-300",
                    quantity,
                    "10.00",
                    "",
                    f"LOT-{n % 9}",
                    "2028-12-31",
                    "2026-05-06",
                    f"浏览器测试医院{n % 5}",
                    f"E2E-{path.stem}-{n}",
                ]
            )
    return path


def lines(served: Served) -> int:
    with served.engine.sessions() as session:
        return session.scalar(select(func.count()).select_from(SalesLedgerEntry)) or 0


def test_a_20000_row_ledger_imports_with_its_progress_shown(
    browser: Any, served: Served, tmp_path: Path
) -> None:
    page = new_page(browser, served.url)
    log_in(page, "sup1", "/ledger")
    page.evaluate(WATCH_STATUS)
    page.set_input_files("#ledger-import input[type=file]", str(write_ledger(tmp_path / "big.csv", 20_000)))
    page.click("#ledger-import-button")
    page.wait_for_selector("#import-result", timeout=120_000)
    assert page.is_visible("#import-progress")
    assert "已导入 20000 行" in page.inner_text("#import-result")
    seen = page.evaluate("window.seenStatus")
    assert any("正在校验" in text for text in seen), seen
    assert any("正在保存" in text and "/ 20000" in text for text in seen), seen
    assert page.evaluate("document.getElementById('import-bar').value") == 1
    assert lines(served) == 20_000

    before = lines(served)
    page.goto("/ledger")
    page.set_input_files("#ledger-import input[type=file]", str(write_ledger(tmp_path / "bad.csv", 300, 120)))
    page.click("#ledger-import-button")
    page.wait_for_selector("#import-errors")
    assert "未导入任何记录" in page.inner_text("#import-result")
    errors = page.locator("#import-errors li")
    assert errors.count() == 1 and errors.first.get_attribute("data-row") == "121"
    assert lines(served) == before
