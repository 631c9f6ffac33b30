"""``afterflow calendar …`` on a fresh SQLite database: the shipped schedule, imports, confirmation, due."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click.testing
import pytest
from click.testing import CliRunner

from web.cli import main as cli_main

NOTICES = Path(__file__).resolve().parents[1] / "fixtures" / "notices"
SPRING_2027 = "date,kind,name\n" + "".join(f"2027-02-{day:02d},holiday,春节\n" for day in range(8, 13))

Invoke = Callable[..., click.testing.Result]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("AFTERFLOW_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'afterflow.db'}")

    def invoke(*args: str) -> click.testing.Result:
        return CliRunner().invoke(cli_main, list(args))

    return invoke


def test_show_lists_the_official_2026_schedule_as_confirmed(cli: Invoke) -> None:
    result = cli("calendar", "show", "2026")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "2026-02-14 workday 春节" in lines
    assert [line.split()[1] for line in lines if "2026-02-15" <= line[:10] <= "2026-02-23"] == ["holiday"] * 9
    assert lines[-1] == "confirmed"
    assert len(lines) == 40  # 33 holidays, 6 make-up working days, the status


def test_a_2027_csv_makes_the_spring_festival_week_holidays(cli: Invoke, tmp_path: Path) -> None:
    assert cli("calendar", "show", "2027").output.splitlines() == ["unconfirmed"]
    before = cli("calendar", "due", "2027-02-05T16:00+08:00", "--working-hours", "4")
    assert before.output.splitlines()[0] == "2027-02-08T11:00:00+08:00"
    path = tmp_path / "2027.csv"
    path.write_text(SPRING_2027, encoding="utf-8")
    imported = cli("calendar", "import", str(path))
    assert imported.exit_code == 0, imported.output
    due = cli("calendar", "due", "2027-02-05T16:00+08:00", "--working-hours", "4")
    assert due.exit_code == 0
    assert due.output.splitlines()[0] == "2027-02-15T11:00:00+08:00"
    assert "provisional" in due.output  # 2027 is not confirmed yet
    assert cli("calendar", "show", "2027").output.splitlines()[-1] == "unconfirmed"
    assert cli("calendar", "confirm", "2027").exit_code == 0
    shown = cli("calendar", "show", "2027").output.splitlines()
    assert shown[0] == "2027-02-08 holiday 春节" and shown[-1] == "confirmed"
    assert (
        "provisional" not in cli("calendar", "due", "2027-02-05T16:00+08:00", "--working-hours", "4").output
    )


def test_a_csv_with_a_bad_row_imports_nothing_and_exits_1(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(SPRING_2027 + "2027-02-30,holiday,春节\n", encoding="utf-8")
    result = cli("calendar", "import", str(path))
    assert result.exit_code == 1
    assert "第 7 行" in result.output
    assert cli("calendar", "show", "2027").output.splitlines() == ["unconfirmed"]


def test_import_notice_reads_the_published_text(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "notice.txt"
    path.write_text(
        (NOTICES / "2026.txt").read_text(encoding="utf-8").replace("2026", "2032"), encoding="utf-8"
    )
    result = cli("calendar", "import-notice", str(path))
    assert result.exit_code == 0, result.output
    assert "imported 39 days of 2032" in result.output
    assert "2032-10-10 workday 国庆节" in cli("calendar", "show", "2032").output
    bad = tmp_path / "bad.txt"
    bad.write_text("放假通知", encoding="utf-8")
    assert cli("calendar", "import-notice", str(bad)).exit_code == 1


def test_due_counts_wall_clock_hours_and_working_days(cli: Invoke) -> None:
    assert cli("calendar", "due", "2026-09-30T16:30+08:00", "--hours", "24").output.strip() == (
        "2026-10-01T16:30:00+08:00"
    )
    assert cli("calendar", "due", "2026-10-09T10:00+08:00", "--working-days", "1").output.strip() == (
        "2026-10-10T10:00:00+08:00"
    )
    assert cli("calendar", "due", "2026-10-09T10:00+08:00").exit_code == 1
