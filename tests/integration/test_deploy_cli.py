"""The real ``afterflow deploy`` console script, and diagrams made by other modelling tools.

The console script runs as a subprocess over a SQLite database in a temporary folder. Every
file in tests/fixtures/foreign/ (Camunda 7/8, Signavio- and Bizagi-style exports,
pathological inputs) goes through ``validate_files`` and through the ``deploy`` command:
each must give bundles or problems, never an exception, and the command must exit 0 or 1
without a traceback. Those many runs call the click command in-process (the same code as the
console script, without starting a Python each time), so the whole file stays fast.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click.testing
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.calendar import WorkingCalendar
from engine.definitions import validate_files
from engine.sandbox import SandboxedScriptEngine
from engine.script_helpers import make_helpers
from engine.store.database import make_engine
from engine.store.models import ProcessDefinition
from processes.roles import role_for_lane
from tests.conftest import ROOT
from web.cli import main as cli_main

AFTERFLOW = Path(sys.executable).parent / "afterflow"
FIXTURES = ROOT / "tests" / "fixtures"
FOREIGN = FIXTURES / "foreign"
MINI_FILES = ("mini.bpmn", "mini_first.form.json", "mini_start.form.json")


@dataclass(frozen=True)
class Expect:
    """What a foreign file gives: process keys deployed, or (element id, message fragment) problems.

    ``decision`` names the decision of a DMN file that is valid: the test adds a small process
    calling it, so that the table is parsed and deployed with a process.
    """

    bundles: tuple[str, ...] = ()
    problems: tuple[tuple[str, str], ...] = ()
    decision: str | None = None


NOT_PYTHON = "is not a Python expression afterflow can run"

FOREIGN_FILES: dict[str, Expect] = {
    "adhoc_subprocess.bpmn": Expect(bundles=("adhoc_checks",)),
    "billion_laughs.bpmn": Expect(problems=(("billion_laughs.bpmn", "declares a DOCTYPE or entities"),)),
    "bizagi_executable_odd_di.bpmn": Expect(bundles=("parts_return",)),
    "bizagi_export.bpmn": Expect(problems=(("bizagi_export.bpmn", "no process is marked executable"),)),
    "bpmn1_xpdl.bpmn": Expect(problems=(("bpmn1_xpdl.bpmn", "an XPDL package, not a BPMN 2.0 diagram"),)),
    "bpmn2_beta_namespace.bpmn": Expect(
        problems=(("bpmn2_beta_namespace.bpmn", "not the BPMN 2.0 namespace"),)
    ),
    "call_activity_missing.bpmn": Expect(
        problems=(
            ("call_parts", "calls process 'parts_ordering', which no BPMN file in this deploy defines"),
        )
    ),
    "camunda7_order.bpmn": Expect(
        problems=(
            ("Flow_big", f"the condition '${{amount > 100}}' {NOT_PYTHON}"),
            ("Flow_big", "write the Python expression itself: amount > 100"),
            ("Activity_groovy", "the script is written in groovy; afterflow runs Python scripts only"),
            ("Event_wait", 'write "P2D"'),
            ("Activity_review", "the user task lies in no lane"),
            (
                "Activity_review",
                "the form is given as camunda:formKey 'camunda-forms:deployment:review.form'",
            ),
            ("Activity_notify", "camunda:class is not read by afterflow"),
        )
    ),
    "camunda8_zeebe.bpmn": Expect(
        problems=(
            ("Flow_yes", f"the condition '=policyValid = true' {NOT_PYTHON}"),
            ("Flow_no", "write the Python expression itself: not(policyValid)"),
            ("sla_timer", NOT_PYTHON),
            ("check_policy", "zeebe:taskDefinition is not read by afterflow"),
            ("assess_claim", "the user task lies in no lane"),
        )
    ),
    "dmn11_camunda.dmn": Expect(bundles=("uses_discount_dmn11",), decision="discount_dmn11"),
    "dmn12_table.dmn": Expect(bundles=("uses_priority_dmn12",), decision="priority_dmn12"),
    "dmn13_table.dmn": Expect(bundles=("uses_region_dmn13",), decision="region_dmn13"),
    "dmn13_prefixed_annotations.dmn": Expect(
        bundles=("uses_warranty_prefixed",), decision="warranty_prefixed"
    ),
    "dmn14_unsupported.dmn": Expect(problems=(("dmn14_unsupported.dmn", "DMN 1.4 is not supported"),)),
    "dmn_feel_cells.dmn": Expect(
        problems=(
            ("feel_range", f"the input cell '[1..100]' {NOT_PYTHON}"),
            ("feel_list", f"the output cell 'if amount > 1000 then 50 else 10' {NOT_PYTHON}"),
            ("fee_feel", "hit policy PRIORITY is not supported"),
        )
    ),
    "dmn_literal_expression.dmn": Expect(
        problems=(
            ("dmn_literal_expression.dmn", "holds 2 decisions"),
            ("vat_literal", "the decision is a literal expression; afterflow runs decision tables only"),
            ("short_rule", "the rule has 1 input and 1 output cells, but the table has 2 input"),
        )
    ),
    "empty.bpmn": Expect(problems=(("empty.bpmn", "the file is empty"),)),
    "empty.dmn": Expect(problems=(("empty.dmn", "the file is empty"),)),
    "event_subprocess.bpmn": Expect(bundles=("with_event_subprocess",)),
    "external_entity.bpmn": Expect(problems=(("external_entity.bpmn", "declares a DOCTYPE or entities"),)),
    "flowable_holiday.bpmn": Expect(
        problems=(
            ("flow_yes", f"the condition '${{approved}}' {NOT_PYTHON}"),
            ("flow_no", "the condition is written in javascript"),
            ("approveTask", "the form is given as flowable:formKey 'approve-form'"),
            ("approveTask", "the user task lies in no lane"),
            ("externalSystemCall", "flowable:class is not read by afterflow"),
            ("sendRejectionMail", "flowable:type is not read by afterflow"),
            ("holidayApprovedTask", "the user task lies in no lane"),
        )
    ),
    "html_page.bpmn": Expect(problems=(("html_page.bpmn", "the file is an HTML page, not a diagram"),)),
    "inclusive_complex_gateways.bpmn": Expect(problems=(("cx", "complex gateways are not supported"),)),
    "nested_subprocesses.bpmn": Expect(bundles=("deeply_nested",)),
    "plain_text.bpmn": Expect(problems=(("plain_text.bpmn", "the file is not well-formed XML (line 1)"),)),
    "signal_escalation_error.bpmn": Expect(bundles=("signals_and_errors",)),
    "signavio_collaboration.bpmn": Expect(
        problems=(("signavio_collaboration.bpmn", "no process is marked executable"),)
    ),
    "signavio_executable.bpmn": Expect(bundles=("warranty_check",)),
    "transaction.bpmn": Expect(bundles=("refund_transaction",)),
}


def caller_of(decision: str) -> str:
    """A small executable process whose business rule task calls ``decision``."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_{decision}">
  <bpmn:process id="uses_{decision}" name="uses {decision}" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:businessRuleTask id="decide"><bpmn:extensionElements>
      <spiffworkflow:calledDecisionId>{decision}</spiffworkflow:calledDecisionId>
    </bpmn:extensionElements></bpmn:businessRuleTask>
    <bpmn:endEvent id="e" />
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="decide" />
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>
"""


def foreign_files(name: str) -> dict[str, str]:
    """The file (plus a caller for a valid decision table) as ``validate_files`` takes them."""
    files = {name: (FOREIGN / name).read_text(encoding="utf-8")}
    decision = FOREIGN_FILES[name].decision
    if decision:
        files[f"uses_{decision}.bpmn"] = caller_of(decision)
    return files


def start_cli(workdir: Path, *args: str) -> subprocess.Popen[str]:
    """Start the installed console script with its own instance folder and SQLite database."""
    env = {
        **os.environ,
        "AFTERFLOW_INSTANCE_DIR": str(workdir),
        "DATABASE_URL": f"sqlite:///{workdir / 'afterflow.db'}",
    }
    return subprocess.Popen(
        [str(AFTERFLOW), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def output_of(run: subprocess.CompletedProcess[str]) -> str:
    return run.stdout + run.stderr


def assert_no_traceback(run: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in output_of(run), output_of(run)
    assert run.returncode in (0, 1), output_of(run)


def write_mini(folder: Path, old: str = "", new: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in MINI_FILES:
        text = (FIXTURES / name).read_text(encoding="utf-8")
        if name == "mini.bpmn" and old:
            assert old in text
            text = text.replace(old, new)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# --- the console script ------------------------------------------------------------------------


def test_the_console_script_is_installed() -> None:
    assert AFTERFLOW.is_file(), f"{AFTERFLOW} is missing: pip install -e . in the virtualenv"


@pytest.fixture(scope="module")
def console(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """Run the console script for each case below at the same time (each run starts a Python)."""
    cases: dict[str, tuple[Path, list[str]]] = {}
    folder = tmp_path_factory.mktemp("dry")
    cases["dry run"] = (folder, ["deploy", "--dry-run", "diagrams/"])
    folder = tmp_path_factory.mktemp("bad")
    bad = write_mini(folder / "bad", 'targetRef="task_second"', 'targetRef="nowhere"')
    cases["bad diagram"] = (folder, ["deploy", str(bad)])
    folder = tmp_path_factory.mktemp("missing")
    cases["missing path"] = (folder, ["deploy", "--dry-run", str(folder / "nowhere")])
    started = {name: (folder, start_cli(folder, *args)) for name, (folder, args) in cases.items()}
    return {name: (folder, finish(process)) for name, (folder, process) in started.items()}


def test_dry_run_of_the_diagrams_finds_no_problem_and_deploys_nothing(
    console: dict[str, tuple[Path, subprocess.CompletedProcess[str]]],
) -> None:
    folder, run = console["dry run"]
    assert run.returncode == 0, output_of(run)
    assert "no problem found" in run.stdout
    assert "repair_service: would deploy version 1" in run.stdout
    db = make_engine(f"sqlite:///{folder / 'afterflow.db'}")
    try:
        with db.connect() as conn:
            assert conn.execute(select(func.count()).select_from(ProcessDefinition)).scalar() == 0
    finally:
        db.dispose()


def test_a_bad_diagram_exits_1_with_one_line_per_problem(
    console: dict[str, tuple[Path, subprocess.CompletedProcess[str]]],
) -> None:
    _, run = console["bad diagram"]
    assert run.returncode == 1
    assert_no_traceback(run)
    assert run.stdout.splitlines() == [
        "task_second: nothing leads to this element (no incoming flow) (mini.bpmn)",
        "f3: the flow points to 'nowhere', which does not exist (mini.bpmn)",
    ]
    assert "2 problem(s) found; nothing was deployed" in run.stderr


def test_a_path_that_does_not_exist_exits_1_cleanly(
    console: dict[str, tuple[Path, subprocess.CompletedProcess[str]]],
) -> None:
    folder, run = console["missing path"]
    assert run.returncode == 1
    assert_no_traceback(run)
    assert run.stdout.strip() == f"{folder / 'nowhere'}: no such file or folder"


# --- the same command, in-process --------------------------------------------------------------


@pytest.fixture
def deploy_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., click.testing.Result]:
    """Invoke ``afterflow deploy ARGS`` in-process over a SQLite database in ``tmp_path``."""
    monkeypatch.setenv("AFTERFLOW_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'afterflow.db'}")

    def invoke(*args: str) -> click.testing.Result:
        return CliRunner().invoke(cli_main, ["deploy", *args])

    return invoke


def assert_clean_exit(result: click.testing.Result) -> None:
    """The command ended by exiting 0 or 1, not by an exception."""
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


def test_a_deploy_and_an_identical_redeploy(
    tmp_path: Path, deploy_command: Callable[..., click.testing.Result]
) -> None:
    good = write_mini(tmp_path / "good")
    first = deploy_command("--by", "owner1", str(good))
    assert first.exit_code == 0 and first.output == "mini: deployed version 1\n", first.output
    again = deploy_command(str(good))
    assert again.exit_code == 0 and again.output == "mini: unchanged (version 1)\n", again.output


def test_a_bad_change_leaves_the_deployed_version_alone(
    tmp_path: Path, deploy_command: Callable[..., click.testing.Result]
) -> None:
    good = write_mini(tmp_path / "good")
    assert "mini: deployed version 1" in deploy_command(str(good)).output
    bad = write_mini(tmp_path / "bad", "total = amount * 2", "total = __import__('os')")
    result = deploy_command(str(bad))
    assert result.exit_code == 1
    assert_clean_exit(result)
    assert result.output.startswith("script_total: the script is not allowed")
    assert "mini: unchanged (version 1)" in deploy_command("--dry-run", str(good)).output


def test_a_folder_without_model_files(
    tmp_path: Path, deploy_command: Callable[..., click.testing.Result]
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.md").write_text("not a diagram")
    result = deploy_command("--dry-run", str(tmp_path / "empty"))
    assert result.exit_code == 1
    assert_clean_exit(result)
    assert result.output.startswith("files: nothing to deploy")


def test_a_binary_file(tmp_path: Path, deploy_command: Callable[..., click.testing.Result]) -> None:
    (tmp_path / "image.bpmn").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\xfa")
    result = deploy_command(str(tmp_path / "image.bpmn"))
    assert result.exit_code == 1
    assert_clean_exit(result)
    assert result.output.strip() == "image.bpmn: the file is not UTF-8 text"


def test_a_diagram_nested_too_deep(
    tmp_path: Path, deploy_command: Callable[..., click.testing.Result]
) -> None:
    inner = '<bpmn:task id="t" />'
    for level in range(300):
        inner = f'<bpmn:subProcess id="s{level}">{inner}</bpmn:subProcess>'
    (tmp_path / "deep.bpmn").write_text(
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'
        f'<bpmn:process id="deep" isExecutable="true">{inner}</bpmn:process></bpmn:definitions>'
    )
    result = deploy_command(str(tmp_path / "deep.bpmn"))
    assert result.exit_code == 1
    assert_clean_exit(result)
    assert "deep.bpmn: the file is not well-formed XML" in result.output
    assert "nested more than 256 levels deep" in result.output


def test_a_user_name_too_long_for_the_table(deploy_command: Callable[..., click.testing.Result]) -> None:
    result = deploy_command("--by", "x" * 65, "diagrams/")
    assert result.exit_code == 2  # click's usage error, before anything is read
    assert "at most 64 characters" in result.output


# --- diagrams from other modelling tools ----------------------------------------------------------


def test_every_foreign_file_has_an_expectation() -> None:
    assert sorted(p.name for p in FOREIGN.iterdir()) == sorted(FOREIGN_FILES)


@pytest.fixture(scope="module")
def timer_evaluator() -> SandboxedScriptEngine:
    return SandboxedScriptEngine(helpers=make_helpers(WorkingCalendar()))


@pytest.mark.parametrize("name", sorted(FOREIGN_FILES))
def test_a_foreign_file_gives_bundles_or_problems(name: str, timer_evaluator: SandboxedScriptEngine) -> None:
    expect = FOREIGN_FILES[name]
    result = validate_files(
        foreign_files(name), role_for_lane, lambda e: timer_evaluator.environment.evaluate(e, {})
    )
    lines = "\n".join(p.line() for p in result.problems)
    assert all(p.element_id.strip() and p.message.strip() for p in result.problems), lines
    assert sorted(b.key for b in result.bundles) == sorted(expect.bundles), lines
    assert result.ok == (not expect.problems), lines
    for element_id, fragment in expect.problems:
        assert any(p.element_id == element_id and fragment in p.message for p in result.problems), (
            f"no '{element_id}: …{fragment}…' in\n{lines}"
        )


#: What the CLI's conversion of other tools' settings changes: problems it resolves, lines it prints.
RESOLVED_BY_CONVERSION = {
    ("Flow_big", f"the condition '${{amount > 100}}' {NOT_PYTHON}"),
    ("Flow_big", "write the Python expression itself: amount > 100"),
    ("Activity_review", "the user task lies in no lane"),
    ("assess_claim", "the user task lies in no lane"),
    ("flow_yes", f"the condition '${{approved}}' {NOT_PYTHON}"),
    ("approveTask", "the user task lies in no lane"),
}
CONVERSION_LINES = {
    "camunda7_order.bpmn": (
        "camunda7_order.bpmn: Activity_review: converted: candidate group 'sales' → lane 'sales'",
        "camunda7_order.bpmn: Flow_big: converted: condition ${amount > 100} → amount > 100",
    ),
    "camunda8_zeebe.bpmn": (
        "camunda8_zeebe.bpmn: assess_claim: converted: candidate group 'adjusters' → lane 'adjusters'",
        "camunda8_zeebe.bpmn: Flow_yes: not converted: FEEL condition '=policyValid = true'",
    ),
    "flowable_holiday.bpmn": (
        "flowable_holiday.bpmn: approveTask: converted: candidate group 'managers' → lane 'managers'",
        "flowable_holiday.bpmn: flow_yes: converted: condition ${approved} → approved",
    ),
}


@pytest.mark.parametrize("name", sorted(FOREIGN_FILES))
def test_a_foreign_file_through_the_cli(
    name: str, tmp_path: Path, deploy_command: Callable[..., click.testing.Result]
) -> None:
    expect = FOREIGN_FILES[name]
    paths = [str(FOREIGN / name)]
    if expect.decision:
        caller = tmp_path / f"uses_{expect.decision}.bpmn"
        caller.write_text(caller_of(expect.decision), encoding="utf-8")
        paths.append(str(caller))
    result = deploy_command(*paths)
    assert_clean_exit(result)
    assert "root:x:0:0" not in result.output
    for line in CONVERSION_LINES.get(name, ()):
        assert line in result.output, result.output
    if expect.problems:
        assert result.exit_code == 1, result.output
        lines = [line for line in result.output.splitlines() if "problem(s) found" not in line]
        assert lines and all(": " in line for line in lines), result.output
        for element_id, fragment in set(expect.problems) - RESOLVED_BY_CONVERSION:
            assert any(line.startswith(f"{element_id}: ") and fragment in line for line in lines), (
                result.output
            )
    else:
        assert result.exit_code == 0, result.output
        for key in expect.bundles:
            assert f"{key}: deployed version 1" in result.output, result.output


def test_files_with_a_byte_order_mark_or_in_utf16_are_read(
    tmp_path: Path, deploy_command: Callable[..., click.testing.Result]
) -> None:
    folder = tmp_path / "windows"
    folder.mkdir()
    for name in MINI_FILES[1:]:
        (folder / name).write_bytes(b"\xef\xbb\xbf" + (FIXTURES / name).read_bytes())
    text = (
        (FIXTURES / "mini.bpmn").read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    )
    (folder / "mini.bpmn").write_bytes(text.encode("utf-16"))
    result = deploy_command(str(folder))
    assert result.exit_code == 0, result.output
    assert result.output == "mini: deployed version 1\n"


def test_the_side_panel_settings_are_refused_at_deploy_naming_the_element(
    tmp_path: Path, deploy_command: Callable[..., click.testing.Result]
) -> None:
    folder = tmp_path / "diagrams"
    shutil.copytree(ROOT / "diagrams", folder)
    bpmn = folder / "repair_service.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    text = text.replace('serviceTaskOperator id="product_lookup"', 'serviceTaskOperator id="product_finder"')
    text = text.replace(
        '<spiffworkflow:parameter id="summary" type="str" value="service_summary" />',
        '<spiffworkflow:parameter id="summary" type="str" value="service_summary" />'
        '<spiffworkflow:parameter id="colour" type="str" value="\'red\'" />',
    )
    bpmn.write_text(text, encoding="utf-8")
    result = deploy_command(str(folder))
    assert result.exit_code == 1
    assert_clean_exit(result)
    assert "service_product_lookup: Service: no service is called “product_finder”" in result.output
    assert (
        "service_archive: Parameter “colour”: the service record_service_history takes no such parameter"
        in result.output
    )
    assert "deployed version" not in result.output
