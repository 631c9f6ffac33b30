"""Deploying definitions: every problem reported with its element, all or nothing, versions per key.

Bad variants are made by editing the text of tests/fixtures/mini.bpmn (and its forms) or of
the real diagrams/ files, so each test shows the one change that breaks the deploy. Every
test runs on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from engine.definitions import Problem, validate_files
from engine.definitions.checked_bundles import forget_checked_files
from engine.definitions.starter import copied_bpmn
from engine.errors import DeploymentInvalid
from engine.runtime import Engine
from engine.sandbox import SandboxLimits
from engine.store.database import Base
from engine.store.models import ProcessDefinition
from processes.roles import role_for_lane
from processes.wiring import build_engine
from tests.conftest import ROOT, diagram_files

FIXTURES = ROOT / "tests" / "fixtures"
FOREIGN = FIXTURES / "foreign"
MINI_FILES = ("mini.bpmn", "mini_first.form.json", "mini_start.form.json")
DECISION_FILE = "service_category.dmn"


# --- helpers -------------------------------------------------------------------------------------


def mini_files() -> dict[str, str]:
    return {name: (FIXTURES / name).read_text(encoding="utf-8") for name in MINI_FILES}


def changed(files: dict[str, str], name: str, old: str, new: str) -> dict[str, str]:
    """A copy of ``files`` with one exact text change in one file (which must apply)."""
    assert old in files[name], f"{old!r} is not in {name}"
    return {**files, name: files[name].replace(old, new)}


def mini_with(old: str, new: str) -> dict[str, str]:
    return changed(mini_files(), "mini.bpmn", old, new)


def mini_with_gateway(condition: str) -> dict[str, str]:
    """mini.bpmn with an exclusive gateway after the script: ``condition`` leads to the second step."""
    files = mini_with(
        '<bpmn:sequenceFlow id="f3" sourceRef="script_total" targetRef="task_second" />',
        '<bpmn:sequenceFlow id="f3" sourceRef="script_total" targetRef="gw_amount" />'
        '<bpmn:exclusiveGateway id="gw_amount" default="f_small" />'
        '<bpmn:sequenceFlow id="f_big" sourceRef="gw_amount" targetRef="task_second">'
        f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="f_small" sourceRef="gw_amount" targetRef="end_escalated" />',
    )
    return files


def mini_with_decision(decision_id: str = "service_category") -> dict[str, str]:
    """mini.bpmn whose script task is replaced by a business rule task, plus the real DMN file."""
    files = mini_files()
    text = re.sub(
        r"<bpmn:scriptTask id=\"script_total\".*?</bpmn:scriptTask>",
        '<bpmn:businessRuleTask id="decide" name="判定"><bpmn:extensionElements>'
        f"<spiffworkflow:calledDecisionId>{decision_id}</spiffworkflow:calledDecisionId>"
        "</bpmn:extensionElements><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>"
        "</bpmn:businessRuleTask>",
        files["mini.bpmn"],
        flags=re.DOTALL,
    ).replace("script_total", "decide")
    assert "businessRuleTask" in text
    files["mini.bpmn"] = text
    files[DECISION_FILE] = (ROOT / "diagrams" / DECISION_FILE).read_text(encoding="utf-8")
    return files


def rows(engine: Engine) -> list[tuple[str, int, str]]:
    """The process_definition table as (key, version, checksum), in order."""
    with engine.sessions() as session:
        found = session.execute(
            select(
                ProcessDefinition.process_key, ProcessDefinition.version, ProcessDefinition.checksum
            ).order_by(ProcessDefinition.process_key, ProcessDefinition.version)
        ).all()
    return [tuple(row) for row in found]


def refused(engine: Engine, files: dict[str, str]) -> list[Problem]:
    """Deploy ``files``, expect a refusal that leaves the table as it was; return the problems."""
    before = rows(engine)
    with pytest.raises(DeploymentInvalid) as caught:
        engine.deploy(files, deployed_by="owner1")
    assert rows(engine) == before
    problems = caught.value.problems
    assert problems and all(isinstance(p, Problem) for p in problems)
    return problems


def has(problems: list[Problem], element_id: str, fragment: str) -> bool:
    return any(p.element_id == element_id and fragment in p.message for p in problems)


def assert_problem(problems: list[Problem], element_id: str, fragment: str) -> None:
    assert has(problems, element_id, fragment), "\n".join(p.line() for p in problems)


# --- what deploys ------------------------------------------------------------------------------


def test_the_real_diagrams_validate_with_no_problem(engine: Engine) -> None:
    result = validate_files(diagram_files(), role_for_lane)
    assert [p.line() for p in result.problems] == []
    keys = sorted(b.key for b in result.bundles)
    assert "repair_service" in keys
    report = engine.deploy(diagram_files(), deployed_by="owner1")
    assert sorted(report.deployed) == [(key, 1) for key in keys]
    assert [(key, version) for key, version, _ in rows(engine)] == [(key, 1) for key in keys]


def test_mini_deploys_as_version_1_with_its_files_and_metadata(engine: Engine) -> None:
    report = engine.deploy(mini_files(), deployed_by="owner1", change_summary="first")
    assert report.deployed == [("mini", 1)] and report.unchanged == [] and not report.dry_run
    with engine.sessions() as session:
        row = session.scalars(select(ProcessDefinition)).one()
        assert set(row.files) == set(MINI_FILES)  # the source is loaded when asked, in the session
    assert (row.name, row.deployed_by, row.change_summary) == ("小流程", "owner1", "first")
    assert row.meta["process"]["prefix"] == "MN"
    assert row.meta["tasks"]["task_first"]["role"] == "customer_service"
    assert row.meta["tasks"]["task_second"]["role"] == "service_supervisor"
    assert row.meta["attached_to"] == {"timer_late": "task_second"}
    assert set(row.meta["forms"]) == {"mini_first", "mini_start"}


def test_engines_with_equal_limits_share_a_versions_restored_spec(engine: Engine) -> None:
    engine.deploy(mini_files())
    other, bounded = build_engine(engine.db), build_engine(engine.db, limits=SandboxLimits(max_loop_count=5))
    with engine.sessions() as session:
        row = engine.latest_definition(session, "mini")
        specs = engine.definitions.specs(row)
        assert other.definitions.specs(row) is specs
        assert bounded.definitions.specs(row) is not specs
        assert bounded.definitions.specs(row).spec.name == specs.spec.name == "mini"


def test_identical_redeploy_changes_nothing(engine: Engine) -> None:
    engine.deploy(mini_files())
    before = rows(engine)
    report = engine.deploy(mini_files())
    assert report.deployed == [] and report.unchanged == [("mini", 1)]
    assert rows(engine) == before


def test_a_deploy_of_files_checked_before_stores_what_checking_them_afresh_stores(engine: Engine) -> None:
    def stored() -> list[tuple[object, ...]]:
        with engine.sessions() as session:
            return [
                (d.process_key, d.version, d.name, d.checksum, d.files, d.spec_json, d.meta)
                for d in session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.process_key))
            ]

    forget_checked_files()
    files = {**diagram_files(), **mini_files()}
    engine.deploy(files)
    afresh = stored()
    with engine.writer.begin() as session:  # every row the deploy wrote (the calendar stays)
        for table in reversed(Base.metadata.sorted_tables):
            if not table.name.startswith("calendar_"):
                session.execute(table.delete())
    report = engine.deploy(files)
    assert len(report.deployed) == len(afresh) and stored() == afresh


def test_a_changed_file_gives_version_2_and_keeps_version_1(engine: Engine) -> None:
    engine.deploy(mini_files())
    (first,) = rows(engine)
    report = engine.deploy(mini_with("check = 10 / divisor", "check = 20 / divisor"))
    assert report.deployed == [("mini", 2)]
    assert rows(engine)[0] == first
    assert [version for _, version, _ in rows(engine)] == [1, 2]
    with engine.sessions() as session:
        texts = {d.version: d.files["mini.bpmn"] for d in session.scalars(select(ProcessDefinition))}
    assert "10 / divisor" in texts[1] and "20 / divisor" in texts[2]


def test_a_changed_form_gives_a_new_version_too(engine: Engine) -> None:
    engine.deploy(mini_files())
    files = changed(mini_files(), "mini_first.form.json", '"label": "金额"', '"label": "总金额"')
    assert engine.deploy(files).deployed == [("mini", 2)]


def test_a_dry_run_deploys_nothing(engine: Engine) -> None:
    report = engine.deploy(mini_files(), dry_run=True)
    assert report.dry_run and report.deployed == [("mini", 1)]
    assert rows(engine) == []
    engine.deploy(mini_files())
    report = engine.deploy(mini_with("check = 10 / divisor", "check = 3"), dry_run=True)
    assert report.deployed == [("mini", 2)]
    assert [version for _, version, _ in rows(engine)] == [1]


def test_a_dry_run_with_problems_is_refused_like_a_deploy(engine: Engine) -> None:
    with pytest.raises(DeploymentInvalid):
        engine.deploy(mini_with('targetRef="task_second"', 'targetRef="nowhere"'), dry_run=True)
    assert rows(engine) == []


def test_a_process_deploys_with_the_decision_table_it_calls(engine: Engine) -> None:
    assert engine.deploy(mini_with_decision()).deployed == [("mini", 1)]
    with engine.sessions() as session:
        row = session.scalars(select(ProcessDefinition)).one()
        assert DECISION_FILE in row.files


def mini_calling_part(executable: bool) -> dict[str, str]:
    """mini.bpmn whose script task calls the process ``mini_part`` of the file part.bpmn."""
    files = mini_with(
        '<bpmn:scriptTask id="script_total" name="计算">',
        '<bpmn:callActivity id="script_total" name="调用" calledElement="mini_part">',
    )
    files = changed(files, "mini.bpmn", "</bpmn:scriptTask>", "</bpmn:callActivity>")
    files = changed(
        files, "mini.bpmn", "<bpmn:script>total = amount * 2\ncheck = 10 / divisor</bpmn:script>", ""
    )
    files["part.bpmn"] = (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_part">'
        f'<bpmn:process id="mini_part" isExecutable="{str(executable).lower()}"><bpmn:laneSet id="ls_part">'
        '<bpmn:lane id="lane_tech" name="technician"><bpmn:flowNodeRef>part_check</bpmn:flowNodeRef></bpmn:lane>'
        '</bpmn:laneSet><bpmn:startEvent id="part_start" /><bpmn:userTask id="part_check" name="检查" />'
        '<bpmn:endEvent id="part_end" />'
        '<bpmn:sequenceFlow id="pf1" sourceRef="part_start" targetRef="part_check" />'
        '<bpmn:sequenceFlow id="pf2" sourceRef="part_check" targetRef="part_end" />'
        "</bpmn:process></bpmn:definitions>"
    )
    return files


def test_a_call_activity_may_call_a_process_of_another_file(engine: Engine) -> None:
    assert sorted(engine.deploy(mini_calling_part(executable=True)).deployed) == [
        ("mini", 1),
        ("mini_part", 1),
    ]
    with engine.sessions() as session:
        row = session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_key == "mini")).one()
        assert "part.bpmn" in row.files
    assert row.meta["tasks"]["part_check"]["role"] == "technician"


def test_a_call_activity_to_a_process_not_marked_executable(engine: Engine) -> None:
    problems = refused(engine, mini_calling_part(executable=False))
    assert_problem(problems, "script_total", "calls process 'mini_part', which is not marked executable")


def test_task_titles_and_sla_timers_reach_the_metadata(engine: Engine) -> None:
    files = mini_with(
        '<spiffworkflow:property name="assignee" value="owner" />',
        '<spiffworkflow:property name="assignee" value="owner" />'
        '<spiffworkflow:property name="title" value="&quot;第二步 &quot; + customer_name" />',
    )
    files = changed(
        files,
        "mini.bpmn",
        "<bpmn:outgoing>f5</bpmn:outgoing>",
        '<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="sla" value="response" />'
        "</spiffworkflow:properties></bpmn:extensionElements><bpmn:outgoing>f5</bpmn:outgoing>",
    )
    engine.deploy(files)
    with engine.sessions() as session:
        meta = session.scalars(select(ProcessDefinition)).one().meta
    assert meta["tasks"]["task_second"]["title"] == '"第二步 " + customer_name'
    assert meta["element_properties"]["timer_late"] == {"sla": "response"}
    assert meta["attached_to"]["timer_late"] == "task_second"


def test_a_title_that_does_not_compile(engine: Engine) -> None:
    problems = refused(
        engine,
        mini_with(
            '<spiffworkflow:property name="assignee" value="owner" />',
            '<spiffworkflow:property name="title" value="customer_name +" />',
        ),
    )
    assert_problem(problems, "task_second", "the title is not allowed or does not compile")


def test_a_title_in_english_reaches_the_metadata_and_is_checked_like_the_title(engine: Engine) -> None:
    title = '<spiffworkflow:property name="title" value="&quot;第二步 &quot; + customer_name" />'
    files = mini_with(
        '<spiffworkflow:property name="assignee" value="owner" />',
        '<spiffworkflow:property name="assignee" value="owner" />'
        + title
        + '<spiffworkflow:property name="title_en" value="customer_name +" />',
    )
    problems = refused(engine, files)
    assert_problem(problems, "task_second", "the title_en is not allowed or does not compile")

    engine.deploy(changed(files, "mini.bpmn", "customer_name +", "&quot;Step two &quot; + customer_name"))
    with engine.sessions() as session:
        meta = session.scalars(select(ProcessDefinition)).one().meta
    assert meta["tasks"]["task_second"]["titles"] == {"en": '"Step two " + customer_name'}


def test_a_user_task_in_a_subprocess_takes_the_subprocess_lane(engine: Engine) -> None:
    files = mini_with(
        '<bpmn:userTask id="task_second" name="第二步">',
        '<bpmn:subProcess id="task_second" name="第二步"><bpmn:startEvent id="sub_start" />'
        '<bpmn:userTask id="sub_work" name="子任务" /><bpmn:endEvent id="sub_end" />'
        '<bpmn:sequenceFlow id="sf1" sourceRef="sub_start" targetRef="sub_work" />'
        '<bpmn:sequenceFlow id="sf2" sourceRef="sub_work" targetRef="sub_end" />',
    )
    files = changed(
        files,
        "mini.bpmn",
        "<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>\n    </bpmn:userTask>",
        "<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>\n    </bpmn:subProcess>",
    )
    assert engine.deploy(files).deployed == [("mini", 1)]
    with engine.sessions() as session:
        row = session.scalars(select(ProcessDefinition)).one()
    assert row.meta["tasks"]["sub_work"]["role"] == "service_supervisor"


def test_every_foreign_diagram_that_validates_also_deploys(engine: Engine) -> None:
    names = [
        "adhoc_subprocess.bpmn",
        "bizagi_executable_odd_di.bpmn",
        "event_subprocess.bpmn",
        "nested_subprocesses.bpmn",
        "signal_escalation_error.bpmn",
        "signavio_executable.bpmn",
        "transaction.bpmn",
    ]
    files = {name: (FOREIGN / name).read_text(encoding="utf-8") for name in names}
    report = engine.deploy(files)
    assert sorted(key for key, _ in report.deployed) == sorted(
        [
            "adhoc_checks",
            "parts_return",
            "with_event_subprocess",
            "deeply_nested",
            "signals_and_errors",
            "warranty_check",
            "refund_transaction",
        ]
    )
    assert len(rows(engine)) == 7


# --- all or nothing ----------------------------------------------------------------------------


def test_a_deploy_with_problems_leaves_the_table_unchanged(engine: Engine) -> None:
    engine.deploy(mini_files())
    before = rows(engine)
    files = mini_with('targetRef="task_second"', 'targetRef="nowhere"')
    problems = refused(engine, files)
    assert_problem(problems, "f3", "points to 'nowhere'")
    assert rows(engine) == before


def test_a_valid_process_is_not_deployed_beside_a_broken_one(engine: Engine) -> None:
    files = mini_with("check = 10 / divisor", "check = = divisor")
    files["valid.bpmn"] = (FOREIGN / "signavio_executable.bpmn").read_text(encoding="utf-8")
    assert validate_files({"valid.bpmn": files["valid.bpmn"]}, role_for_lane).ok
    problems = refused(engine, files)
    assert_problem(problems, "script_total", "does not compile")
    assert rows(engine) == []


def test_every_problem_of_a_deploy_is_reported(engine: Engine) -> None:
    files = mini_with('targetRef="task_second"', 'targetRef="nowhere"')
    files = changed(files, "mini.bpmn", "<bpmn:flowNodeRef>task_first</bpmn:flowNodeRef>", "")
    files = changed(files, "mini.bpmn", 'value="mini_first"', 'value="mini_gone"')
    files = changed(files, "mini.bpmn", "hours(2)", '"tomorrow"')
    files = changed(files, "mini.bpmn", "total = amount * 2", "total = amount *")
    files = changed(files, "mini_start.form.json", '"type": "number"', '"type": "slider"')
    files["other.dmn"] = "<definitions"
    problems = refused(engine, files)
    assert_problem(problems, "f3", "which does not exist")
    assert_problem(problems, "task_first", "lies in no lane")
    assert_problem(problems, "task_first", "uses form 'mini_gone'")
    assert_problem(problems, "timer_late", "does not evaluate")
    assert_problem(problems, "script_total", "does not compile")
    assert_problem(problems, "mini_start", "is not a supported field type")
    assert_problem(problems, "other.dmn", "not well-formed XML")
    assert_problem(problems, "task_second", "nothing leads to this element")
    assert not has(problems, "mini", "uses form 'mini_start'")  # the form is there, only broken
    assert len(problems) == 8, "\n".join(p.line() for p in problems)


# --- one test per problem kind ---------------------------------------------------------------


def test_unparseable_xml(engine: Engine) -> None:
    files = mini_files()
    files["mini.bpmn"] = files["mini.bpmn"][: len(files["mini.bpmn"]) // 2]
    assert_problem(refused(engine, files), "mini.bpmn", "not well-formed XML")


def test_a_flow_to_a_missing_element(engine: Engine) -> None:
    problems = refused(engine, mini_with('sourceRef="task_first" targetRef', 'sourceRef="ghost" targetRef'))
    assert_problem(problems, "f2", "the flow points to 'ghost', which does not exist")


def test_a_user_task_in_no_lane(engine: Engine) -> None:
    problems = refused(engine, mini_with("<bpmn:flowNodeRef>task_first</bpmn:flowNodeRef>", ""))
    assert_problem(problems, "task_first", "the user task lies in no lane")


def test_a_user_task_in_a_lane_that_names_no_role(engine: Engine) -> None:
    problems = refused(engine, mini_with('name="service_supervisor"', 'name="Boss"'))
    assert_problem(problems, "task_second", "lane 'Boss' names no known role")
    assert_problem(problems, "task_escalate", "lane 'Boss' names no known role")


def test_a_script_that_does_not_compile(engine: Engine) -> None:
    problems = refused(engine, mini_with("total = amount * 2", "total = amount *"))
    assert_problem(problems, "script_total", "the script is not allowed or does not compile")


def test_a_condition_that_does_not_compile(engine: Engine) -> None:
    assert engine.deploy(mini_with_gateway("total &gt; 100"), dry_run=True).deployed == [("mini", 1)]
    problems = refused(engine, mini_with_gateway("total &gt;"))
    assert_problem(problems, "f_big", "the condition is not allowed or does not compile")


def test_a_camunda_condition_is_explained(engine: Engine) -> None:
    problems = refused(engine, mini_with_gateway("${total &gt; 100}"))
    assert_problem(problems, "f_big", "is not a Python expression afterflow can run")
    assert_problem(problems, "f_big", "total > 100")


def test_a_reference_to_a_missing_form(engine: Engine) -> None:
    problems = refused(engine, mini_with('value="mini_first"', 'value="mini_missing"'))
    assert_problem(
        problems, "task_first", "uses form 'mini_missing', but no file forms/mini_missing.form.json"
    )


def test_a_missing_start_form(engine: Engine) -> None:
    files = mini_files()
    del files["mini_start.form.json"]
    assert_problem(refused(engine, files), "mini", "uses form 'mini_start'")


def test_a_form_file_that_is_not_json(engine: Engine) -> None:
    files = {**mini_files(), "mini_first.form.json": '{"id": "mini_first", "components": ['}
    assert_problem(refused(engine, files), "mini_first", "not valid JSON")


def test_a_form_with_an_unknown_component_type(engine: Engine) -> None:
    files = changed(mini_files(), "mini_first.form.json", '"type": "number"', '"type": "filepicker"')
    assert_problem(refused(engine, files), "mini_first", "(type 'filepicker') is not a supported field type")


def test_a_dmn_table_that_does_not_parse(engine: Engine) -> None:
    files = mini_with_decision()
    files[DECISION_FILE] = files[DECISION_FILE].replace("</decisionTable>", "")
    problems = refused(engine, files)
    assert_problem(problems, DECISION_FILE, "not well-formed XML")


def test_a_dmn_rule_cell_that_does_not_compile(engine: Engine) -> None:
    assert engine.deploy(mini_with_decision(), dry_run=True).deployed == [("mini", 1)]
    files = changed(mini_with_decision(), DECISION_FILE, "<text>'A'</text>", "<text>'A' +</text>")
    files = changed(files, DECISION_FILE, "<text>!= 'normal'</text>", "<text>!= 'normal</text>")
    problems = refused(engine, files)
    assert_problem(problems, "rule_contract", "the output cell is not allowed or does not compile")
    assert_problem(problems, "rule_damage", "the input cell '!= 'normal' is not a valid expression")


def test_a_dmn_rule_cell_in_feel_is_explained(engine: Engine) -> None:
    files = changed(mini_with_decision(), DECISION_FILE, "<text>'normal'</text>", "<text>[1..10]</text>")
    problems = refused(engine, files)
    assert_problem(problems, "rule_in_warranty", "is not a Python expression afterflow can run")


def test_a_dmn_rule_with_a_missing_cell(engine: Engine) -> None:
    files = changed(
        mini_with_decision(),
        DECISION_FILE,
        '<inputEntry id="rule_contract_cause">\n          <text></text>\n        </inputEntry>',
        "",
    )
    problems = refused(engine, files)
    assert_problem(problems, "rule_contract", "the rule has 2 input and 1 output cells")


def test_a_business_rule_task_naming_an_unknown_decision(engine: Engine) -> None:
    problems = refused(engine, mini_with_decision("no_such_decision"))
    assert_problem(problems, "decide", "calls decision 'no_such_decision', which no DMN file defines")


def test_a_dmn_sandbox_escape_is_refused(engine: Engine) -> None:
    files = changed(
        mini_with_decision(), DECISION_FILE, "<text>'A'</text>", "<text>().__class__.__mro__</text>"
    )
    assert_problem(refused(engine, files), "rule_contract", "'__class__'")


@pytest.mark.parametrize(
    "expression",
    ['"PT4"', "hours('x')", '"tomorrow"', "now", "hours(1, 2)"],
)
def test_a_timer_expression_that_does_not_evaluate(engine: Engine, expression: str) -> None:
    problems = refused(
        engine,
        mini_with("<bpmn:timeDate>hours(2)</bpmn:timeDate>", f"<bpmn:timeDate>{expression}</bpmn:timeDate>"),
    )
    assert_problem(problems, "timer_late", "the timer expression")
    assert_problem(problems, "timer_late", "does not evaluate")


def test_a_duration_that_is_not_an_iso_duration(engine: Engine) -> None:
    problems = refused(
        engine,
        mini_with(
            "<bpmn:timeDate>hours(2)</bpmn:timeDate>", "<bpmn:timeDuration>'R3/PT1H'</bpmn:timeDuration>"
        ),
    )
    assert_problem(problems, "timer_late", 'a timeDuration must give an ISO 8601 duration such as "PT4H"')


def test_an_unquoted_iso_duration_is_explained(engine: Engine) -> None:
    problems = refused(
        engine,
        mini_with("<bpmn:timeDate>hours(2)</bpmn:timeDate>", "<bpmn:timeDuration>PT4H</bpmn:timeDuration>"),
    )
    assert_problem(problems, "timer_late", 'not quoted: timers are Python expressions, so write "PT4H"')


def test_timer_expressions_over_case_data_are_left_for_run_time(engine: Engine) -> None:
    files = mini_with("<bpmn:timeDate>hours(2)</bpmn:timeDate>", "<bpmn:timeDate>deadline</bpmn:timeDate>")
    assert engine.deploy(files).deployed == [("mini", 1)]


ESCAPES = {
    "__import__('os')": "'__import__'",
    "().__class__.__mro__": "'__class__'",
    "open('/etc/passwd')": "'open' is not available",
}


def _escape_in_script(payload: str) -> dict[str, str]:
    return mini_with("total = amount * 2", f"total = {payload}")


def _escape_in_condition(payload: str) -> dict[str, str]:
    return mini_with_gateway(payload.replace("'", "&apos;"))


def _escape_in_due_time(payload: str) -> dict[str, str]:
    return mini_with('value="working_hours(4)"', f'value="{payload}"')


def _escape_in_timer(payload: str) -> dict[str, str]:
    return mini_with("<bpmn:timeDate>hours(2)</bpmn:timeDate>", f"<bpmn:timeDate>{payload}</bpmn:timeDate>")


PLACES: dict[str, tuple[Callable[[str], dict[str, str]], str, str]] = {
    "script task": (_escape_in_script, "script_total", "the script is not allowed"),
    "gateway condition": (_escape_in_condition, "f_big", "the condition is not allowed"),
    "dueTime property": (_escape_in_due_time, "task_first", "the dueTime is not allowed"),
    "timer": (_escape_in_timer, "timer_late", "the timer expression is not allowed"),
}


@pytest.mark.parametrize("payload", sorted(ESCAPES))
@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_sandbox_escape_is_refused_at_deploy(engine: Engine, place: str, payload: str) -> None:
    make, element_id, sentence = PLACES[place]
    problems = refused(engine, make(payload))
    assert_problem(problems, element_id, sentence)
    assert_problem(problems, element_id, ESCAPES[payload])


def test_duplicate_process_ids_across_two_files(engine: Engine) -> None:
    files = mini_files()
    files["mini_copy.bpmn"] = files["mini.bpmn"].replace('id="defs_mini"', 'id="defs_copy"')
    problems = refused(engine, files)
    assert_problem(problems, "mini", "the process id is also used in mini.bpmn")


def test_a_call_activity_to_a_missing_process(engine: Engine) -> None:
    problems = refused(
        engine,
        mini_with(
            '<bpmn:userTask id="task_escalate" name="超时处理">\n'
            "      <bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>\n"
            "    </bpmn:userTask>",
            '<bpmn:callActivity id="task_escalate" calledElement="nope">'
            "<bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:callActivity>",
        ),
    )
    assert_problem(
        problems, "task_escalate", "calls process 'nope', which no BPMN file in this deploy defines"
    )


def test_a_process_without_a_start_event(engine: Engine) -> None:
    problems = refused(
        engine,
        mini_with(
            '<bpmn:startEvent id="start" name="开始"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>', ""
        ),
    )
    assert_problem(problems, "mini", "the process has no start event")


def test_a_process_without_an_id(engine: Engine) -> None:
    problems = refused(engine, mini_with('<bpmn:process id="mini"', "<bpmn:process"))
    assert any(p.element_id.startswith("process on line") and "has no id" in p.message for p in problems)


def test_a_business_number_prefix_too_long_for_the_table(engine: Engine) -> None:
    problems = refused(engine, mini_with('value="MN"', 'value="MINIPROCESS"'))
    assert_problem(problems, "mini", "businessNumberPrefix 'MINIPROCESS' must be 1 to 8 letters or digits")


def test_a_file_with_entities_is_refused_without_expanding_them(engine: Engine) -> None:
    files = mini_with(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>',
    )
    files = changed(files, "mini.bpmn", 'name="小流程"', 'name="&secret;"')
    problems = refused(engine, files)
    assert_problem(problems, "mini.bpmn", "declares a DOCTYPE or entities")
    assert not any("root:" in p.message for p in problems)


def test_a_pre_or_post_script_on_a_user_task_is_checked_like_any_script(engine: Engine) -> None:
    files = mini_files()
    files["mini.bpmn"] = files["mini.bpmn"].replace(
        '<spiffworkflow:property name="formKey" value="mini_first" />',
        '<spiffworkflow:property name="formKey" value="mini_first" />'
        "</spiffworkflow:properties><spiffworkflow:postScript>import os</spiffworkflow:postScript>"
        "<spiffworkflow:properties>",
    )
    problems = refused(engine, files)
    assert [(p.element_id, "postScript" in p.message and "import" in p.message) for p in problems] == [
        ("task_first", True)
    ]


def test_a_process_starting_on_another_process_start_message_is_refused(engine: Engine) -> None:
    engine.deploy(diagram_files(), deployed_by="owner1")
    files = diagram_files()
    copy = copied_bpmn(
        files["repair_service.bpmn"], "repair_service", "repair_copy", "维修副本", "Repair copy"
    )
    # The copy starts on a message of its own; set back to the template's, both would start.
    assert 'name="repair_copy_portal_repair_request"' in copy
    clash = copy.replace('name="repair_copy_portal_repair_request"', 'name="portal_repair_request"')

    problems = refused(engine, {**files, "repair_copy.bpmn": clash})

    assert_problem(problems, "start_portal", "portal_repair_request")
    assert [p.code.params["process"] for p in problems if p.code is not None] == ["repair_service"]
    report = engine.deploy({**files, "repair_copy.bpmn": copy}, deployed_by="owner1")
    assert report.deployed == [("repair_copy", 1)]
