"""The afterflow command: users, the demo set-up and the sales-ledger import, each on a real database."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import click.testing
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text

from engine.store.models import ProcessDefinition, ProcessInstance, User
from processes.demo.users import DEMO_USERS
from processes.records.models import Customer, SalesLedgerEntry
from tests.security.diagrams import attack_diagram
from web.cli import main as cli_main

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "ledger" / "sample_ledger.csv"
#: A password that keeps the password rules (long, not the user name, not common).
STRONG = "质检-第二组-2026"

Invoke = Callable[..., click.testing.Result]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Invoke, str]:
    url = f"sqlite:///{tmp_path / 'afterflow.db'}"
    monkeypatch.setenv("AFTERFLOW_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", url)

    def invoke(*args: str, input: str | None = None) -> click.testing.Result:
        return CliRunner().invoke(cli_main, list(args), input=input)

    return invoke, url


def count(url: str, model: type) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        engine.dispose()


def test_setup_demo_deploys_creates_users_and_records_and_can_run_again(cli: tuple[Invoke, str]) -> None:
    invoke, url = cli
    first = invoke("setup-demo")
    assert first.exit_code == 0, first.output
    assert "deployed repair_service version 1" in first.output
    for username, _name, roles in DEMO_USERS:
        assert username in first.output and roles[0] in first.output
    again = invoke("setup-demo")
    assert again.exit_code == 0 and "deployed" not in again.output
    assert count(url, User) == len(DEMO_USERS)
    assert {"repair_service", "recall", "sales_return"} <= _process_keys(url)
    assert count(url, ProcessDefinition) == len(_process_keys(url))
    assert count(url, Customer) > 5 and count(url, SalesLedgerEntry) > 20


def _process_keys(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("select process_key from process_definition")).scalars())
    finally:
        engine.dispose()


def test_create_user_with_several_roles_and_refusals(cli: tuple[Invoke, str]) -> None:
    invoke, url = cli
    weak = invoke("create-user", "qa2", "--role", "quality", input="qa2-qa2-qa2\nqa2-qa2-qa2\n")
    assert weak.exit_code == 1 and "the password must not contain the user name" in weak.output
    made = invoke("create-user", "qa2", "--role", "quality", "--role", "sales", input=f"{STRONG}\n{STRONG}\n")
    assert made.exit_code == 0, made.output
    assert "quality, sales" in made.output
    twice = invoke("create-user", "qa2", "--role", "quality", input=f"{STRONG}\n{STRONG}\n")
    assert twice.exit_code == 1 and "already exists" in twice.output
    unknown = invoke("create-user", "x", "--role", "janitor", "--password", STRONG)
    assert unknown.exit_code != 0 and "unknown role" in unknown.output
    assert count(url, User) == 1


def test_import_ledger_takes_all_rows_or_none(cli: tuple[Invoke, str], tmp_path: Path) -> None:
    invoke, url = cli
    done = invoke("import-ledger", str(SAMPLE), "--lang", "en")
    assert done.exit_code == 0, done.output
    assert "imported 3 lines" in done.output
    again = invoke("import-ledger", str(SAMPLE))
    assert again.exit_code == 1 and "已导入过" in again.output
    assert count(url, SalesLedgerEntry) == 3

    bad = tmp_path / "bad.csv"
    # New document numbers, so only the bad quantity in the first data row stands in the way.
    rows = (
        SAMPLE.read_text(encoding="utf-8-sig")
        .replace("XS-2026-", "XS-2099-")
        .replace(",20,支,", ",ten,支,", 1)
    )
    bad.write_text(rows, encoding="utf-8")
    refused = invoke("import-ledger", str(bad), "--lang", "en")
    assert refused.exit_code == 1
    assert "row 2" in refused.output and "nothing was imported" in refused.output
    assert "Traceback" not in refused.output
    assert count(url, SalesLedgerEntry) == 3


def test_start_prints_the_business_number_and_status_the_error_state_included(
    cli: tuple[Invoke, str], tmp_path: Path
) -> None:
    invoke, url = cli
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir(), bad.mkdir()
    (good / "good.bpmn").write_text(attack_diagram("script", "x = n + 1"), encoding="utf-8")
    assert invoke("deploy", str(good)).exit_code == 0
    assert invoke("create-user", "sup9", "--role", "service_supervisor", "--password", STRONG).exit_code == 0

    running = invoke("start", "attack_process", "--as", "sup9", "--data", '{"n": 3}')
    assert running.exit_code == 0, running.output
    assert re.fullmatch(r"AT-\d{8}-0001 running\n", running.output)

    (bad / "good.bpmn").write_text(attack_diagram("script", "tz = now().tzinfo"), encoding="utf-8")
    assert invoke("deploy", str(bad)).exit_code == 0
    failed = invoke("start", "attack_process", "--as", "sup9")
    assert failed.exit_code == 3, failed.output
    first, second = failed.output.splitlines()
    assert re.fullmatch(r"AT-\d{8}-0002 error", first)
    assert second.startswith("error at attack: ") and "'tz'" in second
    assert count(url, ProcessInstance) == 2

    for args, words in (
        (("--as", "nobody"), "no user named 'nobody'"),
        (("--as", "sup9", "--data", "[1]"), "must be a JSON object"),
        (("--as", "sup9", "--data", "{"), "not JSON"),
    ):
        refused = invoke("start", "attack_process", *args)
        assert refused.exit_code in (1, 2) and words in refused.output, refused.output
    unknown = invoke("start", "no_such_process", "--as", "sup9")
    assert unknown.exit_code == 1 and "no process 'no_such_process'" in unknown.output
    assert count(url, ProcessInstance) == 2


def test_demo_load_reports_its_progress_and_the_cases_it_made(cli: tuple[Invoke, str]) -> None:
    invoke, url = cli
    assert invoke("setup-demo").exit_code == 0
    loaded = invoke("demo-load", "--cases", "3")
    assert loaded.exit_code == 0, loaded.output
    assert "cases" in loaded.stderr  # the progress bar (its label only, when not on a terminal)
    assert " cases in " in loaded.stdout, loaded.stdout  # the report after the bar
    assert count(url, ProcessInstance) >= 3
